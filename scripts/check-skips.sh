#!/usr/bin/env bash
# Fails when a ctest run skipped a test that tests/allowed-skips.txt does not list: a skipped test is a
# failure unless it is documented there. Usage: scripts/check-skips.sh CTEST_LOG [ALLOWED_LIST]
set -euo pipefail
log="$1"
allowed="${2:-$(cd "$(dirname "$0")/.." && pwd)/tests/allowed-skips.txt}"
[ -f "$log" ] || { echo "check-skips: no ctest log at $log" >&2; exit 2; }
# ctest lists them as "<n> - <name> (Skipped)" under "The following tests did not run:".
mapfile -t skipped < <(sed -nE 's/^[[:space:]]*[0-9]+ - ([^ ]+) \(Skipped\)$/\1/p' "$log" | sort -u)
bad=0
for name in "${skipped[@]}"; do
  if ! grep -qE "^${name//./\\.}([[:space:]]|$)" "$allowed"; then
    echo "check-skips: $name was skipped but is not in ${allowed#$PWD/}"
    bad=$((bad + 1))
  fi
done
if [ "$bad" -gt 0 ]; then
  echo "check-skips: $bad unexpected skipped test(s)" >&2
  exit 1
fi
echo "check-skips: ${#skipped[@]} skipped test(s), all on the documented list"
