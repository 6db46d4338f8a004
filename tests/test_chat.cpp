// Chat against references and against itself:
//  - the first turn of a chat about an image is the vlm fixture's one_image case (tokens and greedy reply);
//  - after every turn, the state the chat keeps for the next one equals a fresh evaluation of the whole
//    rendered conversation (its ids render to the template's text; logits of a following turn within the
//    prefill/incremental bound; greedy continuations identical), through each way a reply ends: eos, stop
//    string, length and a full context.
#include <gtest/gtest.h>

#include "autoneural/llm.h"
#include "format/gguf.h"
#include "test_util.h"

namespace autoneural {
namespace {

constexpr int64_t kVocab = 640;
const char* kSystem = "You are a helpful automotive assistant.";

GenerateOptions greedy(int n, std::vector<std::string> stop = {}) {
  GenerateOptions o;
  o.max_tokens = n;
  o.sampling.temperature = 0;
  o.stop = std::move(stop);
  return o;
}

SessionOptions f32_cache(int64_t n_ctx = 1024) { return {n_ctx, 16, CacheType::F32}; }

TEST(ChatReference, FirstTurnAboutAnImageIsTheOneImageCase) {
  const std::string vlm = test::fixture("vlm/autoneural-tiny/");
  auto model = Model::load(vlm + "hf");
  const auto want = test::npy_i32(vlm + "ref/one_image.greedy.npy");
  Chat chat(model, f32_cache(4096), kSystem);
  const auto r = chat.send("<image>\nIs the driver looking at the road?",
                           {Image::load(test::fixture("vision/mnv5-tiny/images/cockpit.png"))},
                           greedy(static_cast<int>(want.size())));
  EXPECT_EQ(r.tokens, want);
  EXPECT_EQ(r.stop_reason, "length");
  // The state holds the reference prompt ids, then the reply (all but its last token, not yet evaluated).
  const auto prompt = test::npy_i32(vlm + "ref/one_image.tokens.npy");
  const auto& h = chat.session().history();
  ASSERT_EQ(h.size(), prompt.size() + want.size() - 1);
  EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), h.begin()));
  EXPECT_TRUE(std::equal(want.begin(), want.end() - 1, h.begin() + static_cast<std::ptrdiff_t>(prompt.size())));
}

// The text model with `id` as its end-of-sequence token (tokenizer.ggml.eos_token_id; the weights are
// unchanged): greedy decoding then ends a reply with "eos" where the model produces `id`. (A random model
// practically never produces <|im_end|> itself.)
std::string model_ending_at(const test::TempDir& dir, int32_t id) {
  const auto in = format::GgufFile::open(test::lfm2_tiny("model-f32.gguf"));
  format::GgufWriter out;
  for (const auto& [key, value] : in.metadata()) out.set(key, value);
  out.set("tokenizer.ggml.eos_token_id", format::GgufValue::make_u32(static_cast<uint32_t>(id)));
  for (const auto& t : in.tensors()) out.add_tensor(t.name, t.type, t.ne, t.data, t.nbytes);
  const std::string path = dir.file("eos-" + std::to_string(id) + ".gguf");
  out.write(path);
  return path;
}

// Checks the state `chat` keeps after a turn that ended with `r`. Returns whether the next turn may reuse
// it: only if the reply's tokens are exactly the text the conversation keeps (it ended at eos or the length
// limit, holds no control tokens and only valid UTF-8, which the text would show as U+FFFD).
bool expect_state_matches_fresh(const std::shared_ptr<Model>& model, Chat& chat, const GenerateResult& r,
                                const std::string& what) {
  SCOPED_TRACE(what);
  Session& s = chat.session();
  const std::vector<int32_t> history = s.history();
  EXPECT_EQ(static_cast<int64_t>(history.size()), s.n_past());
  const bool reusable = (r.stop_reason == "eos" || r.stop_reason == "length") &&
                        model->detokenize(r.tokens, false) == r.text && model->detokenize(r.tokens, true) == r.text;

  // 1. The ids are the conversation as the template renders it, up to the reply the state holds: the
  //    whole reply after eos; otherwise all but the last token, which was sampled but not evaluated (after
  //    a stop string, the tokens as sampled although the text the conversation keeps ends before the stop
  //    string, so the next turn starts from scratch).
  const std::string rendered = model->apply_chat_template(chat.messages(), false);
  const std::string end_of_turn = "<|im_end|>\n";
  if (rendered.size() < r.text.size() + end_of_turn.size()) {
    ADD_FAILURE() << "the rendered conversation is shorter than the reply";
    return false;
  }
  EXPECT_EQ(rendered.substr(rendered.size() - r.text.size() - end_of_turn.size()), r.text + end_of_turn);
  const std::string before_reply = rendered.substr(0, rendered.size() - r.text.size() - end_of_turn.size());
  std::vector<int32_t> held = r.tokens;
  if (r.stop_reason != "eos") held.pop_back();
  EXPECT_EQ(model->detokenize(history, true), before_reply + model->detokenize(held, true));

  // 2. A following turn on the kept state and on a fresh prefill of the same ids: logits within the
  //    prefill/incremental bound of test_lfm2.cpp, the same greedy continuation.
  const auto probe = model->tokenize("<|im_end|>\n<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n", false, true);
  if (s.n_past() + static_cast<int64_t>(probe.size()) + 8 > s.n_ctx()) return reusable;  // a full context
  const SessionSnapshot kept = s.snapshot();
  const auto on_state = s.decode(probe, true);
  const auto cont_state = test::greedy_tokens(s, std::vector<float>(on_state.end() - kVocab, on_state.end()), 8);
  s.restore(kept);
  Session fresh(model, f32_cache(s.n_ctx()));
  fresh.decode(history);
  const auto on_fresh = fresh.decode(probe, true);
  const auto d = test::compare(on_state, on_fresh, kVocab);
  EXPECT_LE(d.max_abs, 1e-4 * d.max_ref);
  EXPECT_EQ(d.top1_agree, 1.0);
  EXPECT_EQ(cont_state, test::greedy_tokens(fresh, std::vector<float>(on_fresh.end() - kVocab, on_fresh.end()), 8));
  EXPECT_EQ(s.history(), history);  // restored
  return reusable;
}

std::shared_ptr<Model> text_model() { return Model::load(test::lfm2_tiny("model-f32.gguf")); }

TEST(ChatState, TurnsKeepAStateEqualToAFreshEvaluation) {
  auto model = text_model();
  Chat chat(model, f32_cache(), kSystem);
  // The random model's replies hold bytes that are not UTF-8 in some turns and only text in others.
  const std::vector<std::string> turns{"Hello", "What is the speed?", "And the fuel?", "Thanks.", "Open the window", "play music", "navigate home", "yes", "no"};
  int reused_turns = 0, recomputed_turns = 0;
  bool reusable = false;
  int64_t held = 0;
  for (size_t i = 0; i < turns.size(); ++i) {
    const auto r = chat.send(turns[i], {}, greedy(8));
    ASSERT_TRUE(r.stop_reason == "length" || r.stop_reason == "eos") << r.stop_reason;
    if (i > 0) {
      EXPECT_EQ(chat.reused_tokens(), reusable ? held : 0) << "turn " << i + 1;
      (reusable ? reused_turns : recomputed_turns)++;
    }
    reusable = expect_state_matches_fresh(model, chat, r, "turn " + std::to_string(i + 1));
    held = chat.session().n_past();
  }
  // Both ways of starting a turn were taken.
  EXPECT_GT(reused_turns, 0);
  EXPECT_GT(recomputed_turns, 0);
}

TEST(ChatState, TurnsEndingAtEosKeepAStateEqualToAFreshEvaluation) {
  test::TempDir dir;
  // The reply the model gives; its fifth token becomes the end-of-sequence token.
  Chat probe(text_model(), f32_cache(), kSystem);
  const auto full = probe.send("What is the speed?", {}, greedy(8));
  const int32_t end = full.tokens[4];
  const size_t first = std::find(full.tokens.begin(), full.tokens.end(), end) - full.tokens.begin();
  auto model = Model::load(model_ending_at(dir, end));
  Chat chat(model, f32_cache(), kSystem);
  const auto r1 = chat.send("What is the speed?", {}, greedy(64));
  ASSERT_EQ(r1.stop_reason, "eos");
  EXPECT_EQ(r1.tokens, std::vector<int32_t>(full.tokens.begin(), full.tokens.begin() + first));
  const bool reusable = expect_state_matches_fresh(model, chat, r1, "turn 1 (eos)");
  const int64_t held = chat.session().n_past();
  const auto r2 = chat.send("And the fuel?", {}, greedy(6));
  EXPECT_EQ(chat.reused_tokens(), reusable ? held : 0);
  expect_state_matches_fresh(model, chat, r2, "turn 2");
}

TEST(ChatState, ATurnCutByAStopStringIsRecomputedFromTheConversation) {
  auto model = text_model();
  Chat probe(model, f32_cache(), kSystem);
  const auto full = probe.send("What is the speed?", {}, greedy(12));
  // Stop at the text of the fourth token: the reply keeps what came before it.
  const std::string stop = model->detokenize({full.tokens[3]}, false);
  ASSERT_FALSE(stop.empty());
  Chat chat(model, f32_cache(), kSystem);
  const auto r1 = chat.send("What is the speed?", {}, greedy(12, {stop}));
  ASSERT_EQ(r1.stop_reason, "stop_string");
  EXPECT_EQ(r1.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_FALSE(expect_state_matches_fresh(model, chat, r1, "turn 1 (stop string)"));
  const auto r2 = chat.send("And the fuel?", {}, greedy(6));
  EXPECT_EQ(chat.reused_tokens(), 0);  // the state held the stop string, the conversation does not
  expect_state_matches_fresh(model, chat, r2, "turn 2");
}

TEST(ChatState, ATurnEndingAtAFullContextKeepsItsStateAndTheNextTurnIsRefused) {
  auto model = text_model();
  std::vector<ChatMessage> messages{{"system", kSystem}, {"user", "What is the speed?"}};
  const auto prompt = model->tokenize(model->apply_chat_template(messages, true), false, true);
  const int64_t n_ctx = static_cast<int64_t>(prompt.size()) + 5;
  Chat chat(model, f32_cache(n_ctx), kSystem);
  const auto r1 = chat.send("What is the speed?", {}, greedy(64));
  ASSERT_EQ(r1.stop_reason, "context");
  EXPECT_EQ(chat.session().n_past(), n_ctx);
  expect_state_matches_fresh(model, chat, r1, "turn 1 (context full)");
  // The reply fills the context: the same ids as greedy decoding of the prompt in a fresh session.
  Session fresh(model, f32_cache(n_ctx));
  EXPECT_EQ(test::greedy_tokens(fresh, fresh.decode(prompt), r1.tokens.size()), r1.tokens);
  const auto before = chat.messages();
  test::expect_error([&] { chat.send("And the fuel?", {}, greedy(4)); }, "context");
  EXPECT_EQ(chat.messages().size(), before.size());
}

}  // namespace
}  // namespace autoneural
