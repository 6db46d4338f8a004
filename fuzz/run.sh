#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds (default 30), seeded with its committed corpus
# fuzz/corpus/<target>/ copied to a temporary folder: nothing is written into the repository.
# Usage: fuzz/run.sh BUILD_DIR [SECONDS] [TARGET...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/targets.sh"
build=$(cd "${1:?build directory}" && pwd)
seconds=${2:-30}
shift $(($# < 2 ? $# : 2))
export AUTONEURAL_FIXTURES_DIR="${AUTONEURAL_FIXTURES_DIR:-$(cd "$here/../.." && pwd)/shared/fixtures}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -gt 0 ]; then targets=("$@"); else targets=(); for t in "$build"/fuzz_*; do targets+=("$(basename "$t")"); done; fi
status=0
for name in "${targets[@]}"; do
  target="$build/$name"
  [ -x "$target" ] || { echo "FAILED: $target is not built"; status=1; continue; }
  seeds="$here/corpus/$name"
  [ -d "$seeds" ] || { echo "FAILED: no committed corpus $seeds"; status=1; continue; }
  corpus="$work/$name"
  mkdir -p "$corpus"
  # Seeds above the target's -max_len would be truncated by libFuzzer: they are a mistake in the corpus.
  if big=$(find "$seeds" -type f -size +"$(fuzz_max_len "$name")"c | head -1) && [ -n "$big" ]; then
    echo "FAILED: $big is larger than -max_len=$(fuzz_max_len "$name")"
    status=1
  fi
  cp "$seeds"/* "$corpus/"
  chmod -R u+w "$corpus"
  echo "--- $name for ${seconds}s ($(ls "$corpus" | wc -l) seed files, $(fuzz_options "$name"))"
  # shellcheck disable=SC2046
  if ! (cd "$work" && "$target" -max_total_time="$seconds" $(fuzz_options "$name") -artifact_prefix="$work/$name-" \
      "$corpus" > "$work/$name.log" 2>&1); then
    tail -50 "$work/$name.log"
    # The temporary folder goes away: the reproducer is kept outside the repository.
    keep="${TMPDIR:-/tmp}/autoneural-fuzz-artifacts"
    mkdir -p "$keep"
    cp "$work/$name"-* "$keep/" 2>/dev/null || true
    echo "FAILED: $name (reproducer: $(ls "$work/$name"-* 2>/dev/null | head -1 | xargs -r basename | sed "s|^|$keep/|"))"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$work/$name.log" | tail -2
  fi
done
exit $status
