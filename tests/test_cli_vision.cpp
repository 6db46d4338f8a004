// The vision commands of the command-line tool: encode, run, logits --image, bench --image.
#include <gtest/gtest.h>

#include <fstream>

#include "test_util.h"

namespace autoneural {
namespace {

using test::quote;
using test::run_cli;

std::string mnv5(const std::string& rel) { return test::fixture("vision/mnv5-tiny/" + rel); }
std::string vlm(const std::string& rel) { return test::fixture("vlm/autoneural-tiny/" + rel); }

TEST(CliVision, EncodeWritesPixelsTowerAndConnectorOutputs) {
  test::TempDir dir;
  const std::string model = quote(mnv5("hf"));
  struct Stage {
    const char* name;
    const char* ref;
    double tol;  // relative to max|ref|
  };
  for (const Stage& st : {Stage{"pixels", "cockpit.pixels.npy", 0.0}, Stage{"tower", "cockpit.tokens.npy", 1e-4},
                          Stage{"connector", "cockpit.connector.npy", 1e-4}}) {
    const std::string out = dir.file(std::string(st.name) + ".npy");
    const auto r = run_cli("encode -m " + model + " --image " + quote(mnv5("images/cockpit.png")) + " --stage " +
                           st.name + " --out " + quote(out) + " -t 2");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto got = format::read_npy(out);
    const auto ref = format::read_npy(mnv5("ref/") + st.ref);
    EXPECT_EQ(got.shape, ref.shape) << st.name;
    const auto d = test::compare(got.f32, ref.f32, ref.shape.back());
    EXPECT_LE(d.max_abs, st.tol * d.max_ref) << st.name;
  }
  // Preprocessed pixels of another size (192, bilinear MSFA path).
  const std::string out = dir.file("r192.npy");
  const auto r = run_cli("encode -m " + model + " --pixels " + quote(mnv5("ref/random_input_192.npy")) + " --out " +
                         quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto ref = test::npy_f32(mnv5("ref/random_input_192.connector.npy"));
  const auto d = test::compare(test::npy_f32(out), ref, 128);
  EXPECT_LE(d.max_abs, 1e-4 * d.max_ref);
}

TEST(CliVision, LogitsWithImagesMatchTheReference) {
  test::TempDir dir;
  const std::string logits = dir.file("l.npy"), tokens = dir.file("t.npy");
  const auto r = run_cli("logits -m " + quote(vlm("hf")) + " --prompt-file " + quote(vlm("ref/two_images.prompt.txt")) +
                         " --no-bos --image " + quote(test::fixture("vision/mnv5-tiny/images/cockpit.png")) +
                         " --image " + quote(test::fixture("vision/mnv5-tiny/images/newspaper.jpg")) + " --out " +
                         quote(logits) + " --tokens-out " + quote(tokens));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::npy_i32(tokens), test::npy_i32(vlm("ref/two_images.tokens.npy")));
  const auto d = test::compare(test::npy_f32(logits), test::npy_f32(vlm("ref/two_images.logits.f32.npy")), 640);
  EXPECT_LE(d.max_abs, 5e-3);
  // Incremental decoding (one position per call, image rows included) gives the same logits.
  const std::string inc = dir.file("inc.npy");
  const auto r2 = run_cli("logits -m " + quote(vlm("hf")) + " --prompt-file " + quote(vlm("ref/two_images.prompt.txt")) +
                          " --no-bos --incremental --image " +
                          quote(test::fixture("vision/mnv5-tiny/images/cockpit.png")) + " --image " +
                          quote(test::fixture("vision/mnv5-tiny/images/newspaper.jpg")) + " --out " + quote(inc));
  ASSERT_EQ(r2.exit_code, 0) << r2.out;
  EXPECT_LE(test::compare(test::npy_f32(inc), test::npy_f32(logits), 640).max_abs, 1e-4);
}

TEST(CliVision, RunAnswersAboutAnImage) {
  const auto r = run_cli("run -m " + quote(vlm("hf")) + " --image " +
                         quote(test::fixture("vision/mnv5-tiny/images/cockpit.png")) +
                         " -p 'Is the driver looking at the road?' --temp 0 -n 8 -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("images: 1 encoded"), std::string::npos) << r.out;
  // Interactive chat: an image attached with /image, two turns, the second reusing the first.
  test::TempDir dir;
  const std::string input = dir.file("chat.txt");
  {
    std::ofstream f(input);
    f << "/image " << test::fixture("vision/mnv5-tiny/images/cockpit.png") << "\nWhat is this?\nAnd now?\n/exit\n";
  }
  const auto c = run_cli("run -m " + quote(vlm("hf")) + " --temp 0 -n 4 < " + quote(input));
  EXPECT_EQ(c.exit_code, 0) << c.out;
  EXPECT_NE(c.out.find("attached"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("(reused 0 tokens"), std::string::npos) << c.out;
  const auto second = c.out.rfind("(reused ");
  ASSERT_NE(second, std::string::npos);
  EXPECT_GT(std::stoll(c.out.substr(second + 8)), 64) << c.out;
}

TEST(CliVision, BadInputIsAClearError) {
  test::TempDir dir;
  const std::string bad = dir.file("bad.png");
  {
    std::ofstream f(bad, std::ios::binary);
    f << "\x89PNG\r\n\x1a\n truncated";
  }
  auto r = run_cli("run -m " + quote(vlm("hf")) + " --image " + quote(bad) + " -p hi");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("error:"), std::string::npos) << r.out;
  r = run_cli("run -m " + quote(vlm("hf")) + " --image " + quote(dir.file("missing.jpg")) + " -p hi");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = run_cli("logits -m " + quote(vlm("hf")) + " --prompt-file " + quote(vlm("ref/two_images.prompt.txt")) +
              " --image " + quote(test::fixture("vision/mnv5-tiny/images/cockpit.png")) + " --out " +
              quote(dir.file("x.npy")));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("2 <image> marker(s) but 1"), std::string::npos) << r.out;
  r = run_cli("encode -m " + quote(mnv5("hf")) + " --pixels " + quote(mnv5("ref/cockpit.tokens.npy")) + " --out " +
              quote(dir.file("x.npy")));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = run_cli("encode -m " + quote(mnv5("hf")) + " --image " + quote(mnv5("images/cockpit.png")) + " --size 100 --out " +
              quote(dir.file("x.npy")));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = run_cli("run -m " + quote(test::lfm2_tiny("model-f32.gguf")) + " --image " +
              quote(mnv5("images/cockpit.png")) + " -p hi");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no vision encoder"), std::string::npos) << r.out;
  // More image tokens than the context holds.
  r = run_cli("run -m " + quote(vlm("hf")) + " -c 64 --image " + quote(mnv5("images/cockpit.png")) + " -p hi");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("context"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace autoneural
