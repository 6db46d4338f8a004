#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds, seeded from the fixture files (copied to a temporary
# corpus; nothing is written into the repository). Usage: fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?build directory}
seconds=${2:-60}
fixtures="$(cd "$(dirname "$0")/../.." && pwd)/shared/fixtures"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
export AUTONEURAL_FIXTURES_DIR="$fixtures"
for target in "$build"/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus="$work/$name"
  mkdir -p "$corpus"
  case "$name" in
    fuzz_gguf) find "$fixtures" -name '*.gguf' -size -2048k -exec cp {} "$corpus/" \; ;;
    fuzz_safetensors) find "$fixtures" -name '*.safetensors' -size -8192k -exec cp {} "$corpus/" \; ;;
    fuzz_tokenizer) find "$fixtures/text" -name "*.json" -size -64k -exec cp {} "$corpus/" \; ;;
    fuzz_json) find "$fixtures" -name "config.json" -size -64k -exec sh -c 'cp "$1" "$2/$(echo "$1" | md5sum | cut -c1-8).json"' _ {} "$corpus" \; ;;
    fuzz_image*) find "$fixtures" \( -name '*.png' -o -name '*.jpg' -o -name '*.ppm' -o -name '*.bmp' \) -exec cp {} "$corpus/" \; ;;
  esac
  echo "--- $name for ${seconds}s ($(ls "$corpus" | wc -l) seed files)"
  if ! "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$corpus" \
      > "$work/$name.log" 2>&1; then
    tail -50 "$work/$name.log"
    echo "FAILED: $name"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$work/$name.log" | tail -2
  fi
done
exit $status
