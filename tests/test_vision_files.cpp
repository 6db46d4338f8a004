// Vision model files: our vision GGUF converted from the AutoNeural fixture reproduces timm's references,
// random models round-trip in both of our formats (ours and llama.cpp's gemma3nv mmproj, whose block list is
// inferred from tensor shapes), the Gemma 3n embedder computes what §2 says, and mismatched files fail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "autoneural/llm.h"
#include "format/gguf.h"
#include "format/half.h"
#include "format/mapped_file.h"
#include "model/vision_export.h"
#include "model/vision_loader.h"
#include "test_util.h"

namespace autoneural {
namespace {

std::string mnv5(const std::string& rel) { return test::fixture("vision/mnv5-tiny/" + rel); }
std::string vlm(const std::string& rel) { return test::fixture("vlm/autoneural-tiny/" + rel); }

model::MobileNetV5Config tiny_config() {
  auto src = model::WeightSource::open(vlm("hf"), nullptr);
  return model::read_vision_metadata(*src).encoder;
}

ImageEmbedding encode_npy(const Model& m, const std::string& pixels, VisionStage stage) {
  const auto a = format::read_npy(mnv5("ref/" + pixels));
  return m.encode_pixels(a.f32, static_cast<int>(a.shape[1]), static_cast<int>(a.shape[2]), stage);
}

TEST(VisionFiles, ConvertedVisionGgufMatchesTimm) {
  test::TempDir dir;
  model::convert_autoneural_hf(vlm("hf"), dir.file("text.gguf"), dir.file("vision.gguf"), TensorType::F32,
                               TensorType::F32);
  auto vision = Model::load(dir.file("vision.gguf"));  // a vision file alone encodes images
  EXPECT_FALSE(vision->has_language_model());
  EXPECT_EQ(vision->vision_info().tokens_per_image, 64);
  for (const char* input : {"random_input_256", "random_input_192", "cockpit", "newspaper"}) {
    const std::string name = input;
    const std::string pixels = name.rfind("random", 0) == 0 ? name + ".npy" : name + ".pixels.npy";
    for (auto [stage, ref] : {std::pair{VisionStage::Tower, ".tokens.npy"}, std::pair{VisionStage::Connector, ".connector.npy"}}) {
      const auto e = encode_npy(*vision, pixels, stage);
      const auto want = test::npy_f32(mnv5(std::string("ref/") + input + ref));
      const auto d = test::compare(e.rows, want, e.dim);
      EXPECT_LE(d.max_abs, 1e-4 * d.max_ref) << input << ref;
    }
  }
  // And from the image files themselves (decode + Pillow-exact resize + encoder + connector).
  for (const char* name : {"cockpit.png", "newspaper.jpg"}) {
    const auto e = vision->encode_image(Image::load(mnv5(std::string("images/") + name)));
    const std::string base = std::string(name).substr(0, std::string(name).find('.'));
    const auto want = test::npy_f32(mnv5("ref/" + base + ".connector.npy"));
    const auto d = test::compare(e.rows, want, e.dim);
    EXPECT_LE(d.max_abs, 1e-4 * d.max_ref) << name;
  }
  // The metadata written describes the same encoder.
  const auto g = format::GgufFile::open(dir.file("vision.gguf"));
  const auto cfg = model::mobilenetv5_config_from_gguf(g);
  const auto orig = tiny_config();
  ASSERT_EQ(cfg.stages.size(), orig.stages.size());
  for (size_t s = 0; s < cfg.stages.size(); ++s)
    for (size_t i = 0; i < cfg.stages[s].size(); ++i) EXPECT_EQ(cfg.stages[s][i].text, orig.stages[s][i].text);
  EXPECT_EQ(cfg.parameter_count(), 243376);  // the fixture README's vision parameter count
  EXPECT_EQ(g.get_string("autoneural.projector.type"), "mlp2");
  EXPECT_EQ(g.get_int("autoneural.image.token_id"), 8);
  // Q8_0 vision weights (2-D rows) still run, close to float.
  model::convert_autoneural_hf(vlm("hf"), dir.file("t8.gguf"), dir.file("v8.gguf"), TensorType::F32, TensorType::Q8_0);
  auto v8 = Model::load(dir.file("v8.gguf"));
  const auto q = encode_npy(*v8, "random_input_256.npy", VisionStage::Tower);
  const auto d = test::compare(q.rows, test::npy_f32(mnv5("ref/random_input_256.tokens.npy")), 96);
  EXPECT_LT(d.rel_rms, 0.05) << "Q8_0 weights with Q8_0 activations, 13 blocks deep";
}

TEST(VisionFiles, RandomModelsRoundTripInBothFormats) {
  test::TempDir dir;
  const auto cfg = tiny_config();
  model::RandomVisionOptions o;
  o.type = TensorType::F16;
  o.image_size = 256;
  o.seed = 7;
  model::make_random_vision(cfg, 128, o, dir.file("ours.gguf"));
  o.llama_cpp_mmproj = true;
  model::make_random_vision(cfg, 128, o, dir.file("mmproj.gguf"));
  model::make_random_vision(cfg, 128, o, dir.file("mmproj2.gguf"));
  EXPECT_EQ(format::read_text_file(dir.file("mmproj.gguf")), format::read_text_file(dir.file("mmproj2.gguf")));

  auto src = model::WeightSource::open(dir.file("mmproj.gguf"), nullptr);
  const auto info = model::read_vision_metadata(*src);
  EXPECT_EQ(info.connector.kind, model::ConnectorKind::Gemma3nEmbedder);
  ASSERT_EQ(info.encoder.stages.size(), cfg.stages.size());
  for (size_t s = 0; s < cfg.stages.size(); ++s) {
    ASSERT_EQ(info.encoder.stages[s].size(), cfg.stages[s].size());
    for (size_t i = 0; i < cfg.stages[s].size(); ++i)
      EXPECT_EQ(info.encoder.stages[s][i].text, cfg.stages[s][i].text) << s << "." << i;
  }
  EXPECT_EQ(info.encoder.msfa_output_resolution, 8);

  // Both files hold the same tower (same seed, drawn in the same order): equal tower outputs up to f16
  // storage of the depthwise kernels in llama.cpp's format.
  auto ours = Model::load(dir.file("ours.gguf"));
  auto theirs = Model::load(test::lfm2_tiny("model-f32.gguf"), {.mmproj = dir.file("mmproj.gguf")});
  const auto a = encode_npy(*ours, "random_input_256.npy", VisionStage::Tower);
  const auto b = encode_npy(*theirs, "random_input_256.npy", VisionStage::Tower);
  EXPECT_LT(test::compare(b.rows, a.rows, a.dim).rel_rms, 1e-2);

  // The Gemma 3n embedder (§2): ×√C, RMSNorm with weight, Linear without bias, RMSNorm without weight.
  const auto got = encode_npy(*theirs, "random_input_256.npy", VisionStage::Connector);
  ASSERT_EQ(got.dim, 128);
  auto gsrc = model::WeightSource::open(dir.file("mmproj.gguf"), nullptr);
  std::vector<float> norm_w(96), proj(96 * 128);

  {
    const auto& nw = gsrc->require("mm.soft_emb_norm.weight", {96});
    const auto& pw = gsrc->require("mm.input_projection.weight", {96, 128});
    ASSERT_EQ(nw.type, TensorType::F32);
    std::memcpy(norm_w.data(), nw.data, 96 * sizeof(float));
    ASSERT_EQ(pw.type, TensorType::F16);
    for (int i = 0; i < 96 * 128; ++i) {
      uint16_t h;
      std::memcpy(&h, pw.data + 2 * i, 2);
      proj[i] = fp16_to_f32(h);
    }
  }
  double worst = 0;
  for (int64_t t = 0; t < b.n_tokens; ++t) {
    std::vector<double> x(96), y(128, 0.0);
    double ss = 0;
    for (int c = 0; c < 96; ++c) x[c] = b.rows[t * 96 + c] * std::sqrt(96.0), ss += x[c] * x[c];
    const double inv = 1.0 / std::sqrt(ss / 96 + 1e-6);
    for (int c = 0; c < 96; ++c) x[c] *= inv * norm_w[c];
    double ss2 = 0;
    for (int o2 = 0; o2 < 128; ++o2) {
      for (int c = 0; c < 96; ++c) y[o2] += proj[o2 * 96 + c] * x[c];
      ss2 += y[o2] * y[o2];
    }
    const double inv2 = 1.0 / std::sqrt(ss2 / 128 + 1e-6);
    for (int o2 = 0; o2 < 128; ++o2) worst = std::max(worst, std::fabs(y[o2] * inv2 - got.rows[t * 128 + o2]));
  }
  EXPECT_LT(worst, 1e-4);
}

TEST(VisionFiles, MismatchedFilesAreClearErrors) {
  test::TempDir dir;
  model::RandomVisionOptions o;
  o.image_size = 256;
  model::make_random_vision(tiny_config(), 64, o, dir.file("narrow.gguf"));
  test::expect_error([&] { Model::load(test::lfm2_tiny("model-f32.gguf"), {.mmproj = dir.file("narrow.gguf")}); },
                     "outputs 64-wide embeddings but the language model's hidden size is 128");
  // A text model as the vision file, and garbage block definitions.
  test::expect_error([&] { Model::load(test::lfm2_tiny("model-f32.gguf"), {.mmproj = test::lfm2_tiny("model-f32.gguf")}); },
                     "has no vision encoder");
  format::GgufWriter w;
  w.set("general.architecture", format::GgufValue::make_string("autoneural-vision"));
  w.set("autoneural.vision.block_defs", format::GgufValue::make_string_array({"xx_r1_c8"}));
  w.set("autoneural.vision.stage_lengths", format::GgufValue::make_i32_array({1}));
  w.write(dir.file("bad.gguf"));
  test::expect_error([&] { Model::load(dir.file("bad.gguf")); }, "unknown block type 'xx'");
  test::expect_error([&] { Model::load(test::lfm2_tiny("model-f32.gguf"), {.mmproj = dir.file("missing.gguf")}); },
                     "missing.gguf");
}

}  // namespace
}  // namespace autoneural
