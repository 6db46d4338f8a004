// model::Checkpoint: every kind of file the engine reads is identified once, with its configuration, and
// the public workflows (identify_checkpoint, convert_hf, Session::encode_image) use it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autoneural/workflows.h"
#include "convert/vision_export.h"
#include "format/mapped_file.h"
#include "model/checkpoint.h"
#include "test_util.h"

namespace autoneural {
namespace {

using model::Checkpoint;
using model::CheckpointKind;

std::string vlm(const std::string& rel) { return test::fixture("vlm/autoneural-tiny/" + rel); }

// An AutoNeural directory whose config.json is the fixture's with `edit` applied (weights linked).
std::string edited_vlm_dir(const test::TempDir& dir, const std::string& name,
                           const std::function<void(nlohmann::json&)>& edit) {
  const std::string sub = dir.file(name);
  std::filesystem::create_directory(sub);
  auto cfg = nlohmann::json::parse(format::read_text_file(vlm("hf/config.json")));
  edit(cfg);
  std::ofstream(sub + "/config.json") << cfg.dump();
  for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"})
    std::filesystem::create_symlink(vlm(std::string("hf/") + f), sub + "/" + f);
  return sub;
}

TEST(Checkpoint, IdentifiesEveryKindOnce) {
  test::TempDir dir;
  // Language model only.
  for (const auto& [path, kind] : {std::pair{test::lfm2_tiny("model-f32.gguf"), CheckpointKind::Lfm2Gguf},
                                   std::pair{test::lfm2_tiny("hf"), CheckpointKind::HfLfm2}}) {
    const auto c = Checkpoint::open(path);
    EXPECT_EQ(c->kind(), kind) << path;
    EXPECT_TRUE(c->has_language_model());
    EXPECT_FALSE(c->has_vision());
    EXPECT_EQ(c->text_config().n_layers, 6) << path;
    EXPECT_EQ(c->text_config().hidden, 128) << path;
    test::expect_error([&] { (void)c->vision(); }, "has no vision encoder");
    test::expect_error([&] { (void)c->vision_weights(); }, "has no vision encoder");
  }

  // An AutoNeural directory: both halves, the connector feeding the language model's width.
  const auto hf = Checkpoint::open(vlm("hf"));
  EXPECT_EQ(hf->kind(), CheckpointKind::HfAutoNeural);
  EXPECT_TRUE(hf->has_language_model() && hf->has_vision());
  EXPECT_EQ(hf->vision().connector.out_dim, hf->text_config().hidden);
  EXPECT_TRUE(hf->text_weights()->find("token_embd.weight"));
  EXPECT_TRUE(hf->vision_weights()->find("v.conv_stem.conv.weight"));
  EXPECT_FALSE(hf->text_weights()->find("v.conv_stem.conv.weight"));  // each half sees its own tensors

  // Converted: a text + vision pair and a merged file (one source for both halves).
  convert_hf(vlm("hf"), dir.file("text.gguf"), {.type = "f32", .vision_type = "f32", .vision_out = dir.file("v.gguf")});
  convert_hf(vlm("hf"), dir.file("merged.gguf"), {.type = "f32", .vision_type = "f32"});
  const auto text = Checkpoint::open(dir.file("text.gguf"));
  EXPECT_EQ(text->kind(), CheckpointKind::Lfm2Gguf);
  const auto vision = Checkpoint::open(dir.file("v.gguf"));
  EXPECT_EQ(vision->kind(), CheckpointKind::VisionGguf);
  EXPECT_FALSE(vision->has_language_model());
  test::expect_error([&] { (void)vision->text_config(); }, "has no language model (it is: AutoNeural vision GGUF)");
  EXPECT_EQ(vision->vision().encoder.stages.size(), hf->vision().encoder.stages.size());
  const auto merged = Checkpoint::open(dir.file("merged.gguf"));
  EXPECT_EQ(merged->kind(), CheckpointKind::MergedGguf);
  EXPECT_EQ(merged->text_weights(), merged->vision_weights());
  EXPECT_EQ(merged->text_config().n_vocab, hf->text_config().n_vocab);

  // llama.cpp's gemma3nv mmproj of the same tower.
  convert::RandomVisionOptions o;
  o.llama_cpp_mmproj = true;
  o.image_size = 256;
  convert::make_random_vision(hf->vision().encoder, 64, o, dir.file("mmproj.gguf"));
  const auto mmproj = Checkpoint::open(dir.file("mmproj.gguf"));
  EXPECT_EQ(mmproj->kind(), CheckpointKind::LlamaCppMmproj);
  EXPECT_EQ(mmproj->vision().connector.kind, model::ConnectorKind::Gemma3nEmbedder);
  EXPECT_EQ(mmproj->vision().connector.out_dim, 64);

  // A directory whose text_config names no layers holds the vision half only.
  const auto vonly = Checkpoint::open(edited_vlm_dir(dir, "vision-only", [](nlohmann::json& j) {
    j["text_config"] = {{"hidden_size", j["text_config"]["hidden_size"]}};
  }));
  EXPECT_EQ(vonly->kind(), CheckpointKind::HfAutoNeuralVision);
  EXPECT_FALSE(vonly->has_language_model());
  EXPECT_TRUE(vonly->has_vision());

  // The public face says the same.
  const CheckpointInfo info = identify_checkpoint(dir.file("merged.gguf"));
  EXPECT_EQ(info.kind, model::checkpoint_kind_name(CheckpointKind::MergedGguf));
  EXPECT_TRUE(info.gguf && info.language_model && info.vision);
  const CheckpointInfo dir_info = identify_checkpoint(test::lfm2_tiny("hf"));
  EXPECT_FALSE(dir_info.gguf || dir_info.vision);
  EXPECT_TRUE(dir_info.language_model);
}

TEST(Checkpoint, WhatIsNotACheckpointIsAClearError) {
  test::TempDir dir;
  test::expect_error([&] { Checkpoint::open(dir.file("missing.gguf")); }, "no such file or directory");
  std::filesystem::create_directory(dir.file("empty"));
  test::expect_error([&] { Checkpoint::open(dir.file("empty")); }, "config.json is missing");
  std::filesystem::create_directory(dir.file("garbage"));
  std::ofstream(dir.file("garbage") + "/config.json") << "{not json";
  test::expect_error([&] { Checkpoint::open(dir.file("garbage")); }, "config.json: not valid JSON");
  std::filesystem::create_directory(dir.file("array"));
  std::ofstream(dir.file("array") + "/config.json") << "[1, 2]";
  test::expect_error([&] { Checkpoint::open(dir.file("array")); }, "expected a JSON object");
  std::ofstream(dir.file("x.gguf")) << "not a gguf file at all";
  EXPECT_THROW(Checkpoint::open(dir.file("x.gguf")), Error);
  // A model_type of autoneural without a vision_config says what is missing.
  const auto no_vision = edited_vlm_dir(dir, "no-vision", [](nlohmann::json& j) { j.erase("vision_config"); });
  test::expect_error([&] { Checkpoint::open(no_vision); }, "no vision_config");
  // The model takes no vision file that has none.
  test::expect_error([&] { Model::load(test::lfm2_tiny("model-f32.gguf"), test::with_mmproj(test::lfm2_tiny("hf"))); },
                     "has no vision encoder (it is: Hugging Face LFM2 directory)");
}

TEST(Checkpoint, ModelInfoNamesTheKindAndImageSidesFollowOneRule) {
  auto model = Model::load(vlm("hf"), {.n_threads = 2});
  EXPECT_EQ(model->info().checkpoint, "Hugging Face AutoNeural directory");
  for (int64_t side : {32, 64, 768, 4096}) EXPECT_TRUE(is_valid_image_side(side)) << side;
  for (int64_t side : {0, -32, 31, 48, 4128}) EXPECT_FALSE(is_valid_image_side(side)) << side;
  test::expect_error([&] { check_image_sides(64, 48, "pixels"); },
                     "pixels of 64x48: both sides must be positive multiples of 32, at most 4096");
  test::expect_error([&] { (void)model->preprocess_image(Image::from_pixels(std::vector<uint8_t>(12, 0).data(), 2, 2, 3),
                                                         {.size = 40}); },
                     "image size of 40x40");
}

// A session encodes images on its own backend and threads; the result is the model's own encoding.
TEST(Checkpoint, SessionEncodesImagesLikeTheModel) {
  auto model = Model::load(vlm("hf"), {.n_threads = 2});
  Session session(model, {.n_ctx = 512});
  const Image image = Image::load(test::fixture("vision/mnv5-tiny/images/cockpit.png"));
  const ImageEmbedding a = model->encode_image(image, {.size = 256});
  const ImageEmbedding b = session.encode_image(image, {.size = 256});
  EXPECT_EQ(a.n_tokens, b.n_tokens);
  EXPECT_EQ(a.dim, b.dim);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.dim, model->info().hidden);
}

}  // namespace
}  // namespace autoneural

namespace autoneural {
namespace {

// Every command that takes a model takes a Hugging Face directory as it takes a GGUF file (issue 10,
// item 6): quantize converts it first, quant-report and calibrate read it directly.
TEST(Checkpoint, QuantizeAndQuantReportTakeHuggingFaceDirectories) {
  test::TempDir dir;
  const std::string hf = test::quote(vlm("hf"));
  auto r = test::run_cli("convert " + hf + " " + dir.file("m.gguf") + " --type f32 --vision-type f32");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = test::run_cli("quantize " + hf + " " + dir.file("from-dir.gguf") + " --recipe w8a16 -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = test::run_cli("quantize " + dir.file("m.gguf") + " " + dir.file("from-gguf.gguf") + " --recipe w8a16 -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(format::read_text_file(dir.file("from-dir.gguf"), size_t{1} << 30),
            format::read_text_file(dir.file("from-gguf.gguf"), size_t{1} << 30));
  // No temporary folder is left next to the output.
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    EXPECT_NE(e.path().filename().string().rfind(".autoneural-tmp-", 0), 0u) << e.path();
  // A split text + vision output from a directory, and a calibration recorded on the directory.
  r = test::run_cli("calibrate -m " + hf + " --images " + test::quote(test::fixture("vision/mnv5-tiny/images")) +
                    " --size 64 --out " + dir.file("calib.json") + " -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = test::run_cli("quantize " + hf + " " + dir.file("t.gguf") + " --mmproj-out " + dir.file("v.gguf") +
                    " --recipe w8a16 --calib " + dir.file("calib.json") + " -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Checkpoint::open(dir.file("v.gguf"))->kind(), CheckpointKind::VisionGguf);
  r = test::run_cli("quant-report -m " + hf + " --images " + test::quote(test::fixture("vision/mnv5-tiny/images")) +
                    " --recipes w8a16 --size 64 -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("connector_output"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace autoneural
