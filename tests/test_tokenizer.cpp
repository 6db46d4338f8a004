// Tokenizer against references produced by llama.cpp: the lfm2-tiny cases and prompts (GGUF and HF
// vocabularies), the chat template, and llama.cpp's GPT-2 vocabulary test vectors.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace autoneural::tokenizer {
namespace {

using autoneural::test::fixture;
using autoneural::test::lfm2_tiny;
using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json load_json(const std::string& path) { return json::parse(slurp(path)); }

// Loaded once per test binary: both are immutable and the loads dominate the run time otherwise.
const Tokenizer& gguf_tok() {
  static const Tokenizer tok(vocab_from_gguf(format::GgufFile::open(lfm2_tiny("model-f32.gguf"))));
  return tok;
}
const Tokenizer& hf_tok() {
  static const Tokenizer tok(vocab_from_hf_dir(lfm2_tiny("hf")));
  return tok;
}

std::vector<int32_t> ids_of(const json& j) { return j.get<std::vector<int32_t>>(); }

std::string stream_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool render_special) {
  StreamDecoder sd(tok, render_special);
  std::string out;
  for (int32_t id : ids) out += sd.push(id);
  out += sd.flush();
  return out;
}

class LfmTokenizer : public ::testing::TestWithParam<const char*> {
 protected:
  const Tokenizer& tok() const { return std::string(GetParam()) == "gguf" ? gguf_tok() : hf_tok(); }
};

TEST_P(LfmTokenizer, Metadata) {
  const Tokenizer& t = tok();
  EXPECT_EQ(t.n_vocab(), 640);
  EXPECT_EQ(t.bos(), 1);
  EXPECT_EQ(t.eos(), 7);
  EXPECT_EQ(t.pad(), 0);
  EXPECT_TRUE(t.add_bos());
  EXPECT_FALSE(t.add_eos());
  EXPECT_EQ(t.data().pre, "lfm2");
  EXPECT_EQ(t.data().merges.size(), 371u);
  for (int32_t i = 0; i < 13; ++i) EXPECT_TRUE(t.is_control(i)) << i;
  EXPECT_FALSE(t.is_control(13));
  EXPECT_FALSE(t.is_control(-1));
  EXPECT_FALSE(t.is_control(640));
  EXPECT_EQ(t.find_token("<|im_start|>"), 6);
  EXPECT_EQ(t.find_token("\xC4\xA0"), 45);  // "Ġ" = space
  EXPECT_FALSE(t.find_token("no such token"));
  EXPECT_EQ(t.token_to_piece(45), " ");
  EXPECT_EQ(t.token_to_piece(23), "\n");
  EXPECT_EQ(t.token_to_piece(6, true), "<|im_start|>");
  EXPECT_EQ(t.token_to_piece(6, false), "");
  EXPECT_THROW((void)t.token_to_piece(640), Error);
  EXPECT_THROW((void)t.token_to_piece(-1), Error);
  EXPECT_FALSE(t.data().chat_template.empty());
}

TEST_P(LfmTokenizer, ReferenceCases) {
  const Tokenizer& t = tok();
  const json cases = load_json(lfm2_tiny("ref/tokenize_cases.json"));
  ASSERT_EQ(cases.size(), 43u);
  int quirk_cases = 0;
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text: " + text);
    const auto ps = ids_of(c["ids_parse_special"]);
    const auto nps = ids_of(c["ids_no_parse_special"]);
    EXPECT_EQ(t.encode(text, false, true), ps);
    EXPECT_EQ(t.encode(text, false, false), nps);
    EXPECT_EQ(t.encode(text, true, true), ids_of(c["ids_add_special_parse_special"]));
    std::vector<std::string> spelled;
    for (int32_t id : ps) spelled.push_back(t.data().tokens.at(static_cast<size_t>(id)));
    EXPECT_EQ(spelled, c["tokens_parse_special"].get<std::vector<std::string>>());

    // Decoding is byte-exact; llama.cpp's detok strings agree except where its clean_spaces fires.
    EXPECT_EQ(t.decode(ps, true), text);
    EXPECT_EQ(t.decode(nps, true), text);
    if (c["detok_equals_text"].get<bool>()) {
      EXPECT_EQ(t.decode(ps, true), c["detok"].get<std::string>());
      EXPECT_EQ(t.decode(ps, false), c["detok_hide_specials"].get<std::string>());
    } else {
      ++quirk_cases;
    }
    EXPECT_EQ(stream_decode(t, ps, true), t.decode(ps, true));
    EXPECT_EQ(stream_decode(t, ps, false), t.decode(ps, false));
    EXPECT_EQ(stream_decode(t, nps, true), t.decode(nps, true));
  }
  EXPECT_EQ(quirk_cases, 1);  // the "Wait , what ?" case documented in the fixture README
}

TEST_P(LfmTokenizer, ReferencePrompts) {
  const Tokenizer& t = tok();
  const json prompts = load_json(lfm2_tiny("ref/prompts.json"));
  ASSERT_EQ(prompts.size(), 4u);
  for (const json& p : prompts) {
    const std::string name = p["name"].get<std::string>();
    SCOPED_TRACE(name);
    const auto expected = autoneural::test::npy_i32(lfm2_tiny("ref/" + name + ".tokens.npy"));
    EXPECT_EQ(expected.size(), p["n_tokens"].get<size_t>());
    const std::string text = p["text"].get<std::string>();
    const auto ids = t.encode(text, p["add_special"].get<bool>(), p["parse_special"].get<bool>());
    EXPECT_EQ(ids, expected);
    std::string want = text;
    if (p["add_special"].get<bool>()) want = "<|startoftext|>" + want;
    EXPECT_EQ(t.decode(ids, true), want);
    EXPECT_EQ(stream_decode(t, ids, true), want);
  }
}

TEST_P(LfmTokenizer, ChatTemplate) {
  const Tokenizer& t = tok();
  const json prompts = load_json(lfm2_tiny("ref/prompts.json"));
  const json* chat = nullptr;
  for (const json& p : prompts)
    if (p["name"] == "chat") chat = &p;
  ASSERT_NE(chat, nullptr);
  std::vector<ChatMessage> messages;
  for (const json& m : (*chat)["messages"])
    messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  const std::string rendered = render_lfm2_chat(messages, true, t);
  EXPECT_EQ(rendered, (*chat)["text"].get<std::string>());
  EXPECT_EQ(t.encode(rendered, false, true), autoneural::test::npy_i32(lfm2_tiny("ref/chat.tokens.npy")));

  // Without the generation prompt the text simply stops after the last turn.
  const std::string no_gen = render_lfm2_chat(messages, false, t);
  EXPECT_EQ(no_gen + "<|im_start|>assistant\n", rendered);
}

INSTANTIATE_TEST_SUITE_P(Sources, LfmTokenizer, ::testing::Values("gguf", "hf"),
                         [](const auto& info) { return std::string(info.param); });

TEST(LfmTokenizerSources, GgufAndHfVocabulariesAgree) {
  const VocabData& g = gguf_tok().data();
  const VocabData& h = hf_tok().data();
  EXPECT_EQ(g.tokens, h.tokens);
  EXPECT_EQ(g.token_types, h.token_types);
  EXPECT_EQ(g.merges, h.merges);
  EXPECT_EQ(g.model, h.model);
  EXPECT_EQ(g.pre, h.pre);
  EXPECT_EQ(g.bos, h.bos);
  EXPECT_EQ(g.eos, h.eos);
  EXPECT_EQ(g.pad, h.pad);
  EXPECT_EQ(g.add_bos, h.add_bos);
  EXPECT_EQ(g.add_eos, h.add_eos);
  EXPECT_EQ(g.chat_template, h.chat_template);
}

// encode() is const and keeps no shared scratch state: concurrent calls give the sequential answers.
TEST(LfmTokenizerSources, ConcurrentEncode) {
  const Tokenizer& t = gguf_tok();
  const json cases = load_json(lfm2_tiny("ref/tokenize_cases.json"));
  std::vector<std::string> texts;
  for (const json& c : cases) texts.push_back(c["text"].get<std::string>());
  std::vector<std::vector<int32_t>> expected;
  for (const auto& text : texts) expected.push_back(t.encode(text, true, true));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int rep = 0; rep < 20; ++rep)
        for (size_t i = 0; i < texts.size(); ++i)
          if (t.encode(texts[i], true, true) != expected[i]) ++mismatches;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// llama.cpp's test-tokenizer-0 vectors for the GPT-2 vocabulary (expected ids from HF tokenizers).
// The fixture stores byte b as token 13 + b, spelled in the GPT-2 byte-level alphabet.
TEST(LfmTokenizerSources, ByteLevelSpellingMatchesTheVocabulary) {
  const auto vocab = vocab_from_gguf(format::GgufFile::open(lfm2_tiny("model-f32.gguf")));
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(byte_level_spelling(std::string(1, static_cast<char>(b))), vocab.tokens[13 + b]) << b;
  EXPECT_EQ(byte_level_spelling(" \n"), "\xC4\xA0\xC4\x8A");  // "ĠĊ"
}

TEST(Gpt2Tokenizer, LlamaCppVectors) {
  const std::string base = fixture("tokenizer/ggml-vocab-gpt-2.gguf");
  const Tokenizer tok(vocab_from_gguf(format::GgufFile::open(base)));
  EXPECT_EQ(tok.n_vocab(), 50257);
  EXPECT_EQ(tok.data().pre, "gpt-2");

  const std::string inp = slurp(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0;;) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      EXPECT_EQ(pos, inp.size()) << "the .inp file should end with a separator";
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<std::vector<int32_t>> expected;
  std::istringstream out(slurp(base + ".out"));
  for (std::string line; std::getline(out, line);) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    for (int32_t id; ls >> id;) ids.push_back(id);
    expected.push_back(ids);
  }
  ASSERT_EQ(texts.size(), 46u);
  ASSERT_EQ(expected.size(), texts.size());
  EXPECT_EQ(texts[0], "ied 4 \xC2\xBD months");
  EXPECT_EQ(texts[2], "");
  for (size_t i = 0; i < texts.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i) + ": " + texts[i]);
    const auto ids = tok.encode(texts[i], false, false);
    EXPECT_EQ(ids, expected[i]);
    EXPECT_EQ(tok.decode(ids, true), texts[i]);
    EXPECT_EQ(stream_decode(tok, ids, true), texts[i]);
  }
}

}  // namespace
}  // namespace autoneural::tokenizer
