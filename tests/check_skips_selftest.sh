#!/usr/bin/env bash
# Shows that scripts/check-skips.sh can fail: a ctest log with a skipped test that is not on the list
# fails it, one whose skips are all listed passes.
set -euo pipefail
repo="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf 'The following tests did not run:\n\t 35 - GgufFuzzSeeds.WriteWhenRequested (Skipped)\n' > "$tmp/listed.log"
bash "$repo/scripts/check-skips.sh" "$tmp/listed.log" || { echo "FAIL: a listed skip was refused"; exit 1; }
printf 'The following tests did not run:\n\t 12 - QuantFixtures.SimMatchesNpu (Skipped)\n' > "$tmp/unlisted.log"
if bash "$repo/scripts/check-skips.sh" "$tmp/unlisted.log" > "$tmp/out.txt" 2>&1; then
  cat "$tmp/out.txt"; echo "FAIL: an unlisted skipped test was not caught"; exit 1
fi
grep -q "QuantFixtures.SimMatchesNpu was skipped" "$tmp/out.txt" || { cat "$tmp/out.txt"; echo "FAIL: not named"; exit 1; }
echo "PASS: check-skips fails on unlisted skipped tests"
