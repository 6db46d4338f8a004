// Byte-level BPE tokenizer (GPT-2 / llama-3 / LFM2 style), architecture-reference §5.
//
// Encoding: (1) optionally cut out special tokens as whole strings, (2) split the remaining text into
// pre-tokens with the vocabulary's regex, (3) spell each pre-token in the GPT-2 byte→unicode alphabet and
// merge adjacent symbols by merge rank. The results match llama.cpp's `llama_tokenize` and HF
// `tokenizers` for the supported vocabularies. Decoding undoes the byte map and is byte-exact: no
// space clean-up is applied (unlike llama.cpp's `clean_spaces`).
//
// A Tokenizer is immutable after construction; all methods are const and safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

namespace autoneural::tokenizer {

class Tokenizer {
 public:
  // Validates the vocabulary (see validate_vocab) and builds the lookup tables. Throws
  // autoneural::Error for an unsupported model or pre-tokenizer.
  explicit Tokenizer(VocabData vocab);

  // add_special: prepend BOS when the vocabulary asks for it (add_bos) and append EOS when add_eos.
  // parse_special: CONTROL tokens written in the text ("<|im_start|>") become their ids; otherwise they
  // are tokenized as plain text. USER_DEFINED tokens are always matched as whole strings, as llama.cpp
  // does. Any byte sequence is accepted; invalid UTF-8 is tokenized byte by byte.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // A byte range [first, second) of a text.
  using TextRange = std::pair<size_t, size_t>;
  // encode(text, false, true) for a rendered chat, except that CONTROL tokens written inside the `plain`
  // ranges (message contents) stay text, apart from the ids in `keep` (the <image> marker). The text is
  // still tokenized as one string, so pre-tokenization across range boundaries is unchanged.
  std::vector<int32_t> encode_chat(std::string_view text, std::span<const TextRange> plain,
                                   std::span<const int32_t> keep) const;

  // The raw bytes of one token. CONTROL (and UNKNOWN) tokens render as their text when render_special,
  // else as ""; USER_DEFINED tokens render as their text; UNUSED/BYTE/UNDEFINED render as "".
  // Throws Error for an id outside [0, n_vocab()).
  std::string token_to_piece(int32_t id, bool render_special = true) const;
  // Concatenation of token_to_piece; may be invalid UTF-8 when the ids cut a character.
  std::string decode(const std::vector<int32_t>& ids, bool render_special) const;

  int32_t n_vocab() const { return static_cast<int32_t>(data_.tokens.size()); }
  int32_t bos() const { return data_.bos; }
  int32_t eos() const { return data_.eos; }
  int32_t pad() const { return data_.pad; }
  bool add_bos() const { return data_.add_bos; }
  bool add_eos() const { return data_.add_eos; }
  bool is_control(int32_t id) const;
  // Exact lookup of a vocabulary string (GPT-2 spelling for normal tokens, literal text for specials).
  std::optional<int32_t> find_token(std::string_view text) const;
  const VocabData& data() const { return data_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct MergeInfo {
    int32_t rank;
    int32_t result;
  };
  struct Fragment {
    int32_t id;  // >= 0: a matched special token; -1: raw text [begin, begin + len)
    size_t begin, len;
  };

  struct Scratch;

  // Which CONTROL occurrences may split the text: all with parse_special, none without, and with `plain`
  // ranges only those outside them (or in `keep`).
  struct SpecialFilter {
    bool parse_special = false;
    std::span<const TextRange> plain;
    std::span<const int32_t> keep;
  };
  std::vector<Fragment> partition_specials(std::string_view text, const SpecialFilter& filter) const;
  std::vector<int32_t> encode_fragments(std::string_view text, const SpecialFilter& filter) const;
  void encode_pretoken(std::string_view piece, Scratch& scratch, std::vector<int32_t>& out) const;
  int32_t trie_child(int32_t node, unsigned char c) const;

  VocabData data_;
  PreTokenizer pre_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_to_id_;
  std::unordered_map<uint64_t, MergeInfo> merges_;  // key: (left id << 32) | right id
  std::array<int32_t, 256> byte_token_{};           // id of the single-byte token, -1 if missing
  std::vector<std::string> pieces_;                 // decoded bytes (NORMAL) or literal text, per id
  std::vector<int32_t> specials_;                   // CONTROL/USER_DEFINED/UNKNOWN ids, longest text first
  struct TrieNode {
    std::vector<std::pair<unsigned char, int32_t>> next;  // few children per node: a linear scan is fastest
    int32_t rank = -1;                                     // index into specials_ of the token ending here
  };
  std::vector<TrieNode> trie_;  // byte trie over the special-token texts; node 0 is the root
  std::array<int32_t, 256> root_child_{};  // the root is consulted at every text position: direct table
};

// Incremental detokenizer for streaming output: feed ids one at a time and get back only complete,
// valid UTF-8. A trailing incomplete multi-byte sequence is held back until later tokens complete it;
// bytes that can never form valid UTF-8 are replaced by U+FFFD. The Tokenizer must outlive the decoder.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool render_special = true)
      : tok_(&tok), render_special_(render_special) {}
  // Returns the text completed by this token (possibly empty). Throws Error for an out-of-range id.
  std::string push(int32_t id);
  std::string feed(int32_t id) { return push(id); }
  // Returns whatever is still held back (an incomplete sequence becomes U+FFFD) and resets.
  std::string flush();
  void reset() { pending_.clear(); }

 private:
  const Tokenizer* tok_;
  bool render_special_;
  std::string pending_;
};

// Appends `in` to `out` as valid UTF-8, replacing each maximal invalid subpart with U+FFFD (the
// Unicode-recommended practice). When `final` is false a trailing sequence that is a valid but
// incomplete prefix is left unconsumed. Returns the number of bytes of `in` consumed.
size_t append_valid_utf8(std::string_view in, std::string& out, bool final);

// Raw bytes in the GPT-2 byte-level spelling used by the vocabulary strings of NORMAL tokens
// (space → "Ġ"), the inverse of what token_to_piece undoes.
std::string byte_level_spelling(std::string_view bytes);

}  // namespace autoneural::tokenizer
