// Conversion (HF → GGUF), random models, and bad model files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "autoneural/llm.h"
#include "format/gguf.h"
#include "format/mapped_file.h"
#include "convert/lfm2_export.h"
#include "test_util.h"

namespace autoneural {
namespace {

using test::lfm2_tiny;
namespace fs = std::filesystem;

std::vector<float> all_logits(const std::string& path, const std::string& prompt = "plain") {
  auto model = Model::load(path, {2});
  Session s(model, {512, 512, CacheType::F32});
  return s.decode(test::npy_i32(lfm2_tiny("ref/" + prompt + ".tokens.npy")), true);
}

TEST(Convert, F32ConversionGivesTheFixtureLogits) {
  test::TempDir dir;
  const std::string out = dir.file("tiny-f32.gguf");
  int calls = 0;
  convert::convert_lfm2_hf_to_gguf(lfm2_tiny("hf"), out, TensorType::F32, [&](double, std::string_view) { ++calls; });
  EXPECT_EQ(calls, 56);
  EXPECT_EQ(all_logits(out), all_logits(lfm2_tiny("model-f32.gguf")));
}

// Our quantizers reproduce ggml's reference quantizers bit for bit: converting to Q8_0 / Q4_0 gives the
// same tensors as llama-quantize --pure made for the fixture.
TEST(Convert, QuantizedConversionMatchesLlamaQuantizeBitForBit) {
  for (const auto& [type, file] : {std::pair{TensorType::Q8_0, "model-q8_0.gguf"}, {TensorType::Q4_0, "model-q4_0.gguf"}}) {
    test::TempDir dir;
    const std::string out = dir.file("tiny.gguf");
    convert::convert_lfm2_hf_to_gguf(lfm2_tiny("hf"), out, type);
    const auto ours = format::GgufFile::open(out);
    const auto ref = format::GgufFile::open(lfm2_tiny(file));
    ASSERT_EQ(ours.tensors().size(), ref.tensors().size());
    for (const auto& t : ref.tensors()) {
      const auto* o = ours.find_tensor(t.name);
      ASSERT_NE(o, nullptr) << t.name;
      EXPECT_EQ(o->type, t.type) << t.name;
      EXPECT_EQ(o->ne, t.ne) << t.name;
      ASSERT_EQ(o->nbytes, t.nbytes) << t.name;
      EXPECT_EQ(0, std::memcmp(o->data, t.data, t.nbytes)) << t.name;
    }
    // Same architecture keys as llama.cpp's converter.
    for (const char* key : {"lfm2.block_count", "lfm2.embedding_length", "lfm2.feed_forward_length",
                            "lfm2.attention.head_count", "lfm2.shortconv.l_cache", "lfm2.vocab_size"})
      EXPECT_EQ(ours.get_int(key), ref.get_int(key)) << key;
    EXPECT_EQ(ours.get_int_array("lfm2.attention.head_count_kv"), ref.get_int_array("lfm2.attention.head_count_kv"));
    EXPECT_EQ(ours.get_string_array("tokenizer.ggml.tokens"), ref.get_string_array("tokenizer.ggml.tokens"));
    EXPECT_EQ(ours.get_string_array("tokenizer.ggml.merges"), ref.get_string_array("tokenizer.ggml.merges"));
  }
}

TEST(MakeModel, SmallRandomModelRunsAndIsReproducible) {
  model::Lfm2Config c = model::lfm2_preset("350m");
  c.hidden = 64, c.n_head = 2, c.head_dim = 32, c.n_head_kv = 1, c.ff = 128, c.n_vocab = 512, c.n_layers = 4;
  c.is_attention = {false, true, false, true};
  test::TempDir dir;
  convert::make_random_lfm2(c, TensorType::Q8_0, dir.file("a.gguf"), 7);
  convert::make_random_lfm2(c, TensorType::Q8_0, dir.file("b.gguf"), 7);
  EXPECT_EQ(format::read_text_file(dir.file("a.gguf")), format::read_text_file(dir.file("b.gguf")));
  auto m = Model::load(dir.file("a.gguf"), {2});
  EXPECT_EQ(m->info().n_layers, 4);
  EXPECT_EQ(m->info().weight_type, "q8_0");
  EXPECT_TRUE(m->info().random_weights);
  EXPECT_FALSE(Model::load(lfm2_tiny("model-f32.gguf"))->info().random_weights);
  Session s(m, {64, 512, CacheType::F16});
  const auto ids = m->tokenize("hello world", true, true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 1);
  const auto logits = s.decode(ids);
  ASSERT_EQ(logits.size(), 512u);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

// Copies the fixture GGUF with one change, for the bad-file tests below.
std::string rewrite_fixture(const test::TempDir& dir, const std::string& drop_tensor, const std::string& reshape_tensor,
                            const std::string& drop_key = "") {
  const auto src = format::GgufFile::open(lfm2_tiny("model-f32.gguf"));
  format::GgufWriter w;
  for (const auto& [k, v] : src.metadata())
    if (k != drop_key) w.set(k, v);
  for (const auto& t : src.tensors()) {
    if (t.name == drop_tensor) continue;
    auto ne = t.ne;
    if (t.name == reshape_tensor) std::swap(ne[0], ne[1]);
    w.add_tensor(t.name, t.type, ne, t.data, t.nbytes);
  }
  const std::string out = dir.file("bad.gguf");
  w.write(out);
  return out;
}

void expect_load_error(const std::string& path, const std::string& fragment) {
  test::expect_error([&] { Model::load(path); }, fragment);
}

TEST(BadModelFiles, MissingTensorIsNamed) {
  test::TempDir dir;
  expect_load_error(rewrite_fixture(dir, "blk.3.ffn_up.weight", ""), "missing tensor blk.3.ffn_up.weight");
}

TEST(BadModelFiles, WrongShapeIsNamed) {
  test::TempDir dir;
  expect_load_error(rewrite_fixture(dir, "", "blk.2.attn_k.weight"), "blk.2.attn_k.weight has shape [64, 128]");
}

TEST(BadModelFiles, MissingMetadataIsNamed) {
  test::TempDir dir;
  expect_load_error(rewrite_fixture(dir, "", "", "lfm2.attention.head_count_kv"), "head_count_kv");
}

TEST(BadModelFiles, NotAModel) {
  test::TempDir dir;
  expect_load_error(dir.file("nothing.gguf"), "no such file");
  std::ofstream(dir.file("junk.gguf")) << "this is not a gguf file at all";
  EXPECT_THROW(Model::load(dir.file("junk.gguf")), Error);
  expect_load_error(dir.path(), "config.json");
}

TEST(BadModelFiles, BadConfigJson) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "not valid JSON"},
      {"[1, 2]", "JSON object"},
      {R"({"hidden_size": 128})", "num_hidden_layers"},
      {R"({"hidden_size": 128, "num_hidden_layers": 6, "num_attention_heads": 2, "num_key_value_heads": 1,
           "vocab_size": 640, "block_ff_dim": 576, "layer_types": ["conv"]})", "one entry per layer"},
      {R"({"hidden_size": "wide", "num_hidden_layers": 6})", "hidden_size"},
      {R"({"model_type": "llama", "hidden_size": 128})", "not supported"},
  };
  for (const auto& [json, fragment] : cases) {
    test::TempDir dir;
    for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json"})
      fs::copy_file(lfm2_tiny(std::string("hf/") + f), dir.file(f));
    std::ofstream(dir.file("config.json")) << json;
    expect_load_error(dir.path(), fragment);
  }
}

}  // namespace
}  // namespace autoneural
