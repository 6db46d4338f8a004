// libFuzzer target for the .npy reader (parse_npy, which read_npy uses on the mapped file). Any input must
// either parse or throw autoneural::Error; a crash, sanitizer report, leak, other exception type or hang is
// a bug. See fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "autoneural/error.h"
#include "format/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace autoneural::format;
  try {
    const NpyArray a = parse_npy(data, size, "fuzz.npy");
    // What was accepted is consistent: the element count matches the shape, and exactly one of the
    // arrays (by dtype) holds the elements.
    const size_t n = static_cast<size_t>(a.size());
    const size_t held = a.is_float_dtype ? a.f32.size() : a.i64.size();
    const size_t other = a.is_float_dtype ? a.i64.size() : a.f32.size();
    if (held != n || other != 0) __builtin_trap();
    volatile double sink = n == 0 ? 0.0 : a.is_float_dtype ? a.f32.back() : static_cast<double>(a.i64.back());
    (void)sink;
  } catch (const autoneural::Error&) {
  }
  return 0;
}
