#!/usr/bin/env bash
# Installs a build into a temporary prefix and builds and runs two consumers against the installed package:
# examples/consumer_c (C, compiled with `cc` and pkg-config) and examples/consumer_cpp (C++, CMake
# find_package). Both check their output on the lfm2-tiny fixture and exit non-zero on a mismatch.
#
#   bash scripts/test-install.sh [BUILD_DIR [FIXTURES_DIR]]
#
# Defaults: BUILD_DIR build, FIXTURES_DIR the build's AUTONEURAL_FIXTURES_DIR (else ../shared/fixtures).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
fixtures="${2:-$(sed -n 's/^AUTONEURAL_FIXTURES_DIR:PATH=//p' "$build/CMakeCache.txt" 2>/dev/null)}"
fixtures="$(cd "${fixtures:-$root/../shared/fixtures}" && pwd)"
model_dir="$fixtures/text/lfm2-tiny"
[ -f "$model_dir/model-f32.gguf" ] || { echo "test-install: no fixture at $model_dir" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/autoneural-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

echo "--- cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
for f in include/autoneural.h include/autoneural/llm.h bin/autoneural share/autoneural/dashboard.png; do
  [ -e "$prefix/$f" ] || { echo "test-install: $f was not installed" >&2; cat "$tmp/install.log"; exit 1; }
done
"$prefix/bin/autoneural" --help > /dev/null
pcdir="$(dirname "$(find "$prefix" -name autoneural.pc -print -quit)")"
(cd "$prefix" && find . -type f | sort | sed 's|^\./|  |')

echo "--- C consumer: cc + pkg-config ($pcdir)"
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --modversion autoneural
flags="$(pkg-config --cflags --static --libs autoneural)"
echo "  cc -std=c99 -Wall -Wextra -pedantic-errors -Werror main.c $flags"
# shellcheck disable=SC2086  # the flags are words
"${CC:-cc}" -std=c99 -Wall -Wextra -pedantic-errors -Werror -o "$tmp/consumer_c" \
  "$root/examples/consumer_c/main.c" $flags
"$tmp/consumer_c" "$model_dir"

echo "--- C++ consumer: find_package(autoneural) (CMAKE_PREFIX_PATH=$prefix)"
cmake -S "$root/examples/consumer_cpp" -B "$tmp/consumer_cpp" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" > "$tmp/consumer_cpp.log" || { cat "$tmp/consumer_cpp.log"; exit 1; }
grep "autoneural " "$tmp/consumer_cpp.log" || true
cmake --build "$tmp/consumer_cpp" > "$tmp/consumer_cpp_build.log" || { cat "$tmp/consumer_cpp_build.log"; exit 1; }
"$tmp/consumer_cpp/consumer_cpp" "$model_dir"
echo "--- installed package: both consumers OK"
