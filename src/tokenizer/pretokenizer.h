// Regex pre-tokenization for byte-level BPE (architecture-reference §5).
//
// The text is cut into pre-tokens by one regex, applied left to right; every match is one pre-token and
// any text between matches is emitted as a pre-token too (HF `Split` with behavior Isolated), so the
// pre-tokens always cover the whole input. Matching uses PCRE2 in UTF + UCP mode with
// PCRE2_MATCH_INVALID_UTF: invalid UTF-8 never matches and ends up in the in-between pieces, so
// arbitrary bytes survive instead of being rejected or replaced.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace autoneural::tokenizer {

class PreTokenizer {
 public:
  // `pre` is the GGUF tokenizer.ggml.pre name: "lfm2", "llama3", "llama-bpe", "llama-v3" (llama-3
  // regex) or "gpt-2", "gpt2", "default" (GPT-2 regex). Anything else throws autoneural::Error.
  explicit PreTokenizer(std::string_view pre);

  // Appends the pre-tokens of `text` (views into it) to `out`. Thread-safe: the compiled pattern is
  // shared read-only and match data is created per call.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

  // llama-3 style vocabularies emit a pre-token that is itself a vocabulary entry without running BPE.
  bool ignore_merges() const { return ignore_merges_; }
  const std::string& name() const { return name_; }

  // True when `pre` names a supported pre-tokenizer.
  static bool supported(std::string_view pre);

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> re_;  // immutable after construction; shared by copies
  std::string name_;
  bool ignore_merges_ = false;
};

}  // namespace autoneural::tokenizer
