// libFuzzer target for the GGUF reader. Any input must either parse or throw autoneural::Error; a crash,
// sanitizer report, leak, other exception type or hang is a bug. See fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "autoneural/error.h"
#include "format/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace autoneural::format;
  std::optional<GgufFile> parsed;
  try {
    parsed.emplace(GgufFile::parse(data, size, "fuzz.gguf"));
  } catch (const autoneural::Error&) {
    return 0;  // malformed input correctly rejected
  }
  const GgufFile& g = *parsed;

  // Exercise the typed accessors on whatever was accepted (type mismatches throw Error by design).
  volatile uint8_t sink = 0;
  for (const auto& [key, value] : g.metadata()) {
    try {
      (void)g.get_int(key);
    } catch (const autoneural::Error&) {
    }
    try {
      (void)g.get_float_array(key);
    } catch (const autoneural::Error&) {
    }
    sink = sink + static_cast<uint8_t>(g.find(key) == &value);
  }
  // Touch the first and last byte of every tensor so that AddressSanitizer checks that the validated
  // ranges really lie inside the input.
  for (const auto& t : g.tensors()) {
    if (t.nbytes > 0) sink = sink + t.data[0] + t.data[t.nbytes - 1];
    sink = sink + static_cast<uint8_t>(g.find_tensor(t.name) == &t) + static_cast<uint8_t>(t.n_elements());
  }

  // Whatever the reader accepts, the writer must reproduce and the reader accept again. Deliberately
  // outside the try: an Error here is a reader/writer disagreement and must be reported as a crash.
  GgufWriter w;
  for (const auto& [key, value] : g.metadata()) w.set(key, value);
  for (const auto& t : g.tensors()) w.add_tensor(t.name, t.type, t.ne, t.data, t.nbytes);
  const auto bytes = w.serialize();
  const GgufFile again = GgufFile::parse(bytes.data(), bytes.size(), "fuzz-rewrite.gguf");
  if (again.tensors().size() != g.tensors().size() || again.metadata().size() != g.metadata().size())
    __builtin_trap();
  return 0;
}
