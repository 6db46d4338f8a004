// Tokenizer unit tests on small hand-made vocabularies: loader errors, GGUF round trip, merge order,
// special-token matching, invalid UTF-8, streaming decode, chat rendering, speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace autoneural::tokenizer {
namespace {

using autoneural::test::lfm2_tiny;
using autoneural::test::TempDir;
using format::GgufFile;
using format::GgufValue;
using format::GgufWriter;
using nlohmann::json;

// GPT-2 byte→unicode spelling of one byte, written independently of the library's table.
std::string spell(unsigned char b) {
  int n = 0;
  unsigned cp = b;
  for (int x = 0; x < 256; ++x) {
    const bool self = (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174;
    if (!self) {
      if (x == b) cp = 256 + n;
      ++n;
    }
  }
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

// Specials 0..3, the 256 byte tokens at 4..259, then a few merged tokens.
VocabData tiny_vocab(const std::string& pre = "lfm2") {
  VocabData v;
  v.pre = pre;
  for (const char* s : {"<|startoftext|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"}) {
    v.tokens.push_back(s);
    v.token_types.push_back(TOKEN_TYPE_CONTROL);
  }
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(spell(static_cast<unsigned char>(b)));
    v.token_types.push_back(TOKEN_TYPE_NORMAL);
  }
  // "bc" outranks "ab", and "abc" is a token but only reachable via ignore_merges.
  for (const char* t : {"bc", "ab", "abc", "aa"}) {
    v.tokens.push_back(t);
    v.token_types.push_back(TOKEN_TYPE_NORMAL);
  }
  v.merges = {"b c", "a b", "a a"};
  v.bos = 0;
  v.eos = 2;
  v.add_bos = true;
  return v;
}

int32_t byte_id(char c) { return 4 + static_cast<unsigned char>(c); }

std::vector<uint8_t> gguf_bytes(const VocabData& v) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string("lfm2"));
  vocab_to_gguf(v, w);
  return w.serialize();
}

using test::expect_error;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(TokenizerVocab, GgufLoaderErrors) {
  auto base = [] {
    GgufWriter w;
    w.set("tokenizer.ggml.model", GgufValue::make_string("gpt2"));
    w.set("tokenizer.ggml.pre", GgufValue::make_string("lfm2"));
    w.set("tokenizer.ggml.tokens", GgufValue::make_string_array({"a", "b", "ab"}));
    w.set("tokenizer.ggml.token_type", GgufValue::make_i32_array({1, 1, 1}));
    return w;
  };
  auto load = [](const GgufWriter& w) {
    const auto bytes = w.serialize();
    return vocab_from_gguf(GgufFile::parse(bytes.data(), bytes.size(), "mem.gguf"));
  };
  {
    GgufWriter w = base();  // no merges
    expect_error([&] { load(w); }, "tokenizer.ggml.merges");
  }
  {
    GgufWriter w = base();
    w.set("tokenizer.ggml.merges", GgufValue::make_string_array({"a b"}));
    EXPECT_EQ(load(w).tokens.size(), 3u);
    w.set("tokenizer.ggml.token_type", GgufValue::make_i32_array({1, 1}));
    expect_error([&] { load(w); }, "token_type");
  }
  {
    GgufWriter w = base();
    w.set("tokenizer.ggml.merges", GgufValue::make_string_array({"a b"}));
    w.set("tokenizer.ggml.model", GgufValue::make_string("llama"));
    expect_error([&] { load(w); }, "unsupported tokenizer model \"llama\"");
  }
  {
    GgufWriter w = base();
    w.set("tokenizer.ggml.merges", GgufValue::make_string_array({"a b"}));
    w.set("tokenizer.ggml.bos_token_id", GgufValue::make_u32(3));
    expect_error([&] { load(w); }, "out of range");
  }
  {
    GgufWriter w = base();
    w.set("tokenizer.ggml.merges", GgufValue::make_string_array({"a b"}));
    w.set("tokenizer.ggml.tokens", GgufValue::make_string_array({}));
    w.set("tokenizer.ggml.token_type", GgufValue::make_i32_array({}));
    expect_error([&] { load(w); }, "no tokens");
  }
  {
    GgufWriter w;  // a model file without a vocabulary
    w.set("general.architecture", GgufValue::make_string("lfm2"));
    expect_error([&] { load(w); }, "tokenizer.ggml.model");
  }
  {
    GgufWriter w = base();
    w.set("tokenizer.ggml.merges", GgufValue::make_string_array({"a b"}));
    w.set("tokenizer.ggml.pre", GgufValue::make_string("no-such-pre"));
    expect_error([&] { load(w); }, "mem.gguf: unsupported pre-tokenizer \"no-such-pre\"");
  }
}

TEST(TokenizerVocab, ValidationInConstructor) {
  VocabData v = tiny_vocab();
  v.pre = "bogus";
  expect_error([&] { Tokenizer t(v); }, "unsupported pre-tokenizer");
  v = tiny_vocab();
  v.model = "llama";
  expect_error([&] { Tokenizer t(v); }, "unsupported tokenizer model");
  v = tiny_vocab();
  v.token_types.pop_back();
  expect_error([&] { Tokenizer t(v); }, "token_type");
  v = tiny_vocab();
  v.eos = 100000;
  expect_error([&] { Tokenizer t(v); }, "out of range");
  v = tiny_vocab();
  v.merges.push_back("nospace");
  expect_error([&] { Tokenizer t(v); }, "malformed merge");
}

TEST(TokenizerVocab, HfLoaderErrors) {
  TempDir dir;
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, "tokenizer.json");
  write_file(dir.file("tokenizer.json"), "{ \"model\": [1, 2");
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, dir.file("tokenizer.json") + ": malformed JSON");
  write_file(dir.file("tokenizer.json"), R"({"model": {"type": "BPE", "merges": []}})");
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, "model.vocab");
  write_file(dir.file("tokenizer.json"), R"({"model": {"type": "Unigram", "vocab": []}})");
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, "unsupported tokenizer model \"Unigram\"");
  write_file(dir.file("tokenizer.json"), R"({"model": {"type": "BPE", "vocab": {"a": 0}}})");
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, "model.merges");
  write_file(dir.file("tokenizer.json"), R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [3]}})");
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, "malformed merge");
  write_file(dir.file("tokenizer.json"),
             R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}})");
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, "unsupported pre_tokenizer");
  write_file(dir.file("tokenizer.json"),
             R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}})");
  write_file(dir.file("tokenizer_config.json"), R"({"bos_token": "<s>"})");
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, "\"<s>\" is not in the vocabulary");
  write_file(dir.file("tokenizer_config.json"), "[1,");
  expect_error([&] { vocab_from_hf_dir(dir.path()); }, dir.file("tokenizer_config.json") + ": malformed JSON");
}

// The loader on file contents in memory (what fuzz_tokenizer runs). Found with the fuzz_tokenizer binary
// (a timeout): an 85-byte tokenizer.json with one token at id 16777215 made the loader fill 16 million
// gaps (over 10 s and 600 MB under ASan); ids that sparse are refused now.
TEST(TokenizerVocab, HfFilesInMemoryAndSparseIds) {
  HfTokenizerFiles files;
  files.dir = "mem";
  files.tokenizer_json = R"({"model":{"vocab":{"a":16777215},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}})";
  expect_error([&] { vocab_from_hf_files(files); },
               "mem/tokenizer.json: token ids are too sparse: the largest is 16777215 but there are 1 tokens");
  files.tokenizer_json = R"({"model":{"vocab":{"a":0,"b":3},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"},
                             "added_tokens":[{"id":6,"content":"<s>","special":true}]})";
  expect_error([&] { vocab_from_hf_files(files); }, "token ids are too sparse: the largest is 6 but there are 3 tokens");
  files.tokenizer_json = R"({"model":{"vocab":{"a":0,"b":3},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"},
                             "added_tokens":[{"id":1,"content":"<s>","special":true}]})";
  files.tokenizer_config = R"({"bos_token": "<s>", "add_bos_token": true})";
  files.chat_template_jinja = "{{ x }}";
  const VocabData v = vocab_from_hf_files(files);
  ASSERT_EQ(v.tokens.size(), 4u);
  EXPECT_EQ(v.tokens[2], "[PAD2]");
  EXPECT_EQ(v.bos, 1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_EQ(v.chat_template, "{{ x }}");
  files.tokenizer_config = "[";
  expect_error([&] { vocab_from_hf_files(files); }, "mem/tokenizer_config.json: malformed JSON");
}

// A GPT-2 style tokenizer.json with "a b" merge strings, an AddedToken-object bos, a non-special added
// token and add_bos inferred from the post-processor.
TEST(TokenizerVocab, HfVariants) {
  TempDir dir;
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[spell(static_cast<unsigned char>(b))] = b;
  vocab["\xC4\xA0h"] = 256;  // "Ġh"
  vocab["\xC4\xA0hi"] = 257;
  json tj = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"\xC4\xA0 h", "\xC4\xA0h i"}}, {"ignore_merges", false}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"added_tokens",
       {{{"id", 258}, {"content", "<bos>"}, {"special", true}}, {{"id", 260}, {"content", "my word"}, {"special", false}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<bos>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}}}},
  };
  write_file(dir.file("tokenizer.json"), tj.dump());
  write_file(dir.file("tokenizer_config.json"), R"({"bos_token": {"content": "<bos>", "special": true}, "eos_token": null})");
  write_file(dir.file("chat_template.jinja"), "{{ messages }}");
  const VocabData v = vocab_from_hf_dir(dir.path());
  EXPECT_EQ(v.pre, "gpt-2");
  ASSERT_EQ(v.tokens.size(), 261u);
  EXPECT_EQ(v.tokens[259], "[PAD259]");
  EXPECT_EQ(v.token_types[259], TOKEN_TYPE_UNUSED);
  EXPECT_EQ(v.token_types[258], TOKEN_TYPE_CONTROL);
  EXPECT_EQ(v.token_types[260], TOKEN_TYPE_USER_DEFINED);
  EXPECT_EQ(v.merges, (std::vector<std::string>{"\xC4\xA0 h", "\xC4\xA0h i"}));
  EXPECT_EQ(v.bos, 258);
  EXPECT_EQ(v.eos, -1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_FALSE(v.add_eos);
  EXPECT_EQ(v.chat_template, "{{ messages }}");

  const Tokenizer tok(v);
  EXPECT_EQ(tok.encode(" hi", true, false), (std::vector<int32_t>{258, 257}));
  // USER_DEFINED tokens are matched whether or not special parsing is on; CONTROL ones only with it.
  EXPECT_EQ(tok.encode("<bos>my word", false, false).back(), 260);
  EXPECT_EQ(tok.encode("<bos>my word", false, true), (std::vector<int32_t>{258, 260}));
  EXPECT_EQ(tok.decode({258, 260, 257}, false), "my word hi");
  EXPECT_EQ(tok.decode({258, 259}, true), "<bos>");  // unused tokens render as nothing

  // An explicit add_bos_token wins over the post-processor.
  write_file(dir.file("tokenizer_config.json"), R"({"bos_token": "<bos>", "add_bos_token": false})");
  EXPECT_FALSE(vocab_from_hf_dir(dir.path()).add_bos);
}

TEST(TokenizerVocab, GgufRoundTrip) {
  const VocabData hf = vocab_from_hf_dir(lfm2_tiny("hf"));
  const auto bytes = gguf_bytes(hf);
  const VocabData back = vocab_from_gguf(GgufFile::parse(bytes.data(), bytes.size(), "roundtrip.gguf"));
  EXPECT_EQ(back.tokens, hf.tokens);
  EXPECT_EQ(back.token_types, hf.token_types);
  EXPECT_EQ(back.merges, hf.merges);
  EXPECT_EQ(back.pre, hf.pre);
  EXPECT_EQ(back.bos, hf.bos);
  EXPECT_EQ(back.eos, hf.eos);
  EXPECT_EQ(back.pad, hf.pad);
  EXPECT_EQ(back.add_bos, hf.add_bos);
  EXPECT_EQ(back.add_eos, hf.add_eos);
  EXPECT_EQ(back.chat_template, hf.chat_template);

  const GgufFile g = GgufFile::parse(bytes.data(), bytes.size(), "roundtrip.gguf");
  EXPECT_EQ(g.find("tokenizer.ggml.token_type")->elem_type, format::GgufValueType::INT32);
  EXPECT_EQ(g.find("tokenizer.ggml.bos_token_id")->type, format::GgufValueType::UINT32);
  EXPECT_EQ(g.find("tokenizer.ggml.add_bos_token")->type, format::GgufValueType::BOOL);

  const Tokenizer a(hf), b(back);
  std::ifstream in(lfm2_tiny("ref/tokenize_cases.json"));
  const json cases = json::parse(in);
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    for (bool add : {false, true})
      for (bool parse : {false, true}) EXPECT_EQ(a.encode(text, add, parse), b.encode(text, add, parse)) << text;
  }
}

TEST(TokenizerBpe, MergeOrderAndIgnoreMerges) {
  const Tokenizer lfm(tiny_vocab("lfm2"));
  const Tokenizer gpt(tiny_vocab("gpt-2"));
  const int32_t bc = 260, ab = 261, abc = 262, aa = 263;
  // "b c" outranks "a b": a|bc. With ignore_merges the whole pre-token "abc" is a token.
  EXPECT_EQ(gpt.encode("abc", false, false), (std::vector<int32_t>{byte_id('a'), bc}));
  EXPECT_EQ(lfm.encode("abc", false, false), (std::vector<int32_t>{abc}));
  EXPECT_EQ(lfm.encode("abcd", false, false), (std::vector<int32_t>{byte_id('a'), bc, byte_id('d')}));
  EXPECT_EQ(gpt.encode("ab", false, false), (std::vector<int32_t>{ab}));
  // Equal ranks merge leftmost first.
  EXPECT_EQ(gpt.encode("aaa", false, false), (std::vector<int32_t>{aa, byte_id('a')}));
  EXPECT_EQ(gpt.encode("aaaa", false, false), (std::vector<int32_t>{aa, aa}));
  EXPECT_EQ(gpt.encode("aaaaa", false, false), (std::vector<int32_t>{aa, aa, byte_id('a')}));
  // BOS only with add_special.
  EXPECT_EQ(lfm.encode("ab", true, false), (std::vector<int32_t>{0, ab}));
  EXPECT_TRUE(lfm.encode("", false, true).empty());
  EXPECT_EQ(lfm.encode("", true, true), (std::vector<int32_t>{0}));
  VocabData with_eos = tiny_vocab();
  with_eos.add_eos = true;
  EXPECT_EQ(Tokenizer(with_eos).encode("ab", true, false), (std::vector<int32_t>{0, ab, 2}));
}

TEST(TokenizerBpe, SpecialTokenMatching) {
  VocabData v = tiny_vocab();
  // Overlapping specials: the longer one is cut out first, wherever it is.
  v.tokens.push_back("<x><y>");
  v.token_types.push_back(TOKEN_TYPE_CONTROL);
  v.tokens.push_back("<x>");
  v.token_types.push_back(TOKEN_TYPE_CONTROL);
  const Tokenizer tok(v);
  const int32_t xy = 264, x = 265;
  EXPECT_EQ(tok.encode("<x><x><y>", false, true), (std::vector<int32_t>{x, xy}));
  EXPECT_EQ(tok.encode("<|im_start|><|im_start|", false, true)[0], 1);
  const auto plain = tok.encode("<|im_start|>", false, false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(tok.decode(plain, false), "<|im_start|>");
  EXPECT_EQ(tok.encode(" <|im_end|> ", false, true), (std::vector<int32_t>{byte_id(' '), 2, byte_id(' ')}));
}

// Differential test of special-token splitting against a direct transcription of llama.cpp's
// algorithm (each special, longest first, splits every remaining raw fragment left to right), on random
// strings full of overlapping and self-overlapping special tokens.
TEST(TokenizerBpe, SpecialSplittingMatchesReference) {
  VocabData v = tiny_vocab();
  for (const char* t : {"aa", "aaa", "<x>", "<x><y>", "x><", "<y>", "a"})
    v.tokens.push_back(t), v.token_types.push_back(TOKEN_TYPE_CONTROL);
  const Tokenizer tok(v);
  std::vector<int32_t> order;  // priority: longer first, then lower id
  for (int32_t i = 0; i < tok.n_vocab(); ++i)
    if (v.token_types[i] == TOKEN_TYPE_CONTROL) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return v.tokens[a].size() > v.tokens[b].size(); });
  auto reference = [&](const std::string& text) {
    std::vector<std::pair<int32_t, std::string>> frags = {{-1, text}};
    for (int32_t id : order) {
      const std::string& s = v.tokens[id];
      std::vector<std::pair<int32_t, std::string>> next;
      for (const auto& [fid, raw] : frags) {
        if (fid >= 0) {
          next.emplace_back(fid, raw);
          continue;
        }
        size_t pos = 0;
        for (size_t hit; (hit = raw.find(s, pos)) != std::string::npos; pos = hit + s.size()) {
          if (hit > pos) next.emplace_back(-1, raw.substr(pos, hit - pos));
          next.emplace_back(id, s);
        }
        if (pos < raw.size()) next.emplace_back(-1, raw.substr(pos));
      }
      frags = std::move(next);
    }
    std::vector<int32_t> ids;
    for (const auto& [fid, raw] : frags) {
      if (fid >= 0) {
        ids.push_back(fid);
      } else {
        const auto part = tok.encode(raw, false, false);
        ids.insert(ids.end(), part.begin(), part.end());
      }
    }
    return ids;
  };
  const char* alphabet[] = {"a", "<", "x", ">", "y", " ", "aa", "<x>", "b"};
  uint32_t state = 12345;
  auto rnd = [&](uint32_t n) {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) % n;
  };
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    const uint32_t len = rnd(16);
    for (uint32_t k = 0; k < len; ++k) text += alphabet[rnd(9)];
    ASSERT_EQ(tok.encode(text, false, true), reference(text)) << text;
    ASSERT_EQ(tok.decode(tok.encode(text, false, true), true), text);
  }
}

TEST(TokenizerBpe, InvalidUtf8RoundTrips) {
  const std::vector<std::string> inputs = {
      "\xFF",         "\xFE\xFF abc",       "abc\xC3",           "\xE2\x82",          "\x80\x80 x",
      "\xC0\xAF",     "\xED\xA0\x80 surrogate", "\xF4\x90\x80\x80", "ok \xF0\x9F\x9A x", "<|im_end|>\xE6\x97<|im_start|>",
      std::string("nul\0byte", 8), "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC",
  };
  const std::vector<Tokenizer> toks = {Tokenizer(tiny_vocab("lfm2")), Tokenizer(tiny_vocab("gpt-2"))};
  for (const Tokenizer& tok : toks) {
    for (const std::string& s : inputs) {
      for (bool parse : {false, true}) {
        const auto ids = tok.encode(s, false, parse);
        EXPECT_EQ(tok.decode(ids, true), s);
        // Streaming never emits invalid UTF-8, and valid input passes through unchanged.
        StreamDecoder sd(tok);
        std::string streamed;
        for (int32_t id : ids) {
          const std::string part = sd.push(id);
          std::string check;
          EXPECT_EQ(append_valid_utf8(part, check, true), part.size());
          EXPECT_EQ(check, part);
          streamed += part;
        }
        streamed += sd.flush();
        std::string sanitized;
        append_valid_utf8(s, sanitized, true);
        EXPECT_EQ(streamed, sanitized);
      }
    }
  }
}

TEST(TokenizerUtf8, AppendValid) {
  auto fix = [](std::string_view in, bool final, size_t* used = nullptr) {
    std::string out;
    const size_t n = append_valid_utf8(in, out, final);
    if (used) *used = n;
    return out;
  };
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(fix("abc", true), "abc");
  EXPECT_EQ(fix("\xE6\x97\xA5", true), "\xE6\x97\xA5");
  size_t used = 0;
  EXPECT_EQ(fix("a\xE6\x97", false, &used), "a");
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(fix("a\xE6\x97", true), "a" + R);
  EXPECT_EQ(fix("\xE6\x97" "b", false), R + "b");  // broken sequence: one replacement, keep the next char
  EXPECT_EQ(fix("\xC0\xAF", true), R + R);        // overlong lead bytes are never valid
  EXPECT_EQ(fix("\xED\xA0\x80", true), R + R + R);  // surrogate: ED A0 is not a valid prefix
  EXPECT_EQ(fix("\xF0\x9F\x98\x80", true), "\xF0\x9F\x98\x80");
  EXPECT_EQ(fix("\xF0\x9F\x98", false, &used), "");
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(fix("\xFF", false), R);  // can never become valid: not held back
}

TEST(TokenizerStream, HoldsBackSplitCharacters) {
  const Tokenizer tok(tiny_vocab());
  StreamDecoder sd(tok);
  const std::string sun = "\xE6\x97\xA5";  // 日, three byte tokens
  EXPECT_EQ(sd.push(byte_id(sun[0])), "");
  EXPECT_EQ(sd.push(byte_id(sun[1])), "");
  EXPECT_EQ(sd.push(byte_id(sun[2])), sun);
  EXPECT_EQ(sd.push(byte_id(sun[0])), "");
  EXPECT_EQ(sd.push(1), "\xEF\xBF\xBD<|im_start|>");  // a complete piece breaks the sequence
  EXPECT_EQ(sd.push(byte_id(sun[0])), "");
  EXPECT_EQ(sd.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(sd.flush(), "");
  StreamDecoder hidden(tok, false);
  EXPECT_EQ(hidden.push(1), "");
  EXPECT_EQ(hidden.push(byte_id('x')), "x");
  EXPECT_THROW(hidden.push(100000), Error);
}

TEST(TokenizerChat, RenderingRules) {
  VocabData v = tiny_vocab();
  const Tokenizer plain(v);
  using M = std::vector<ChatMessage>;
  EXPECT_EQ(render_lfm2_chat({}, true, plain), "<|startoftext|><|im_start|>assistant\n");
  EXPECT_EQ(render_lfm2_chat(M{{"system", ""}, {"user", "hi"}}, false, plain),
            "<|startoftext|><|im_start|>user\nhi<|im_end|>\n");
  EXPECT_EQ(render_lfm2_chat(M{{"user", "a"}, {"system", "b"}, {"tool", "{}"}}, false, plain),
            "<|startoftext|><|im_start|>user\na<|im_end|>\n<|im_start|>system\nb<|im_end|>\n"
            "<|im_start|>tool\n{}<|im_end|>\n");
  expect_error([&] { render_lfm2_chat(M{{"robot", "x"}}, true, plain); }, "unknown role \"robot\"");

  for (const char* t : {"<|tool_response_start|>", "<|tool_response_end|>"}) {
    v.tokens.push_back(t);
    v.token_types.push_back(TOKEN_TYPE_CONTROL);
  }
  const Tokenizer tools(v);
  EXPECT_EQ(render_lfm2_chat(M{{"tool", "{\"x\":1}"}}, true, tools),
            "<|startoftext|><|im_start|>tool\n<|tool_response_start|>{\"x\":1}<|tool_response_end|><|im_end|>\n"
            "<|im_start|>assistant\n");

  VocabData bare = tiny_vocab();
  bare.tokens[1] = "<|not_im_start|>";
  expect_error([&] { render_lfm2_chat(M{{"user", "x"}}, true, Tokenizer(bare)); }, "<|im_start|>");
  bare = tiny_vocab();
  bare.bos = -1;
  EXPECT_EQ(render_lfm2_chat(M{{"user", "x"}}, false, Tokenizer(bare)), "<|im_start|>user\nx<|im_end|>\n");
}

TEST(TokenizerPerf, HundredKilobytes) {
  const Tokenizer tok(vocab_from_hf_dir(lfm2_tiny("hf")));
  std::string text;
  const std::string para =
      "The license grants you a perpetual, worldwide, non-exclusive right to use it. 12345 \xE6\x97\xA5\xE6\x9C\xAC "
      "<|im_start|>user\n    def f(x): return x ** 2  # 3.14159\n\n";
  while (text.size() < 100 * 1024) text += para;
  text += std::string(20000, 'a');  // one long pre-token stresses the merge loop
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok.encode(text, true, true);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(tok.decode(ids, true), "<|startoftext|>" + text);
#if defined(__SANITIZE_ADDRESS__) || !defined(__OPTIMIZE__)
  const double limit = 5.0;  // sanitizer / debug builds are several times slower
#else
  const double limit = 0.5;
#endif
  EXPECT_LT(s, limit) << ids.size() << " tokens";
  RecordProperty("encode_seconds", std::to_string(s));
}

// Real LFM2 vocabularies carry hundreds of special tokens; special-token matching must stay cheap.
TEST(TokenizerPerf, ManySpecialTokens) {
  VocabData v = vocab_from_hf_dir(lfm2_tiny("hf"));
  for (int i = 0; i < 1000; ++i) {
    v.tokens.push_back("<|reserved_" + std::to_string(i) + "|>");
    v.token_types.push_back(TOKEN_TYPE_CONTROL);
  }
  const Tokenizer tok(v);
  std::string text;
  const std::string para = "<|im_start|>user\nShow me <b>bold</b> and <|reserved_7|> text, x < y.<|im_end|>\n";
  while (text.size() < 100 * 1024) text += para;
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok.encode(text, false, true);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(tok.decode(ids, true), text);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), *tok.find_token("<|reserved_7|>")),
            static_cast<std::ptrdiff_t>(text.size() / para.size()));
#if defined(__SANITIZE_ADDRESS__) || !defined(__OPTIMIZE__)
  const double limit = 5.0;
#else
  const double limit = 0.5;
#endif
  EXPECT_LT(s, limit);
  RecordProperty("encode_seconds", std::to_string(s));
}

}  // namespace
}  // namespace autoneural::tokenizer
