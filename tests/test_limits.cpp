// Bounded resources (issue 10, item 4): thread counts, text inputs, context lengths, KV memory and image
// data are limited with clear messages, and nothing blocks on a FIFO.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/mapped_file.h"
#include "image/image.h"
#include "test_util.h"

namespace autoneural {
namespace {

TEST(Limits, ThreadsAreCappedAtFourPerCore) {
  const int limit = max_threads();
  EXPECT_GE(limit, 4);
  test::expect_error([&] { Model::load(test::lfm2_tiny("model-f32.gguf"), {.n_threads = limit + 1}); },
                     "threads is more than the limit of " + std::to_string(limit));
  EXPECT_NO_THROW(Model::load(test::lfm2_tiny("model-f32.gguf"), {.n_threads = limit}));
  const auto r = test::run_cli("generate -m " + test::lfm2_tiny("model-f32.gguf") + " -p hi -n 1 -t 100000");
  EXPECT_NE(r.out.find("more than the limit"), std::string::npos) << r.out;
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

TEST(Limits, TextInputsAreBoundedAndFifosRefusedWithoutBlocking) {
  test::TempDir dir;
  // A sparse file just over the limit: refused from its size, never read.
  const std::string big = dir.file("big.txt");
  { std::ofstream(big) << "x"; }
  std::filesystem::resize_file(big, format::kMaxTextFileBytes + 1);
  test::expect_error([&] { format::read_text_file(big); }, "more than the limit of 67108864 bytes for a text input");
  const auto r = test::run_cli("tokenize -m " + test::lfm2_tiny("model-f32.gguf") + " --file " + big);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("more than the limit"), std::string::npos) << r.out;
  // A FIFO with no writer: an open() without O_NONBLOCK would wait forever.
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  test::expect_error([&] { format::read_text_file(fifo); }, "not a regular file");
  test::expect_error([&] { format::MappedFile f(fifo); }, "not a regular file");
  const auto g = test::run_cli("generate -m " + test::lfm2_tiny("model-f32.gguf") + " -f " + fifo);
  EXPECT_EQ(g.exit_code, 1) << g.out;
  EXPECT_NE(g.out.find("not a regular file"), std::string::npos) << g.out;
}

TEST(Limits, ContextAboveTheTrainedLengthNeedsForceAndIsNotFilledUpFront) {
  auto model = Model::load(test::lfm2_tiny("model-f32.gguf"), {.n_threads = 2});
  const int64_t trained = model->info().context_train;
  ASSERT_GT(trained, 0);
  test::expect_error([&] { Session s(model, {.n_ctx = trained + 1}); },
                     "is more than the " + std::to_string(trained) + " positions the model was trained on");
  EXPECT_NO_THROW(Session(model, {.n_ctx = trained}));
  const auto refused = test::run_cli("generate -m " + test::lfm2_tiny("model-f32.gguf") + " -p hi -n 1 -c 40000000");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("--ctx-force"), std::string::npos) << refused.out;
  // Forced, a context of 2M positions reserves its KV cache but touches only the positions used.
  const auto r = test::run_cli("bench -m " + test::lfm2_tiny("model-f32.gguf") +
                               " -p 8 -n 2 -r 1 -t 2 -c 2000000 --ctx-force --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  const double kv_mb = j["state_kv_bytes_allocated"].get<double>() / (1024.0 * 1024.0);
  EXPECT_GT(kv_mb, 500.0);  // what zero-filling would have cost
  EXPECT_LT(j["peak_rss_mb"].get<double>(), kv_mb / 2) << r.out;
}

TEST(Limits, TruncatedBmpAndPpmAreErrorsNotPadding) {
  const int w = 5, h = 3;
  std::string ppm = "P6\n# a comment\n5 3\n255\n";
  for (int i = 0; i < w * h * 3; ++i) ppm += static_cast<char>(i * 5);
  const auto* p = reinterpret_cast<const uint8_t*>(ppm.data());
  EXPECT_NO_THROW(image::decode_image(p, ppm.size(), "full.ppm"));
  test::expect_error([&] { image::decode_image(p, ppm.size() - 4, "cut.ppm"); }, "cut.ppm: truncated image");
  const int row = (w * 3 + 3) / 4 * 4;
  std::vector<uint8_t> bmp(54 + row * h, 0);
  const auto put32 = [&](size_t at, uint32_t v) {
    for (int b = 0; b < 4; ++b) bmp[at + b] = static_cast<uint8_t>(v >> (8 * b));
  };
  bmp[0] = 'B';
  bmp[1] = 'M';
  put32(2, static_cast<uint32_t>(bmp.size()));
  put32(10, 54);
  put32(14, 40);
  put32(18, w);
  put32(22, h);
  bmp[26] = 1;
  bmp[28] = 24;
  EXPECT_NO_THROW(image::decode_image(bmp.data(), bmp.size(), "full.bmp"));
  test::expect_error([&] { image::decode_image(bmp.data(), bmp.size() - row, "cut.bmp"); }, "cut.bmp: truncated image");
}

}  // namespace
}  // namespace autoneural
