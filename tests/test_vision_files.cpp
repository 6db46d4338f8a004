// Vision model files: our vision GGUF converted from the AutoNeural fixture reproduces timm's references,
// random models round-trip in both of our formats (ours and llama.cpp's gemma3nv mmproj, whose block list is
// inferred from tensor shapes), the Gemma 3n embedder computes what §2 says, and mismatched files fail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autoneural/llm.h"
#include "format/gguf.h"
#include "format/half.h"
#include "format/mapped_file.h"
#include "model/connector_config.h"
#include "model/lfm2_config.h"
#include "model/mobilenetv5.h"
#include "convert/vision_export.h"
#include "model/vision_loader.h"
#include "test_util.h"

namespace autoneural {
namespace {

std::string mnv5(const std::string& rel) { return test::fixture("vision/mnv5-tiny/" + rel); }
std::string vlm(const std::string& rel) { return test::fixture("vlm/autoneural-tiny/" + rel); }

model::MobileNetV5Config tiny_config() {
  auto src = format::WeightSource::open(vlm("hf"), nullptr);
  return model::read_vision_metadata(*src).encoder;
}

ImageEmbedding encode_npy(const Model& m, const std::string& pixels, VisionStage stage) {
  const auto a = format::read_npy(mnv5("ref/" + pixels));
  return m.encode_pixels(a.f32, static_cast<int>(a.shape[1]), static_cast<int>(a.shape[2]), stage);
}

TEST(VisionFiles, ConvertedVisionGgufMatchesTimm) {
  test::TempDir dir;
  convert::convert_autoneural_hf(vlm("hf"), dir.file("text.gguf"), dir.file("vision.gguf"), TensorType::F32,
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
  convert::convert_autoneural_hf(vlm("hf"), dir.file("t8.gguf"), dir.file("v8.gguf"), TensorType::F32, TensorType::Q8_0);
  auto v8 = Model::load(dir.file("v8.gguf"));
  const auto q = encode_npy(*v8, "random_input_256.npy", VisionStage::Tower);
  const auto d = test::compare(q.rows, test::npy_f32(mnv5("ref/random_input_256.tokens.npy")), 96);
  EXPECT_LT(d.rel_rms, 0.05) << "Q8_0 weights with Q8_0 activations, 13 blocks deep";
}

TEST(VisionFiles, RandomModelsRoundTripInBothFormats) {
  test::TempDir dir;
  const auto cfg = tiny_config();
  convert::RandomVisionOptions o;
  o.type = TensorType::F16;
  o.image_size = 256;
  o.seed = 7;
  convert::make_random_vision(cfg, 128, o, dir.file("ours.gguf"));
  o.llama_cpp_mmproj = true;
  convert::make_random_vision(cfg, 128, o, dir.file("mmproj.gguf"));
  convert::make_random_vision(cfg, 128, o, dir.file("mmproj2.gguf"));
  EXPECT_EQ(format::read_text_file(dir.file("mmproj.gguf")), format::read_text_file(dir.file("mmproj2.gguf")));

  auto src = format::WeightSource::open(dir.file("mmproj.gguf"), nullptr);
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
  auto theirs = Model::load(test::lfm2_tiny("model-f32.gguf"), test::with_mmproj(dir.file("mmproj.gguf")));
  const auto a = encode_npy(*ours, "random_input_256.npy", VisionStage::Tower);
  const auto b = encode_npy(*theirs, "random_input_256.npy", VisionStage::Tower);
  EXPECT_LT(test::compare(b.rows, a.rows, a.dim).rel_rms, 1e-2);

  // The Gemma 3n embedder (§2): ×√C, RMSNorm with weight, Linear without bias, RMSNorm without weight.
  const auto got = encode_npy(*theirs, "random_input_256.npy", VisionStage::Connector);
  ASSERT_EQ(got.dim, 128);
  auto gsrc = format::WeightSource::open(dir.file("mmproj.gguf"), nullptr);
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
  convert::RandomVisionOptions o;
  o.image_size = 256;
  convert::make_random_vision(tiny_config(), 64, o, dir.file("narrow.gguf"));
  test::expect_error([&] { Model::load(test::lfm2_tiny("model-f32.gguf"), test::with_mmproj(dir.file("narrow.gguf"))); },
                     "outputs 64-wide embeddings but the language model's hidden size is 128");
  // A text model as the vision file, and garbage block definitions.
  test::expect_error([&] { Model::load(test::lfm2_tiny("model-f32.gguf"), test::with_mmproj(test::lfm2_tiny("model-f32.gguf"))); },
                     "has no vision encoder");
  format::GgufWriter w;
  w.set("general.architecture", format::GgufValue::make_string("autoneural-vision"));
  w.set("autoneural.vision.block_defs", format::GgufValue::make_string_array({"xx_r1_c8"}));
  w.set("autoneural.vision.stage_lengths", format::GgufValue::make_i32_array({1}));
  w.write(dir.file("bad.gguf"));
  test::expect_error([&] { Model::load(dir.file("bad.gguf")); }, "unknown block type 'xx'");
  test::expect_error([&] { Model::load(test::lfm2_tiny("model-f32.gguf"), test::with_mmproj(dir.file("missing.gguf"))); },
                     "missing.gguf");
}

// The HF names of the vision half (tower + connector) → GGUF names, as the converter maps them.
std::optional<std::string> vision_hf_name(std::string_view hf) {
  if (auto n = model::mobilenetv5_hf_to_gguf_name(hf)) return n;
  return model::connector_hf_to_gguf_name(hf);
}

std::shared_ptr<format::WeightSource> open_vision(const std::string& path) {
  return format::WeightSource::open(path, &vision_hf_name);
}

void expect_same_encoder(const model::MobileNetV5Config& a, const model::MobileNetV5Config& b) {
  ASSERT_EQ(a.stages.size(), b.stages.size());
  for (size_t s = 0; s < a.stages.size(); ++s) {
    ASSERT_EQ(a.stages[s].size(), b.stages[s].size()) << "stage " << s;
    for (size_t i = 0; i < a.stages[s].size(); ++i) EXPECT_EQ(a.stages[s][i].text, b.stages[s][i].text) << s << "." << i;
  }
  EXPECT_EQ(a.in_channels, b.in_channels);
  EXPECT_EQ(a.stem_size, b.stem_size);
  EXPECT_EQ(a.stem_kernel, b.stem_kernel);
  EXPECT_EQ(a.stem_bias, b.stem_bias);
  EXPECT_EQ(a.layer_scale, b.layer_scale);
  EXPECT_EQ(a.msfa_indices, b.msfa_indices);
  EXPECT_EQ(a.msfa_output_channels, b.msfa_output_channels);
  EXPECT_EQ(a.msfa_expansion, b.msfa_expansion);
  EXPECT_EQ(a.msfa_output_resolution, b.msfa_output_resolution);
  EXPECT_EQ(a.image_size, b.image_size);
  EXPECT_FLOAT_EQ(a.eps, b.eps);
}

TEST(VisionFiles, ConvertedTensorsAreByteIdenticalAndMetadataRoundTrips) {
  test::TempDir dir;
  convert::convert_autoneural_hf(vlm("hf"), dir.file("text.gguf"), dir.file("vision.gguf"), TensorType::F32,
                               TensorType::F32);
  convert::convert_autoneural_hf(vlm("hf"), dir.file("merged.gguf"), "", TensorType::F32, TensorType::F32);
  auto hf = open_vision(vlm("hf"));
  const auto want = model::read_vision_metadata(*hf);
  EXPECT_EQ(hf->tensors().size(), 99u);  // the fixture README: 99 vision + connector tensors
  for (const char* file : {"vision.gguf", "merged.gguf"}) {
    auto g = open_vision(dir.file(file));
    EXPECT_EQ(g->tensors().size(), std::string(file) == "vision.gguf" ? 99u : 155u) << file;
    for (const auto& [name, t] : hf->tensors()) {
      const format::TensorRef* got = g->find(name);
      ASSERT_NE(got, nullptr) << file << ": " << name;
      EXPECT_EQ(got->type, TensorType::F32) << name;
      EXPECT_EQ(got->ne, t.ne) << name;
      ASSERT_EQ(got->nbytes, t.nbytes) << name;
      EXPECT_EQ(std::memcmp(got->data, t.data, t.nbytes), 0) << file << ": " << name << " differs";
    }
    const auto info = model::read_vision_metadata(*g);
    expect_same_encoder(info.encoder, want.encoder);
    EXPECT_EQ(info.connector.kind, model::ConnectorKind::Mlp2);
    EXPECT_EQ(info.connector.in_dim, 96);
    EXPECT_EQ(info.connector.hidden_dim, 128);
    EXPECT_EQ(info.connector.out_dim, 128);
    EXPECT_TRUE(info.connector.bias);
    EXPECT_FALSE(info.connector.gelu_tanh);  // "gelu" = erf
    EXPECT_EQ(info.tokens.image_token_id, 8);
    EXPECT_EQ(info.tokens.image_start_id, 9);
    EXPECT_EQ(info.tokens.image_end_id, 10);
    EXPECT_EQ(info.tokens.tokens_per_image, 64);
    EXPECT_EQ(info.preprocess.image_size, 256);
    EXPECT_FALSE(info.preprocess.letterbox);
    EXPECT_EQ(info.preprocess.mean, (std::array<float, 3>{0, 0, 0}));
    EXPECT_EQ(info.preprocess.std, (std::array<float, 3>{1, 1, 1}));
  }
  // The vision file holds only the vision half, the text file only LFM2 (llama.cpp's tensor set).
  const auto v = format::GgufFile::open(dir.file("vision.gguf"));
  EXPECT_EQ(v.get_string("general.architecture"), "autoneural-vision");
  const auto t = format::GgufFile::open(dir.file("text.gguf"));
  EXPECT_EQ(t.get_string("general.architecture"), "lfm2");
  EXPECT_EQ(t.tensors().size(), 56u);
  EXPECT_FALSE(t.find("autoneural.vision.block_defs"));
  const auto m = format::GgufFile::open(dir.file("merged.gguf"));
  EXPECT_EQ(m.get_string("general.architecture"), "lfm2");
  EXPECT_EQ(m.get_int("autoneural.image.start_token_id"), 9);
}

TEST(VisionFiles, Mnv5TinyDirectoryGivesTheFixtureConfig) {
  auto src = open_vision(mnv5("hf"));
  const auto info = model::read_vision_metadata(*src);
  size_t blocks = 0;
  for (const auto& s : info.encoder.stages) blocks += s.size();
  EXPECT_EQ(blocks, 13u);
  EXPECT_EQ(info.encoder.stages.size(), 4u);
  EXPECT_EQ(info.encoder.stages[2][3].text, "mqa_r1_k3_h4_v2_s1_d16_c48");
  EXPECT_EQ(info.encoder.stem_size, 16);
  EXPECT_EQ(info.encoder.msfa_output_channels, 96);
  EXPECT_EQ(info.encoder.msfa_output_resolution, 8);
  EXPECT_EQ(info.connector.kind, model::ConnectorKind::Mlp2);
  EXPECT_EQ(info.connector.in_dim, 96);
  EXPECT_EQ(info.connector.hidden_dim, 128);
  EXPECT_EQ(info.connector.out_dim, 128);
  EXPECT_EQ(info.tokens.tokens_per_image, 64);
  EXPECT_EQ(info.tokens.image_token_id, -1);  // not in this config.json: looked up by text
  EXPECT_EQ(info.preprocess.image_size, 256);
}

model::Lfm2Config tiny_text(int64_t hidden) {
  model::Lfm2Config c = model::lfm2_preset("350m");
  c.hidden = hidden, c.n_head = 2, c.head_dim = hidden / 2, c.n_head_kv = 1, c.ff = 128, c.n_vocab = 512, c.n_layers = 2;
  c.is_attention = {false, true};
  return c;
}

model::ConnectorConfig connector_for(model::ConnectorKind kind, int64_t in, int64_t out) {
  model::ConnectorConfig c;
  c.kind = kind;
  c.in_dim = in;
  c.hidden_dim = kind == model::ConnectorKind::Mlp2 ? 80 : 0;
  c.out_dim = out;
  c.bias = kind == model::ConnectorKind::Mlp2;
  return c;
}

TEST(VisionFiles, RandomAutoNeuralModelsInBothFlavours) {
  test::TempDir dir;
  const auto text = tiny_text(64);
  const auto enc = tiny_config();
  const auto mlp2 = connector_for(model::ConnectorKind::Mlp2, 96, 64);
  const auto gemma = connector_for(model::ConnectorKind::Gemma3nEmbedder, 96, 64);
  double last = -1;
  bool monotone = true;
  auto progress = [&](double f, std::string_view) { monotone = monotone && f >= last && f <= 1.0, last = f; };
  convert::make_random_autoneural(text, enc, mlp2, TensorType::Q8_0, TensorType::F16, dir.file("t.gguf"),
                                dir.file("v.gguf"), 5, false, progress);
  EXPECT_TRUE(monotone);
  EXPECT_EQ(last, 1.0);
  convert::make_random_autoneural(text, enc, mlp2, TensorType::Q8_0, TensorType::F16, dir.file("t2.gguf"),
                                dir.file("v2.gguf"), 5, false);
  convert::make_random_autoneural(text, enc, gemma, TensorType::Q8_0, TensorType::F16, dir.file("t3.gguf"),
                                dir.file("m.gguf"), 5, true);
  convert::make_random_autoneural(text, enc, gemma, TensorType::Q8_0, TensorType::F16, dir.file("t4.gguf"),
                                dir.file("m2.gguf"), 5, true);
  // Same seed, same bytes; the text file does not depend on the vision flavour.
  EXPECT_EQ(format::read_text_file(dir.file("t.gguf")), format::read_text_file(dir.file("t2.gguf")));
  EXPECT_EQ(format::read_text_file(dir.file("t.gguf")), format::read_text_file(dir.file("t3.gguf")));
  EXPECT_EQ(format::read_text_file(dir.file("v.gguf")), format::read_text_file(dir.file("v2.gguf")));
  EXPECT_EQ(format::read_text_file(dir.file("m.gguf")), format::read_text_file(dir.file("m2.gguf")));

  // Ours: the metadata says exactly what was asked for.
  auto ours = open_vision(dir.file("v.gguf"));
  const auto info = model::read_vision_metadata(*ours);
  expect_same_encoder(info.encoder, enc);
  EXPECT_EQ(info.connector.hidden_dim, 80);
  EXPECT_EQ(info.connector.out_dim, 64);
  EXPECT_EQ(ours->gguf()->get_string("general.name").value_or("").rfind(convert::kRandomVisionNamePrefix, 0), 0u);
  EXPECT_EQ(ours->require("v.blk.1.0.layer_scale.gamma", {32}).ne, (std::vector<int64_t>{32}));

  // llama.cpp's flavour: its keys and layouts, and the block list inferred back from the tensors.
  auto mm = open_vision(dir.file("m.gguf"));
  const auto& g = *mm->gguf();
  EXPECT_EQ(g.get_string("general.architecture"), "clip");
  EXPECT_EQ(g.get_string("clip.projector_type"), "gemma3nv");
  EXPECT_EQ(g.get_bool("clip.has_vision_encoder"), true);
  EXPECT_EQ(g.get_int("clip.vision.patch_size"), 4);  // 256 / 64 tokens
  EXPECT_EQ(g.get_int("clip.vision.projection_dim"), 64);
  for (const char* key : {"clip.vision.block_count", "clip.vision.feed_forward_length",
                          "clip.vision.attention.head_count", "clip.vision.attention.layer_norm_epsilon",
                          "clip.vision.image_mean", "clip.vision.image_std", "clip.vision.embedding_length"})
    EXPECT_TRUE(g.find(key)) << key;
  EXPECT_EQ(mm->find("v.conv_stem.conv.bias")->ne, (std::vector<int64_t>{1, 1, 16, 1}));
  EXPECT_EQ(mm->find("v.blk.1.0.layer_scale.gamma")->ne, (std::vector<int64_t>{1, 1, 32, 1}));
  EXPECT_EQ(mm->find("v.blk.1.0.dw_mid.conv.weight")->type, TensorType::F16);
  EXPECT_EQ(mm->find("v.conv_stem.conv.weight")->type, TensorType::F32);
  EXPECT_EQ(mm->require("mm.input_projection.weight", {96, 64}).type, TensorType::F16);
  const auto inferred = model::read_vision_metadata(*mm);
  expect_same_encoder(inferred.encoder, enc);
  EXPECT_EQ(inferred.connector.kind, model::ConnectorKind::Gemma3nEmbedder);
  EXPECT_EQ(inferred.connector.out_dim, 64);
  EXPECT_EQ(inferred.tokens.tokens_per_image, 64);
  // The inferred list written as our metadata and read back is the same list again.
  format::GgufWriter w;
  model::mobilenetv5_config_to_gguf(inferred.encoder, w);
  w.write(dir.file("cfg.gguf"));
  expect_same_encoder(model::mobilenetv5_config_from_gguf(format::GgufFile::open(dir.file("cfg.gguf"))), enc);

  // Both pairs load and run; the towers are the same draw.
  auto a = Model::load(dir.file("t.gguf"), {.n_threads = 2, .mmproj = dir.file("v.gguf")});
  auto b = Model::load(dir.file("t3.gguf"), {.n_threads = 2, .mmproj = dir.file("m.gguf")});
  EXPECT_TRUE(a->info().random_weights);
  EXPECT_TRUE(a->vision_info().random_weights);
  EXPECT_TRUE(b->vision_info().random_weights);
  const auto ta = encode_npy(*a, "random_input_256.npy", VisionStage::Tower);
  const auto tb = encode_npy(*b, "random_input_256.npy", VisionStage::Tower);
  EXPECT_LT(test::compare(tb.rows, ta.rows, ta.dim).rel_rms, 1e-2);
  for (const auto* m : {a.get(), b.get()}) {
    const auto e = encode_npy(*m, "random_input_256.npy", VisionStage::Connector);
    ASSERT_EQ(e.dim, 64);
    ASSERT_EQ(e.n_tokens, 64);
    for (float x : e.rows) ASSERT_TRUE(std::isfinite(x));
  }
}

TEST(VisionFiles, RandomModelArgumentErrors) {
  test::TempDir dir;
  const auto text = tiny_text(64);
  const auto enc = tiny_config();
  auto make = [&](const model::ConnectorConfig& c, bool llama) {
    convert::make_random_autoneural(text, enc, c, TensorType::F32, TensorType::F32, dir.file("t.gguf"),
                                  dir.file("v.gguf"), 1, llama);
  };
  test::expect_error([&] { make(connector_for(model::ConnectorKind::Mlp2, 95, 64), false); },
                     "connector input width 95 does not match the encoder's 96 output channels");
  test::expect_error([&] { make(connector_for(model::ConnectorKind::Mlp2, 96, 100), false); },
                     "outputs 100-wide embeddings but the language model's hidden size is 64");
  test::expect_error([&] { make(connector_for(model::ConnectorKind::Mlp2, 96, 64), true); },
                     "holds the Gemma 3n embedder");
  // Nothing was written by the failed calls (checked before the text half).
  EXPECT_FALSE(std::filesystem::exists(dir.file("t.gguf")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("v.gguf")));

  auto hf = open_vision(vlm("hf"));
  const auto info = model::read_vision_metadata(*hf);
  model::check_vision_fits_text(info, 128, "v.gguf");
  test::expect_error([&] { model::check_vision_fits_text(info, 100, "v.gguf"); },
                     "vision file v.gguf outputs 128-wide embeddings but the language model's hidden size is 100");
}

// A vision GGUF with the fixture's encoder and connector keys, one of them changed by `edit`.
template <class Edit>
std::string vision_gguf(const test::TempDir& dir, const std::string& name, Edit edit) {
  auto hf = open_vision(vlm("hf"));
  const auto info = model::read_vision_metadata(*hf);
  format::GgufWriter w;
  w.set("general.architecture", format::GgufValue::make_string("autoneural-vision"));
  model::mobilenetv5_config_to_gguf(info.encoder, w);
  model::connector_config_to_gguf(info.connector, w);
  edit(w);
  w.write(dir.file(name));
  return dir.file(name);
}

TEST(VisionFiles, BadMetadataIsAClearError) {
  test::TempDir dir;
  using format::GgufValue;
  auto read = [](const std::string& path) { return model::read_vision_metadata(*open_vision(path)); };
  const auto good = vision_gguf(dir, "good.gguf", [](format::GgufWriter&) {});
  EXPECT_EQ(read(good).connector.hidden_dim, 128);
  const auto garbage = vision_gguf(dir, "garbage.gguf", [](format::GgufWriter& w) {
    w.set("autoneural.vision.block_defs", GgufValue::make_string_array({"xx_r1"}));
    w.set("autoneural.vision.stage_lengths", GgufValue::make_i32_array({1}));
  });
  test::expect_error([&] { read(garbage); }, "invalid MobileNetV5 block definition 'xx_r1': unknown block type 'xx'");
  const auto type = vision_gguf(dir, "type.gguf", [](format::GgufWriter& w) {
    w.set("autoneural.projector.type", GgufValue::make_string("ldp"));
  });
  test::expect_error([&] { read(type); }, "projector type 'ldp' is not supported");
  const auto width = vision_gguf(dir, "width.gguf", [](format::GgufWriter& w) {
    w.set("autoneural.projector.input_size", GgufValue::make_u32(95));
  });
  test::expect_error([&] { read(width); }, "the connector takes 95 channels but the encoder outputs 96");
  // A llama.cpp mmproj of another projector type.
  format::GgufWriter clip;
  clip.set("general.architecture", GgufValue::make_string("clip"));
  clip.set("clip.projector_type", GgufValue::make_string("llava"));
  clip.write(dir.file("llava.gguf"));
  test::expect_error([&] { read(dir.file("llava.gguf")); }, "projector type 'llava' is not supported");

  // Hugging Face directories with an unsupported connector.
  for (auto [field, value, message] :
       {std::tuple{"projector_type", nlohmann::json("ldp"), "projector_type 'ldp' is not supported"},
        std::tuple{"projector_norm", nlohmann::json("layer_norm"), "projector_norm must be null"},
        std::tuple{"projector_hidden_act", nlohmann::json("relu"), "projector_hidden_act 'relu' is not supported"}}) {
    const std::string sub = dir.file(field);
    std::filesystem::create_directory(sub);
    auto cfg = nlohmann::json::parse(format::read_text_file(vlm("hf/config.json")));
    cfg[field] = value;
    std::ofstream(sub + "/config.json") << cfg.dump();
    std::filesystem::create_symlink(vlm("hf/model.safetensors"), sub + "/model.safetensors");
    test::expect_error([&] { read(sub); }, message);
  }
}

TEST(VisionFiles, CliConvertAndMakeModel) {
  test::TempDir dir;
  const std::string hf = test::quote(vlm("hf"));
  auto r = test::run_cli("convert " + hf + " " + dir.file("t.gguf") + " --mmproj " + dir.file("v.gguf") +
                         " --type f32 --vision-type q8_0");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(format::GgufFile::open(dir.file("v.gguf")).get_string("general.architecture"), "autoneural-vision");
  EXPECT_EQ(format::GgufFile::open(dir.file("t.gguf")).get_string("general.architecture"), "lfm2");
  r = test::run_cli("convert " + hf + " " + dir.file("merged.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("merged"), std::string::npos) << r.out;
  EXPECT_TRUE(format::GgufFile::open(dir.file("merged.gguf")).find("autoneural.vision.block_defs"));

  struct Bad {
    std::string args, fragment;
  };
  const std::vector<Bad> bad = {
      {"convert " + hf + " " + dir.file("x.gguf") + " --vision-type q4_0", "unsupported --vision-type 'q4_0'"},
      {"convert " + test::quote(test::lfm2_tiny("hf")) + " " + dir.file("x.gguf") + " --mmproj " + dir.file("y.gguf"),
       "has no vision part"},
      {"make-model --arch bert -o " + dir.file("x.gguf"), "unknown --arch 'bert' (available: lfm2, autoneural)"},
      {"make-model --arch autoneural --size 350m -o " + dir.file("x.gguf"), "--arch autoneural needs --mmproj"},
      {"make-model --size 350m -o " + dir.file("x.gguf") + " --mmproj " + dir.file("y.gguf"), "need --arch autoneural"},
      {"make-model --arch autoneural --size 350m", "missing output file"},
      {"make-model --arch autoneural -o " + dir.file("x.gguf") + " --mmproj " + dir.file("y.gguf") +
           " --vision-type q5_9",
       "unsupported --vision-type 'q5_9'"},
  };
  for (const auto& b : bad) {
    r = test::run_cli(b.args);
    EXPECT_EQ(r.exit_code, 2) << b.args << "\n" << r.out;
    EXPECT_NE(r.out.find(b.fragment), std::string::npos) << b.args << "\n" << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.gguf")));
}

}  // namespace
}  // namespace autoneural
