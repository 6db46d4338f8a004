// libFuzzer target for tokenization: any byte string (valid UTF-8 or not, with or without special-token
// text) must tokenize with the fixture vocabulary without crashing, and byte-exact decoding must give the
// input back. See fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace {
// The fixture vocabulary, loaded once (read-only afterwards).
const autoneural::tokenizer::Tokenizer& tokenizer() {
  static const auto tok = [] {
    const char* dir = std::getenv("AUTONEURAL_FIXTURES_DIR");
    const std::string path = std::string(dir ? dir : "../shared/fixtures") + "/text/lfm2-tiny/model-f32.gguf";
    auto gguf = autoneural::format::GgufFile::open(path);
    return std::make_unique<autoneural::tokenizer::Tokenizer>(autoneural::tokenizer::vocab_from_gguf(gguf));
  }();
  return *tok;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& tok = tokenizer();
  const auto plain = tok.encode(text, false, false);
  if (tok.decode(plain, true) != text) std::abort();  // byte-level BPE is lossless
  const auto special = tok.encode(text, true, true);
  autoneural::tokenizer::StreamDecoder stream(tok, true);
  std::string streamed;
  for (int32_t id : special) streamed += stream.push(id);
  streamed += stream.flush();
  (void)streamed;
  return 0;
}
