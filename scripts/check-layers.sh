#!/usr/bin/env bash
# Fails when an #include runs upward: every "#include "X/..."" in src/LAYER/ must name LAYER itself, a layer
# that src/layers.txt lets LAYER use, or a public header (include/autoneural*). tools/ may use only the
# public headers. Usage: scripts/check-layers.sh [ROOT] (default: the repository this script is in).
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
table="$root/src/layers.txt"
[ -f "$table" ] || { echo "check-layers: $table not found" >&2; exit 2; }

declare -A allowed
while IFS= read -r line; do
  [[ "$line" =~ ^([a-z_]+):(.*)$ ]] || continue
  allowed["${BASH_REMATCH[1]}"]=" ${BASH_REMATCH[2]} "
done < "$table"
# Programs on top of the library: the public API only.
allowed[tools]=" "

violations=0
check_dir() {  # check_dir LAYER DIR
  local layer="$1" dir="$2" file inc target
  while IFS= read -r file; do
    while IFS= read -r inc; do
      target="${inc%%/*}"
      [ "$target" = "$inc" ] && continue                  # same-folder include ("foo.h")
      [ "$target" = "autoneural" ] && continue            # public headers
      [ "$target" = "$layer" ] && continue
      if [[ "${allowed[$layer]}" != *" $target "* ]]; then
        echo "${file#$root/}: includes \"$inc\", but $layer may not use $target (src/layers.txt)"
        violations=$((violations + 1))
      fi
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p' "$file")
  done < <(find "$dir" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.c' \) | sort)
}

for dir in "$root"/src/*/; do
  layer="$(basename "$dir")"
  if [ -z "${allowed[$layer]+set}" ]; then
    echo "src/$layer/ is not a layer in src/layers.txt"
    violations=$((violations + 1))
    continue
  fi
  check_dir "$layer" "$dir"
done
[ -d "$root/tools" ] && check_dir tools "$root/tools"

if [ "$violations" -gt 0 ]; then
  echo "check-layers: $violations include(s) against the layering" >&2
  exit 1
fi
echo "check-layers: every include follows src/layers.txt"
