// Tokenizer vocabulary as stored in GGUF (`tokenizer.ggml.*`) or a Hugging Face tokenizer directory.
//
// VocabData is the common, format-neutral description both loaders produce and the Tokenizer consumes.
// Token strings use the on-disk spelling: NORMAL tokens are in the GPT-2 byte→unicode alphabet
// (space = "Ġ"), while CONTROL and USER_DEFINED tokens hold their literal text ("<|im_start|>").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace autoneural::format {
class GgufFile;
class GgufWriter;
}  // namespace autoneural::format

namespace autoneural::tokenizer {

// GGUF token types (architecture-reference §6.2).
enum TokenType : int32_t {
  TOKEN_TYPE_UNDEFINED = 0,
  TOKEN_TYPE_NORMAL = 1,
  TOKEN_TYPE_UNKNOWN = 2,
  TOKEN_TYPE_CONTROL = 3,
  TOKEN_TYPE_USER_DEFINED = 4,
  TOKEN_TYPE_UNUSED = 5,
  TOKEN_TYPE_BYTE = 6,
};

struct VocabData {
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;  // same length as tokens
  std::vector<std::string> merges;   // "left right", rank = index
  std::string model = "gpt2";        // tokenizer.ggml.model; only byte-level BPE ("gpt2") is supported
  std::string pre;                   // pre-tokenizer name ("lfm2", "llama3", "gpt-2", ...)
  int32_t bos = -1, eos = -1, pad = -1;
  bool add_bos = false;
  bool add_eos = false;
  std::string chat_template;
};

// Reads the tokenizer keys of a GGUF file. Throws autoneural::Error (naming the file) when required keys
// are missing, arrays disagree in length, special ids are out of range, or the model is not "gpt2".
VocabData vocab_from_gguf(const format::GgufFile& gguf);

// Reads `dir`/tokenizer.json (required) and `dir`/tokenizer_config.json (optional, falling back to
// special_tokens_map.json for the special-token strings). Throws Error naming the file on malformed JSON,
// missing fields or an unsupported model / pre-tokenizer.
VocabData vocab_from_hf_dir(const std::string& dir);

// The contents of those files (nullopt: the file is absent); `dir` only names them in error messages.
struct HfTokenizerFiles {
  std::string dir;
  std::string tokenizer_json;
  std::optional<std::string> tokenizer_config, special_tokens_map, chat_template_jinja;
};
VocabData vocab_from_hf_files(const HfTokenizerFiles& files);

// Writes the same tokenizer keys llama.cpp's converter writes. Absent special ids (-1), an empty `pre`
// and an empty chat template are not written.
void vocab_to_gguf(const VocabData& vocab, format::GgufWriter& writer);

// Checks the invariants the Tokenizer relies on (non-empty tokens, matching token_types length, special
// ids in range, supported model). `origin` names the source in the error message.
void validate_vocab(const VocabData& vocab, const std::string& origin);

}  // namespace autoneural::tokenizer
