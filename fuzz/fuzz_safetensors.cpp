// libFuzzer target for the safetensors reader. Any input must either parse or throw autoneural::Error;
// a crash, sanitizer report, leak, other exception type or hang is a bug. See fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "autoneural/error.h"
#include "format/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace autoneural::format;
  try {
    const SafetensorsFile f = SafetensorsFile::parse(data, size, "fuzz.safetensors");
    // Touch the first and last byte of every accepted tensor: AddressSanitizer then proves that the
    // validated ranges lie inside the input.
    volatile uint8_t sink = 0;
    for (const auto& t : f.tensors()) {
      if (t.nbytes > 0) sink = sink + t.data[0] + t.data[t.nbytes - 1];
      sink = sink + static_cast<uint8_t>(f.find(t.name) == &t) + static_cast<uint8_t>(t.n_elements());
    }
  } catch (const autoneural::Error&) {
    // Malformed input correctly rejected.
  }
  return 0;
}
