#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "autoneural/error.h"

namespace autoneural::tokenizer {

namespace {

// llama.cpp's form of the llama-3 regex: the HF original starts with (?i:'s|'t|...); spelling the case
// variants out keeps PCRE2's Unicode case folding (e.g. U+017F LONG S matching 's') out of the picture.
constexpr const char* kLlama3Regex =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// HF ByteLevel's GPT-2 regex. llama.cpp drops the final `\s+`; that changes nothing here because the
// whitespace it would match is emitted as an in-between piece anyway.
constexpr const char* kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

bool is_llama3(std::string_view pre) {
  return pre == "lfm2" || pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3";
}
bool is_gpt2(std::string_view pre) { return pre == "gpt-2" || pre == "gpt2" || pre == "default"; }

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

}  // namespace

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  Compiled() = default;
  Compiled(const Compiled&) = delete;
  Compiled& operator=(const Compiled&) = delete;
  ~Compiled() { pcre2_code_free(code); }
};

bool PreTokenizer::supported(std::string_view pre) { return is_llama3(pre) || is_gpt2(pre); }

PreTokenizer::PreTokenizer(std::string_view pre) : name_(pre) {
  const char* pattern = nullptr;
  if (is_llama3(pre)) {
    pattern = kLlama3Regex;
    ignore_merges_ = true;
  } else if (is_gpt2(pre)) {
    pattern = kGpt2Regex;
  } else {
    throw Error("unsupported pre-tokenizer \"" + std::string(pre) +
                "\" (supported: lfm2, llama3, llama-bpe, llama-v3, gpt-2, default)");
  }
  auto compiled = std::make_shared<Compiled>();
  int err = 0;
  PCRE2_SIZE err_off = 0;
  compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!compiled->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw Error("pre-tokenizer regex failed to compile: " + std::string(reinterpret_cast<const char*>(msg)));
  }
  // JIT is an optimisation only; the interpreter gives the same matches if it is unavailable.
  (void)pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE);
  re_ = std::move(compiled);
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(pcre2_match_data_create_from_pattern(re_->code, nullptr));
  if (!md) throw Error("pre-tokenizer: out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;   // where the next search starts
  size_t emitted = 0;  // end of what has been emitted so far
  while (pos < text.size()) {
    const int rc = pcre2_match(re_->code, subject, text.size(), pos, 0, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      throw Error("pre-tokenizer regex match failed: " + std::string(reinterpret_cast<const char*>(msg)));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    const size_t start = ov[0], end = ov[1];
    if (start > emitted) out.push_back(text.substr(emitted, start - emitted));
    if (end > start) {
      out.push_back(text.substr(start, end - start));
      emitted = end;
      pos = end;
    } else {
      // None of our patterns can match empty, but never loop forever if one did: step past one byte
      // and let it join the next in-between piece.
      emitted = start;
      pos = start + 1;
    }
  }
  if (emitted < text.size()) out.push_back(text.substr(emitted));
}

}  // namespace autoneural::tokenizer
