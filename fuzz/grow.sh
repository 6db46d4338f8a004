#!/usr/bin/env bash
# Grows a committed corpus by hand: fuzzes TARGET for SECONDS seconds starting from fuzz/corpus/TARGET/,
# then merges (libFuzzer -merge=1) only the new inputs that reach new edges back into fuzz/corpus/TARGET/
# (-use_counters=0: hit counts do not count, which keeps the committed corpus a few times smaller).
# Review and commit the added files (sha1 names). Usage: fuzz/grow.sh BUILD_DIR TARGET [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/targets.sh"
build=$(cd "${1:?build directory}" && pwd)
name=${2:?target, e.g. fuzz_npy}
seconds=${3:-600}
export AUTONEURAL_FIXTURES_DIR="${AUTONEURAL_FIXTURES_DIR:-$(cd "$here/../.." && pwd)/shared/fixtures}"
corpus="$here/corpus/$name"
mkdir -p "$corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/new"
# New inputs go into the first folder (the temporary one); the committed corpus is only read.
# shellcheck disable=SC2046
(cd "$work" && "$build/$name" -max_total_time="$seconds" $(fuzz_options "$name") -artifact_prefix="$work/" \
  "$work/new" "$corpus") || { echo "the target failed; the reproducer is kept in $PWD"; cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* . 2>/dev/null; exit 1; }
before=$(ls "$corpus" | wc -l)
# shellcheck disable=SC2046
"$build/$name" -merge=1 -use_counters=0 $(fuzz_options "$name") "$corpus" "$work/new" 2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true
echo "$name: $before -> $(ls "$corpus" | wc -l) files, $(du -sh "$corpus" | cut -f1)"
