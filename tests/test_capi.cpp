// The C API against the same references as the C++ API, and its error paths.
#include <gtest/gtest.h>

#include <climits>

#include "autoneural.h"
#include "test_util.h"

namespace autoneural {
namespace {

using test::lfm2_tiny;

TEST(CApi, TokenizeEvalSample) {
  char err[256] = {};
  an_model* m = an_model_load(lfm2_tiny("model-f32.gguf").c_str(), 2, err, sizeof err);
  ASSERT_NE(m, nullptr) << err;
  EXPECT_EQ(an_model_n_vocab(m), 640);
  EXPECT_EQ(an_model_n_embd(m), 128);
  EXPECT_EQ(an_token_bos(m), 1);
  EXPECT_TRUE(an_token_is_eog(m, an_token_eos(m)));

  const std::string text = "The quick brown fox";
  const int32_t needed = an_tokenize(m, text.data(), text.size(), true, false, nullptr, 0);
  ASSERT_LT(needed, 0);
  std::vector<int32_t> ids(static_cast<size_t>(-needed));
  ASSERT_EQ(an_tokenize(m, text.data(), text.size(), true, false, ids.data(), -needed), -needed);
  EXPECT_EQ(ids[0], 1);

  std::string round;
  for (size_t i = 1; i < ids.size(); ++i) {
    char buf[64];
    const int32_t n = an_token_to_piece(m, ids[i], true, buf, sizeof buf);
    ASSERT_GE(n, 0);
    round.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(round, text);

  // The "plain" reference: last-position logits through the C API equal the C++ reference.
  const auto tokens = test::npy_i32(lfm2_tiny("ref/plain.tokens.npy"));
  const auto ref = test::npy_f32(lfm2_tiny("ref/plain.logits.f32.npy"));
  an_session* s = an_session_new(m, 256, err, sizeof err);
  ASSERT_NE(s, nullptr) << err;
  std::vector<float> logits(640);
  ASSERT_EQ(an_session_eval(s, tokens.data(), static_cast<int32_t>(tokens.size()), logits.data(), err, sizeof err), 0) << err;
  EXPECT_EQ(an_session_n_past(s), static_cast<int32_t>(tokens.size()));
  std::vector<float> last(ref.end() - 640, ref.end());
  const auto d = test::compare(logits, last, 640);
  EXPECT_LE(d.max_abs, 1e-4 * d.max_ref);

  an_sampler* greedy = an_sampler_new(0.0f, 0, 1.0f, 0.0f, 1.0f, 1);
  const int32_t next = an_sampler_sample(greedy, logits.data(), 640, tokens.data(), static_cast<int32_t>(tokens.size()));
  EXPECT_EQ(next, test::npy_i32(lfm2_tiny("ref/plain.greedy.npy"))[0]);
  an_sampler_free(greedy);

  // Errors: context overflow leaves the session usable and says why.
  std::vector<int32_t> many(300, 20);
  EXPECT_EQ(an_session_eval(s, many.data(), 300, nullptr, err, sizeof err), -1);
  EXPECT_NE(std::string(err).find("context"), std::string::npos);
  EXPECT_EQ(an_session_n_past(s), static_cast<int32_t>(tokens.size()));
  const int32_t bad_id = 999;
  EXPECT_EQ(an_session_eval(s, &bad_id, 1, nullptr, err, sizeof err), -1);
  EXPECT_EQ(an_token_to_piece(m, 5000, true, nullptr, 0), INT32_MIN);
  an_session_reset(s);
  EXPECT_EQ(an_session_n_past(s), 0);
  an_session_free(s);
  an_model_free(m);
}

TEST(CApi, LoadErrors) {
  char err[256] = {};
  EXPECT_EQ(an_model_load("/nonexistent/file.gguf", 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("no such file"), std::string::npos) << err;
  EXPECT_EQ(an_model_load(nullptr, 1, err, sizeof err), nullptr);
  EXPECT_EQ(an_model_load("/nonexistent", 1, nullptr, 0), nullptr);  // no error buffer: still no crash
  EXPECT_EQ(an_session_new(nullptr, 0, err, sizeof err), nullptr);
}

}  // namespace
}  // namespace autoneural
