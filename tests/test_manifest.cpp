// The tensor manifests (model/*_manifest.h) against their users: the loaders, the random writers, the
// Hugging Face name maps and the storage rule.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "convert/lfm2_export.h"
#include "convert/vision_export.h"
#include "format/mapped_file.h"
#include "format/weight_source.h"
#include "model/connector.h"
#include "model/connector_manifest.h"
#include "model/lfm2.h"
#include "model/mobilenetv5.h"
#include "test_util.h"

namespace autoneural {
namespace {

using model::TensorManifest;

model::MobileNetV5Config tiny_vision() {
  const auto j = nlohmann::json::parse(format::read_text_file(test::fixture("vision/mnv5-tiny/hf/config.json")));
  return model::mobilenetv5_config_from_hf_json(j["vision_config"].dump(), "config.json");
}

model::Lfm2Config small_lfm2() {
  model::Lfm2Config c = model::lfm2_preset("350m");
  c.hidden = 64, c.n_head = 2, c.head_dim = 32, c.n_head_kv = 1, c.ff = 128, c.n_vocab = 512, c.n_layers = 3;
  c.is_attention = {false, true, false};
  return c;
}

model::ConnectorConfig connector(model::ConnectorKind kind, int64_t in) {
  model::ConnectorConfig c;
  c.kind = kind;
  c.in_dim = in, c.hidden_dim = kind == model::ConnectorKind::Mlp2 ? 48 : 0, c.out_dim = 32;
  c.bias = kind == model::ConnectorKind::Mlp2;
  return c;
}

// Unique GGUF and HF names, and every HF name maps back to its GGUF name.
void expect_names_round_trip(const TensorManifest& m, format::HfNameMapper map) {
  std::set<std::string> names, hf_names;
  for (const auto& s : m) {
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate " << s.name;
    EXPECT_TRUE(hf_names.insert(s.hf_name).second) << "duplicate " << s.hf_name;
    const auto back = map(s.hf_name);
    ASSERT_TRUE(back) << s.hf_name;
    EXPECT_EQ(*back, s.name);
  }
}

// The tensors a random file holds are exactly the manifest's required ones, with their shapes.
void expect_file_holds(const std::string& path, const TensorManifest& m) {
  const auto w = format::WeightSource::open(path, nullptr);
  size_t required = 0;
  for (const auto& s : m) {
    if (s.optional) continue;
    ++required;
    const auto* t = w->find(s.name);
    ASSERT_TRUE(t) << s.name;
    EXPECT_TRUE(model::shape_matches(s, t->ne)) << s.name << " " << format::shape_string(t->ne);
  }
  EXPECT_EQ(w->tensors().size(), required);
}

TEST(Manifest, HuggingFaceNamesMapBackToGgufNames) {
  expect_names_round_trip(model::lfm2_manifest(model::lfm2_preset("1.2b")), &model::lfm2_hf_to_gguf_name);
  expect_names_round_trip(model::mobilenetv5_manifest(model::mobilenetv5_builtin("mobilenetv5_300m_enc")),
                          &model::mobilenetv5_hf_to_gguf_name);
  for (auto kind : {model::ConnectorKind::Mlp2, model::ConnectorKind::Gemma3nEmbedder})
    expect_names_round_trip(model::connector_manifest(connector(kind, 96)), &model::connector_hf_to_gguf_name);
  // Spellings that checkpoints use besides the manifest's own.
  EXPECT_EQ(*model::lfm2_hf_to_gguf_name("model.norm.weight"), "token_embd_norm.weight");
  EXPECT_EQ(*model::lfm2_hf_to_gguf_name("model.language_model.layers.3.conv.conv.weight"),
            "blk.3.shortconv.conv.weight");
  EXPECT_EQ(*model::mobilenetv5_hf_to_gguf_name("vision_tower.timm_model.msfa.norm.weight"), "v.msfa.norm.weight");
  EXPECT_EQ(*model::connector_hf_to_gguf_name("multi_modal_projector.linear_2.bias"), "mm.2.bias");
  EXPECT_FALSE(model::lfm2_hf_to_gguf_name("model.layers.3.conv.bogus.weight"));
  EXPECT_FALSE(model::mobilenetv5_hf_to_gguf_name("model.vision_tower.timm_model.head.weight"));
}

TEST(Manifest, ParameterCountsAreTheManifestsSums) {
  const auto enc = model::mobilenetv5_builtin("mobilenetv5_300m_enc");
  EXPECT_EQ(model::parameter_count(model::mobilenetv5_manifest(enc)), 294126912);  // architecture-reference §1.6
  const auto m = model::lfm2_manifest(small_lfm2());
  ASSERT_TRUE(model::find_spec(m, "output.weight"));
  EXPECT_TRUE(model::find_spec(m, "output.weight")->optional);  // tied to token_embd unless present
  EXPECT_FALSE(model::find_spec(m, "blk.0.attn_q.weight"));    // a short-conv layer
  EXPECT_TRUE(model::find_spec(m, "blk.1.attn_q.weight"));
}

TEST(Manifest, StorageRule) {
  const auto m = model::mobilenetv5_manifest(model::mobilenetv5_builtin("mobilenetv5_300m_enc"));
  auto stored = [&](const char* name, TensorType target) {
    return model::stored_shape(*model::find_spec(m, name), target);
  };
  // The stem and depthwise kernels stay F32; convolutions go 2-D [in·k², out] in block types.
  EXPECT_EQ(stored("v.conv_stem.conv.weight", TensorType::Q8_0).type, TensorType::F32);
  EXPECT_EQ(stored("v.blk.1.0.dw_start.conv.weight", TensorType::Q8_0).type, TensorType::F32);
  const auto er = stored("v.blk.0.0.conv_exp.weight", TensorType::Q8_0);
  EXPECT_EQ(er.type, TensorType::Q8_0);
  EXPECT_EQ(er.ne, (std::vector<int64_t>{64 * 9, 256}));
  EXPECT_EQ(stored("v.blk.0.0.conv_exp.weight", TensorType::F16).ne, (std::vector<int64_t>{3, 3, 64, 256}));
  EXPECT_EQ(stored("v.blk.1.0.layer_scale.gamma", TensorType::Q8_0).type, TensorType::F32);
  // Rows that do not divide into blocks fall back to F16.
  model::Lfm2Config c = small_lfm2();
  c.ff = 80;  // not a multiple of the 32-wide Q4_0 blocks
  const auto lm = model::lfm2_manifest(c);
  auto lm_type = [&](const char* name) {
    return model::stored_shape(*model::find_spec(lm, name), TensorType::Q4_0).type;
  };
  EXPECT_EQ(lm_type("blk.0.ffn_down.weight"), TensorType::F16);
  EXPECT_EQ(lm_type("blk.0.ffn_up.weight"), TensorType::Q4_0);
  EXPECT_EQ(lm_type("blk.0.shortconv.conv.weight"), TensorType::F32);
}

TEST(Manifest, RandomFilesHoldTheManifestAndLoad) {
  test::TempDir dir;
  const model::Lfm2Config lc = small_lfm2();
  convert::make_random_lfm2(lc, TensorType::Q8_0, dir.file("text.gguf"), 3);
  expect_file_holds(dir.file("text.gguf"), model::lfm2_manifest(lc));
  EXPECT_NO_THROW(model::Lfm2Model(format::WeightSource::open(dir.file("text.gguf"), nullptr), lc));

  const model::MobileNetV5Config vc = tiny_vision();
  for (bool mmproj : {false, true}) {
    convert::RandomVisionOptions o;
    o.type = TensorType::Q8_0;
    o.llama_cpp_mmproj = mmproj;
    o.image_size = 64;
    const std::string path = dir.file(mmproj ? "mmproj.gguf" : "vision.gguf");
    convert::make_random_vision(vc, 32, o, path);
    const auto kind = mmproj ? model::ConnectorKind::Gemma3nEmbedder : model::ConnectorKind::Mlp2;
    model::ConnectorConfig cc = connector(kind, vc.msfa_output_channels);
    cc.hidden_dim = mmproj ? 0 : 32;
    TensorManifest m = model::mobilenetv5_manifest(vc);
    for (const auto& s : model::connector_manifest(cc)) m.push_back(s);
    expect_file_holds(path, m);
    const auto w = format::WeightSource::open(path, nullptr);
    EXPECT_NO_THROW(model::MobileNetV5(w, vc));
    EXPECT_NO_THROW(model::Connector(w, cc));
  }
}

TEST(Manifest, LoaderErrorsNameTheTensor) {
  test::TempDir dir;
  model::MobileNetV5Config vc = tiny_vision();
  vc.layer_scale = false;
  convert::RandomVisionOptions o;
  o.image_size = 64;
  convert::make_random_vision(vc, 32, o, dir.file("v.gguf"));
  const auto w = format::WeightSource::open(dir.file("v.gguf"), nullptr);
  model::MobileNetV5Config with_scale = vc;
  with_scale.layer_scale = true;
  test::expect_error([&] { model::MobileNetV5(w, with_scale); }, "missing tensor v.blk.1.0.layer_scale.gamma");
  model::MobileNetV5Config wider = vc;
  wider.msfa_expansion *= 2;
  test::expect_error([&] { model::MobileNetV5(w, wider); }, "tensor v.msfa.ffn.pw_exp.conv.weight has shape");
  model::ConnectorConfig cc = connector(model::ConnectorKind::Mlp2, vc.msfa_output_channels);
  test::expect_error([&] { model::Connector(w, cc); }, "tensor mm.1.weight has shape");
}

}  // namespace
}  // namespace autoneural
