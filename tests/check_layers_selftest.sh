#!/usr/bin/env bash
# Shows that scripts/check-layers.sh can fail: on a copy of the tree it must pass, then fail once an upward
# include is added (kernels including the runtime), naming the file and the include.
set -euo pipefail
repo="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$repo/src" "$repo/tools" "$tmp/"
bash "$repo/scripts/check-layers.sh" "$tmp" > "$tmp/clean.txt" || { cat "$tmp/clean.txt"; echo "FAIL: the unmodified tree does not pass"; exit 1; }
echo '#include "runtime/model_impl.h"' >> "$tmp/src/kernels/ops.cpp"
if bash "$repo/scripts/check-layers.sh" "$tmp" > "$tmp/bad.txt" 2>&1; then
  cat "$tmp/bad.txt"; echo "FAIL: an upward include (kernels -> runtime) was not caught"; exit 1
fi
grep -q 'src/kernels/ops.cpp: includes "runtime/model_impl.h", but kernels may not use runtime' "$tmp/bad.txt" ||
  { cat "$tmp/bad.txt"; echo "FAIL: the report does not name the include"; exit 1; }
# A folder that is not in the table is refused too.
mkdir "$tmp/src/newlayer" && echo 'int x;' > "$tmp/src/newlayer/a.cpp"
sed -i '$d' "$tmp/src/kernels/ops.cpp"
if bash "$repo/scripts/check-layers.sh" "$tmp" > "$tmp/bad2.txt" 2>&1; then
  cat "$tmp/bad2.txt"; echo "FAIL: a folder outside src/layers.txt was not caught"; exit 1
fi
echo "PASS: check-layers catches upward includes and unknown folders"
