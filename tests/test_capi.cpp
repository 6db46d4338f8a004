// The C API against the same references as the C++ API, and its error paths.
#include <gtest/gtest.h>

#include <climits>

#include "autoneural.h"
#include "autoneural/llm.h"
#include "format/mapped_file.h"
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

namespace autoneural {
namespace {

// Raw RGB through the C API gives the same rows as the image file, and the rows placed at the placeholder
// positions give the reference logits of the vlm fixture.
TEST(CApi, VisionFromRawPixels) {
  char err[256] = "";
  an_model* m = an_model_load_vlm(test::fixture("vlm/autoneural-tiny/hf").c_str(), nullptr, 2, err, sizeof err);
  ASSERT_NE(m, nullptr) << err;
  ASSERT_TRUE(an_model_has_vision(m));
  const int32_t rows = an_model_image_tokens(m), d = an_model_n_embd(m);
  ASSERT_EQ(rows, 64);
  const auto image = Image::load(test::fixture("vision/mnv5-tiny/images/cockpit.png"));
  std::vector<float> from_rgb(static_cast<size_t>(rows * d)), from_file(from_rgb.size());
  ASSERT_EQ(an_image_embed_rgb(m, image.rgb.data(), image.width, image.height, 3, 0, 0, from_rgb.data(),
                               from_rgb.size(), err, sizeof err),
            rows)
      << err;
  ASSERT_EQ(an_image_embed_file(m, test::fixture("vision/mnv5-tiny/images/cockpit.png").c_str(), 0, from_file.data(),
                                from_file.size(), err, sizeof err),
            rows);
  EXPECT_EQ(from_rgb, from_file);
  // Wrong channel count and a too-small output buffer are errors, not crashes.
  EXPECT_EQ(an_image_embed_rgb(m, image.rgb.data(), image.width, image.height, 2, 0, 0, from_rgb.data(),
                               from_rgb.size(), err, sizeof err),
            -1);
  EXPECT_NE(std::string(err).find("channels"), std::string::npos) << err;
  EXPECT_EQ(an_image_embed_rgb(m, image.rgb.data(), image.width, image.height, 3, 0, 0, from_rgb.data(), 10, err,
                               sizeof err),
            -1);

  const std::string prompt = format::read_text_file(test::fixture("vlm/autoneural-tiny/ref/one_image.prompt.txt"));
  std::vector<int32_t> ids(512);
  const int32_t n = an_tokenize_with_images(m, prompt.data(), prompt.size(), false, ids.data(), 512);
  ASSERT_GT(n, 0);
  ids.resize(static_cast<size_t>(n));
  EXPECT_EQ(ids, test::npy_i32(test::fixture("vlm/autoneural-tiny/ref/one_image.tokens.npy")));
  an_session* s = an_session_new(m, 512, err, sizeof err);
  const int32_t image_token = an_model_image_token(m);
  std::vector<float> logits(static_cast<size_t>(an_model_n_vocab(m)));
  for (int32_t i = 0; i < n;) {
    int32_t j = i;
    while (j < n && (ids[j] == image_token) == (ids[i] == image_token)) ++j;
    const int32_t rc = ids[i] == image_token
                           ? an_session_eval_embd(s, from_rgb.data(), j - i, logits.data(), err, sizeof err)
                           : an_session_eval(s, ids.data() + i, j - i, logits.data(), err, sizeof err);
    ASSERT_EQ(rc, 0) << err;
    i = j;
  }
  const auto ref = test::npy_f32(test::fixture("vlm/autoneural-tiny/ref/one_image.logits.f32.npy"));
  const std::vector<float> last(ref.end() - static_cast<std::ptrdiff_t>(logits.size()), ref.end());
  EXPECT_LE(test::compare(logits, last, static_cast<int64_t>(logits.size())).max_abs, 5e-3);
  an_session_free(s);
  an_model_free(m);
}

}  // namespace
}  // namespace autoneural
