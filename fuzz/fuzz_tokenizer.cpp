// libFuzzer target for the Hugging Face tokenizer loader: the input is a tokenizer.json, optionally followed
// by a NUL byte and a tokenizer_config.json (special tokens, add_bos_token, chat_template). Whatever the
// loader accepts must build a Tokenizer or be refused with autoneural::Error, and that Tokenizer then
// encodes and decodes a short fixed text. A crash, sanitizer report, leak, other exception type, hang or
// out-of-memory is a bug. See fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "autoneural/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace autoneural::tokenizer;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  HfTokenizerFiles files;
  files.dir = "fuzz";
  const size_t nul = in.find('\0');
  files.tokenizer_json = std::string(in.substr(0, nul));
  if (nul != std::string_view::npos) files.tokenizer_config = std::string(in.substr(nul + 1));
  try {
    const Tokenizer tok(vocab_from_hf_files(files));
    static constexpr std::string_view kText = "Hello  world!\n<|im_start|>user\ncaf\xc3\xa9 12345 \xf0\x9f\x98\x80<s>";
    const auto plain = tok.encode(kText, true, false);
    const auto special = tok.encode(kText, false, true);
    volatile size_t sink = tok.decode(plain, true).size() + tok.decode(special, false).size();
    StreamDecoder stream(tok, true);
    for (int32_t id : special) sink = sink + stream.push(id).size();
    sink = sink + stream.flush().size();
  } catch (const autoneural::Error&) {
  }
  return 0;
}
