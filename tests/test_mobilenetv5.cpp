// The MobileNetV5 encoder against timm's outputs for the mnv5-tiny fixture: the tower for both images and
// four random inputs (two MSFA resize paths), every block and stage of one input, thread-count invariance,
// the built-in 300M configuration, and malformed inputs.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "format/mapped_file.h"
#include "model/mobilenetv5.h"
#include "model/vision_loader.h"
#include "backend/float_backend.h"
#include "test_util.h"

namespace autoneural {
namespace {

std::string mnv5(const std::string& rel) { return test::fixture("vision/mnv5-tiny/" + rel); }

model::MobileNetV5Config tiny_config() {
  const auto j = nlohmann::json::parse(format::read_text_file(mnv5("hf/config.json")));
  return model::mobilenetv5_config_from_hf_json(j["vision_config"].dump(), "config.json");
}

std::unique_ptr<model::MobileNetV5> tiny_encoder() {
  auto w = format::WeightSource::open(mnv5("hf"), &model::mobilenetv5_hf_to_gguf_name);
  return std::make_unique<model::MobileNetV5>(w, tiny_config());
}

// A reference CHW array as channels-last rows.
std::vector<float> chw_to_hwc(const std::vector<float>& chw, int64_t c) {
  const int64_t n = static_cast<int64_t>(chw.size()) / c;
  std::vector<float> out(chw.size());
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t p = 0; p < n; ++p) out[p * c + ch] = chw[ch * n + p];
  return out;
}

// The README's tolerance: max|diff| <= 1e-4 * max|ref|.
void expect_close(const std::vector<float>& got, const std::vector<float>& ref, int64_t cols, const std::string& what) {
  const auto d = test::compare(got, ref, cols);
  EXPECT_LE(d.max_abs, 1e-4 * d.max_ref) << what << " max|diff| " << d.max_abs << " max|ref| " << d.max_ref;
  std::cout << "  " << what << ": max|diff|/max|ref| " << d.max_abs / d.max_ref << "\n";
}

std::vector<float> encode(const model::MobileNetV5& enc, const std::string& pixels, int threads,
                          const model::FeatureTap& tap = {}) {
  const auto a = format::read_npy(mnv5("ref/" + pixels));
  backend::FloatBackend be(threads);
  std::vector<float> out(static_cast<size_t>(enc.tokens() * enc.out_channels()));
  enc.encode(be, a.f32.data(), a.shape[1], a.shape[2], out.data(), tap);
  return out;
}

TEST(MobileNetV5, TowerMatchesTimmForImagesAndRandomInputs) {
  auto enc = tiny_encoder();
  EXPECT_EQ(enc->tokens(), 64);
  EXPECT_EQ(enc->out_channels(), 96);
  for (const char* name : {"cockpit", "newspaper", "random_input_256", "random_input_192", "random_input_384",
                           "random_input_224"}) {
    const std::string base = name;
    const std::string pixels = base.rfind("random", 0) == 0 ? base + ".npy" : base + ".pixels.npy";
    expect_close(encode(*enc, pixels, 2), test::npy_f32(mnv5("ref/" + base + ".tokens.npy")), 96, base + " tower");
  }
}

TEST(MobileNetV5, EveryBlockAndStageMatchesTimm) {
  auto enc = tiny_encoder();
  std::map<std::string, std::vector<float>> got;
  std::map<std::string, int64_t> channels;
  encode(*enc, "random_input_256.npy", 2, [&](std::string_view name, const float* d, int64_t h, int64_t w, int64_t c) {
    got[std::string(name)].assign(d, d + h * w * c);
    channels[std::string(name)] = c;
  });
  std::map<std::string, std::string> refs = {{"stem", "stem"},         {"stage.0", "stage0"},
                                             {"stage.1", "stage1"},    {"stage.2", "stage2"},
                                             {"stage.3", "stage3"},    {"msfa.concat", "msfa_concat"},
                                             {"msfa.ffn", "msfa_ffn"}, {"msfa.resized", "msfa_resized"}};
  for (const char* b : {"0.0", "1.0", "1.1", "2.0", "2.1", "2.2", "2.3", "3.0", "3.1"})
    refs[std::string("blk.") + b] = std::string("block.") + b;
  for (const auto& [tap, ref] : refs) {
    ASSERT_TRUE(got.count(tap)) << tap;
    const int64_t c = channels[tap];
    expect_close(got[tap], chw_to_hwc(test::npy_f32(mnv5("ref/random_input_256." + ref + ".npy")), c), c, tap);
  }
}

TEST(MobileNetV5, ResultDoesNotDependOnTheThreadCount) {
  auto enc = tiny_encoder();
  EXPECT_EQ(encode(*enc, "random_input_224.npy", 1), encode(*enc, "random_input_224.npy", 2));
}

TEST(MobileNetV5Config, BlockStringsParse) {
  auto b = model::parse_vision_block("uir_r2_a3_k5_s2_e6_c256");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].kind, model::VisionBlockKind::UniversalInvertedResidual);
  EXPECT_EQ(b[0].dw_start, 3);
  EXPECT_EQ(b[0].dw_mid, 5);
  EXPECT_EQ(b[0].stride, 2);
  EXPECT_EQ(b[1].stride, 1);  // only the first repeat is strided
  EXPECT_EQ(b[0].text, "uir_r1_a3_k5_s2_e6_c256");
  EXPECT_EQ(b[1].text, "uir_r1_a3_k5_s1_e6_c256");
  EXPECT_EQ(b[0].out_channels, 256);
  auto m = model::parse_vision_block("mqa_r1_k3_h12_v2_s1_d64_c640")[0];
  EXPECT_EQ(m.heads, 12);
  EXPECT_EQ(m.kv_stride, 2);
  EXPECT_EQ(m.key_dim, 64);
  auto e = model::parse_vision_block("er_r1_k3_s2_e4_c128")[0];
  EXPECT_EQ(e.kind, model::VisionBlockKind::EdgeResidual);
  EXPECT_EQ(e.kernel, 3);
  EXPECT_DOUBLE_EQ(e.expansion, 4.0);
  for (const char* bad : {"xx_r1_c8", "er_r1_s2_c8", "uir_r1_a4_k0_s1_e1_c8", "mqa_r1_h2_s1_c8", "uir_r1_a3_s3_c8",
                          "er_r1_k3_s1_e4", "uir_r1_a3_k0_s1_eX_c8", "uir_r1_zz_c8", ""})
    test::expect_error([&] { model::parse_vision_block(bad); }, "invalid MobileNetV5 block definition");
  EXPECT_EQ(model::MobileNetV5Config::mid_channels(128, 4.0), 512);
  EXPECT_EQ(model::MobileNetV5Config::mid_channels(1920, 2.0), 3840);
  EXPECT_EQ(model::MobileNetV5Config::mid_channels(20, 1.0), 24);  // rounds to 8, bumped past the 10% rule
}

TEST(MobileNetV5Config, Builtin300mIsTheReferenceArchitecture) {
  const auto c = model::mobilenetv5_builtin("mobilenetv5_300m_enc");
  size_t blocks = 0;
  for (const auto& s : c.stages) blocks += s.size();
  EXPECT_EQ(blocks, 84u);
  EXPECT_EQ(c.stages[0].size(), 3u);
  EXPECT_EQ(c.stages[1].size(), 5u);
  EXPECT_EQ(c.stages[2].size(), 37u);
  EXPECT_EQ(c.stages[3].size(), 39u);
  EXPECT_EQ(c.parameter_count(), 294126912);  // architecture-reference §1.6
  EXPECT_EQ(c.msfa_in_channels(), 1920);
  EXPECT_EQ(c.tokens_per_image(), 256);
  // The fixture's description of the real model parses to the same blocks.
  const auto j = nlohmann::json::parse(format::read_text_file(mnv5("hf/config-300m.json")));
  const auto f = model::mobilenetv5_config_from_hf_json(j["vision_config"].dump(), "config-300m.json");
  ASSERT_EQ(f.stages.size(), c.stages.size());
  for (size_t s = 0; s < c.stages.size(); ++s) {
    ASSERT_EQ(f.stages[s].size(), c.stages[s].size());
    for (size_t i = 0; i < c.stages[s].size(); ++i) EXPECT_EQ(f.stages[s][i].text, c.stages[s][i].text) << s << "." << i;
  }
  EXPECT_EQ(f.parameter_count(), c.parameter_count());
  test::expect_error([] { model::mobilenetv5_builtin("resnet50"); }, "unknown MobileNetV5 architecture");
}

TEST(MobileNetV5, BadInputsAreErrors) {
  auto enc = tiny_encoder();
  backend::FloatBackend be(1);
  std::vector<float> pixels(3 * 100 * 100), out(64 * 96);
  test::expect_error([&] { enc->encode(be, pixels.data(), 100, 100, out.data()); }, "multiples of 32");
  // A configuration that does not fit the file's tensors.
  auto cfg = tiny_config();
  cfg.stages[0][0].out_channels = 32;
  auto w = format::WeightSource::open(mnv5("hf"), &model::mobilenetv5_hf_to_gguf_name);
  test::expect_error([&] { model::MobileNetV5(w, cfg); }, "v.blk.0.0.conv_pwl.weight");
  EXPECT_FALSE(model::mobilenetv5_hf_to_gguf_name("model.language_model.embed_tokens.weight"));
  EXPECT_EQ(*model::mobilenetv5_hf_to_gguf_name("model.vision_tower.timm_model.blocks.2.3.attn.query.proj.weight"),
            "v.blk.2.3.attn.query.proj.weight");
}

// Found by fuzz_json (UBSan): integer fields given as huge floats were cast to integers (undefined
// behaviour); they are errors now, like any field of the wrong type.
TEST(MobileNetV5Config, IntegerFieldsOfAnotherTypeAreClearErrors) {
  auto j = nlohmann::json::parse(format::read_text_file(mnv5("hf/config.json")));
  nlohmann::json v = j["vision_config"];
  v["stem_size"] = 1e300;
  test::expect_error([&] { model::mobilenetv5_config_from_hf_json(v.dump(), "c.json"); },
                     "c.json: field 'stem_size' must be an integer");
  v = j["vision_config"];
  v["msfa_indices"] = {1.5e300, -1};
  test::expect_error([&] { model::mobilenetv5_config_from_hf_json(v.dump(), "c.json"); },
                     "c.json: field 'msfa_indices' must be an array of integers");
  v = j["vision_config"];
  v["image_size"] = int64_t(1) << 40;
  test::expect_error([&] { model::mobilenetv5_config_from_hf_json(v.dump(), "c.json"); },
                     "c.json: field 'image_size' is out of range");
  EXPECT_EQ(tiny_config().stem_size, model::mobilenetv5_config_from_hf_json(j["vision_config"].dump(), "c.json").stem_size);
}

TEST(VisionConfig, IntegerFieldsOfAnotherTypeAreClearErrors) {
  auto j = nlohmann::json::parse(format::read_text_file(test::fixture("vlm/autoneural-tiny/hf/config.json")));
  j["projector_hidden_size"] = 2.06667e+129;
  test::expect_error([&] { model::vision_info_from_hf_config(j, "/nonexistent", "config.json"); },
                     "config.json: field 'projector_hidden_size' must be an integer");
  j["projector_hidden_size"] = 128;
  j["image_token_id"] = "7";
  test::expect_error([&] { model::vision_info_from_hf_config(j, "/nonexistent", "config.json"); },
                     "config.json: field 'image_token_id' must be an integer");
}

}  // namespace
}  // namespace autoneural
