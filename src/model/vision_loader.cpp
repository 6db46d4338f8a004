#include "model/vision_loader.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>

#include "autoneural/error.h"
#include "format/json.h"
#include "autoneural/vision.h"
#include "format/gguf.h"
#include "format/mapped_file.h"
#include "model/checkpoint.h"

namespace autoneural::model {

namespace {

int32_t checked_id(int64_t v, const std::string& what, const std::string& label) {
  if (v < -1 || v > (1 << 24)) throw Error(label + ": " + what + " " + std::to_string(v) + " is not a token id");
  return static_cast<int32_t>(v);
}

}  // namespace

VisionFileInfo vision_info_from_hf_config(const nlohmann::json& j, const std::string& dir, const std::string& cfg_path) {
  if (!j.is_object() || !j.contains("vision_config") || !j["vision_config"].is_object())
    throw Error(cfg_path + ": no vision_config (not an AutoNeural vision-language model)");
  VisionFileInfo info;
  info.encoder = mobilenetv5_config_from_hf_json(j["vision_config"].dump(), cfg_path);
  try {
    auto& c = info.connector;
    const std::string type = j.value("projector_type", std::string("mlp2"));
    if (type != "mlp2") throw Error("projector_type '" + type + "' is not supported (mlp2)");
    if (j.contains("projector_norm") && !j["projector_norm"].is_null())
      throw Error("projector_norm must be null (the AutoNeural connector is normalization-free)");
    const std::string act = j.value("projector_hidden_act", std::string("gelu"));
    if (act != "gelu" && act != "gelu_pytorch_tanh")
      throw Error("projector_hidden_act '" + act + "' is not supported (gelu, gelu_pytorch_tanh)");
    c.kind = ConnectorKind::Mlp2;
    c.gelu_tanh = act == "gelu_pytorch_tanh";
    c.bias = j.value("projector_bias", true);
    c.in_dim = info.encoder.msfa_output_channels;
    c.hidden_dim = format::json_int(j, "projector_hidden_size", 0);
    const auto& text = j.value("text_config", nlohmann::json::object());
    c.out_dim = format::json_int(text, "hidden_size", 0);
    if (c.hidden_dim <= 0 || c.out_dim <= 0)
      throw Error("projector_hidden_size and text_config.hidden_size must be positive");
    auto& t = info.tokens;
    t.image_token_id = checked_id(format::json_int(j, "image_token_id", -1), "image_token_id", cfg_path);
    t.image_start_id = checked_id(format::json_int(j, "image_start_token_id", -1), "image_start_token_id", cfg_path);
    t.image_end_id = checked_id(format::json_int(j, "image_end_token_id", -1), "image_end_token_id", cfg_path);
    t.tokens_per_image = format::json_int(j, "mm_tokens_per_image", 0);
  } catch (const nlohmann::json::exception& e) {
    throw Error(cfg_path + ": bad field: " + e.what());
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with(cfg_path)) throw;
    throw Error(cfg_path + ": " + e.what());
  }
  info.preprocess.image_size = info.encoder.image_size;
  const std::string pre_path = (std::filesystem::path(dir) / "preprocessor_config.json").string();
  if (std::filesystem::exists(pre_path)) {
    const auto p = format::parse_json_file(pre_path);
    if (!p.is_object()) throw Error(pre_path + ": not a JSON object");
    try {
      if (p.contains("size") && p["size"].is_object()) {
        const int64_t h64 = format::json_int(p["size"], "height", 0), w64 = format::json_int(p["size"], "width", 0);
        const int h = static_cast<int>(std::clamp<int64_t>(h64, -1, INT32_MAX)), w = static_cast<int>(std::clamp<int64_t>(w64, -1, INT32_MAX));
        if (h != w) throw Error("size must be square, got " + std::to_string(h) + "x" + std::to_string(w));
        check_image_sides(h, w, "size");
        info.preprocess.image_size = h;
      }
      if (p.value("do_rescale", true) && std::abs(p.value("rescale_factor", 1.0 / 255) - 1.0 / 255) > 1e-9)
        throw Error("only rescale_factor 1/255 is supported");
      if (p.value("do_normalize", false)) {
        const auto mean = p.at("image_mean").get<std::vector<float>>(), std = p.at("image_std").get<std::vector<float>>();
        if (mean.size() != 3 || std.size() != 3) throw Error("image_mean and image_std need 3 values");
        for (int i = 0; i < 3; ++i) {
          if (!(std[i] > 0)) throw Error("image_std must be positive");
          info.preprocess.mean[i] = mean[i];
          info.preprocess.std[i] = std[i];
        }
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(pre_path + ": bad field: " + e.what());
    } catch (const Error& e) {
      throw Error(pre_path + ": " + e.what());
    }
  }
  return info;
}

namespace {

void read_preprocess(const format::GgufFile& f, const char* size_key, const char* mean_key, const char* std_key,
                     VisionPreprocessConfig& p) {
  if (auto s = f.get_int(size_key)) {
    check_image_sides(*s, *s, f.path() + ": " + size_key);
    p.image_size = static_cast<int>(*s);
  }
  auto triple = [&](const char* key, std::array<float, 3>& out, bool positive) {
    if (auto v = f.get_float_array(key)) {
      if (v->size() != 3) throw Error(f.path() + ": " + key + " needs 3 values");
      for (int i = 0; i < 3; ++i) {
        if (positive && !((*v)[i] > 0)) throw Error(f.path() + ": " + key + " must be positive");
        out[i] = static_cast<float>((*v)[i]);
      }
    }
  };
  triple(mean_key, p.mean, false);
  triple(std_key, p.std, true);
}

VisionFileInfo from_our_gguf(const format::WeightSource& src) {
  const auto& f = *src.gguf();
  VisionFileInfo info;
  info.encoder = mobilenetv5_config_from_gguf(f);
  auto& c = info.connector;
  const std::string type = f.get_string("autoneural.projector.type").value_or("mlp2");
  if (type == "mlp2") c.kind = ConnectorKind::Mlp2;
  else if (type == "gemma3n") c.kind = ConnectorKind::Gemma3nEmbedder;
  else throw Error(f.path() + ": projector type '" + type + "' is not supported (mlp2, gemma3n)");
  auto dim = [&](const char* key) {
    const int64_t v = f.get_int(key).value_or(0);
    if (v < 0 || v > (1 << 20)) throw Error(f.path() + ": " + key + " out of range");
    return v;
  };
  c.in_dim = dim("autoneural.projector.input_size");
  c.hidden_dim = dim("autoneural.projector.hidden_size");
  c.out_dim = dim("autoneural.projector.output_size");
  c.bias = f.get_bool("autoneural.projector.bias").value_or(true);
  const std::string act = f.get_string("autoneural.projector.act").value_or("gelu");
  if (act != "gelu" && act != "gelu_tanh") throw Error(f.path() + ": projector activation '" + act + "' is not supported");
  c.gelu_tanh = act == "gelu_tanh";
  c.eps = static_cast<float>(f.get_float("autoneural.projector.norm_eps").value_or(1e-6));
  if (c.in_dim != info.encoder.msfa_output_channels)
    throw Error(f.path() + ": the connector takes " + std::to_string(c.in_dim) + " channels but the encoder outputs " +
                std::to_string(info.encoder.msfa_output_channels));
  info.preprocess.image_size = info.encoder.image_size;
  read_preprocess(f, "autoneural.image.size", "autoneural.image.mean", "autoneural.image.std", info.preprocess);
  const std::string resize = f.get_string("autoneural.image.resize").value_or("stretch");
  if (resize != "stretch" && resize != "letterbox") throw Error(f.path() + ": image resize '" + resize + "' is unknown");
  info.preprocess.letterbox = resize == "letterbox";
  auto& t = info.tokens;
  t.image_token_id = checked_id(f.get_int("autoneural.image.token_id").value_or(-1), "image token id", f.path());
  t.image_start_id = checked_id(f.get_int("autoneural.image.start_token_id").value_or(-1), "image start id", f.path());
  t.image_end_id = checked_id(f.get_int("autoneural.image.end_token_id").value_or(-1), "image end id", f.path());
  t.tokens_per_image = f.get_int("autoneural.image.tokens_per_image").value_or(0);
  return info;
}

std::string expansion_text(int64_t mid, int64_t in) {
  if (mid % in == 0) return std::to_string(mid / in);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(mid) / static_cast<double>(in));
  return buf;
}

VisionFileInfo from_llama_cpp_mmproj(const format::WeightSource& src) {
  const auto& f = *src.gguf();
  VisionFileInfo info;
  const int64_t image_size = f.get_int("clip.vision.image_size").value_or(768);
  check_image_sides(image_size, image_size, f.path() + ": clip.vision.image_size");
  // Gemma 3n's converter sets patch_size so that image_size / patch_size is the number of output tokens
  // (768 / 3 = 256 = 16²).
  const int64_t patch = f.get_int("clip.vision.patch_size").value_or(3);
  const int64_t tokens = patch > 0 ? image_size / patch : 0;
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(tokens))));
  if (tokens <= 0 || side * side != tokens)
    throw Error(f.path() + ": clip.vision.image_size / patch_size = " + std::to_string(tokens) +
                " is not a square number of output tokens");
  info.encoder = infer_mobilenetv5_from_tensors(src, static_cast<int>(image_size), static_cast<int>(side));
  info.preprocess.image_size = static_cast<int>(image_size);
  read_preprocess(f, "clip.vision.image_size", "clip.vision.image_mean", "clip.vision.image_std", info.preprocess);
  auto& c = info.connector;
  c.kind = ConnectorKind::Gemma3nEmbedder;
  c.eps = static_cast<float>(f.get_float("clip.vision.attention.layer_norm_epsilon").value_or(1e-6));
  const format::TensorRef* proj = src.find("mm.input_projection.weight");
  if (!proj || proj->ne.size() < 2) throw Error(f.path() + ": missing tensor mm.input_projection.weight");
  c.in_dim = proj->ne[0];
  c.out_dim = proj->ne[1];
  c.bias = false;
  if (c.in_dim != info.encoder.msfa_output_channels)
    throw Error(f.path() + ": mm.input_projection.weight takes " + std::to_string(c.in_dim) +
                " channels but the encoder outputs " + std::to_string(info.encoder.msfa_output_channels));
  info.tokens.tokens_per_image = tokens;
  return info;
}

}  // namespace

MobileNetV5Config infer_mobilenetv5_from_tensors(const format::WeightSource& src, int image_size, int output_resolution) {
  auto shape = [&](const std::string& name) -> const std::vector<int64_t>* {
    const format::TensorRef* t = src.find(name);
    return t ? &t->ne : nullptr;
  };
  auto last = [](const std::vector<int64_t>& ne) { return ne.back(); };
  auto second_last = [](const std::vector<int64_t>& ne) { return ne.size() >= 2 ? ne[ne.size() - 2] : 0; };
  MobileNetV5Config c;
  c.architecture = "custom";
  c.image_size = image_size;
  const auto* stem = shape("v.conv_stem.conv.weight");
  if (!stem || stem->size() != 4) throw Error(src.path() + ": missing tensor v.conv_stem.conv.weight");
  c.stem_size = static_cast<int>(last(*stem));
  c.stem_kernel = static_cast<int>((*stem)[0]);
  c.stem_bias = src.find("v.conv_stem.conv.bias") != nullptr;
  int64_t in = c.stem_size;
  for (int s = 0; s < 16; ++s) {
    std::vector<VisionBlockDef> stage;
    for (int b = 0; b < 1000; ++b) {
      const std::string p = "v.blk." + std::to_string(s) + "." + std::to_string(b) + ".";
      const std::string stride = b == 0 ? "_s2" : "_s1";
      std::string text;
      int64_t out = 0;
      if (const auto* e = shape(p + "conv_exp.weight")) {
        const auto* pwl = shape(p + "conv_pwl.weight");
        if (!pwl) throw Error(src.path() + ": missing tensor " + p + "conv_pwl.weight");
        out = last(*pwl);
        text = "er_r1_k" + std::to_string((*e)[0]) + stride + "_e" + expansion_text(last(*e), in) + "_c" +
               std::to_string(out);
      } else if (const auto* pw = shape(p + "pw_exp.conv.weight")) {
        const auto* start = shape(p + "dw_start.conv.weight");
        const auto* mid = shape(p + "dw_mid.conv.weight");
        const auto* proj = shape(p + "pw_proj.conv.weight");
        if (!proj) throw Error(src.path() + ": missing tensor " + p + "pw_proj.conv.weight");
        out = last(*proj);
        text = "uir_r1_a" + std::to_string(start ? (*start)[0] : 0) + "_k" + std::to_string(mid ? (*mid)[0] : 0) +
               (start || mid ? stride : "_s1") + "_e" + expansion_text(last(*pw), in) + "_c" + std::to_string(out);
      } else if (const auto* q = shape(p + "attn.query.proj.weight")) {
        const auto* k = shape(p + "attn.key.proj.weight");
        const auto* o = shape(p + "attn.output.proj.weight");
        if (!k || !o) throw Error(src.path() + ": incomplete attention block " + p);
        const int64_t d = last(*k);
        if (d <= 0 || last(*q) % d != 0) throw Error(src.path() + ": attention block " + p + " has odd head sizes");
        out = last(*o);
        const auto* down = shape(p + "attn.key.down_conv.weight");
        text = "mqa_r1_k" + std::to_string(down ? (*down)[0] : 3) + "_h" + std::to_string(last(*q) / d) +
               (down ? "_v2" : "") + "_s1_d" + std::to_string(d) + "_c" + std::to_string(out);
      } else {
        break;
      }
      for (auto& blk : parse_vision_block(text)) stage.push_back(std::move(blk));
      in = out;
    }
    if (stage.empty()) break;
    c.stages.push_back(std::move(stage));
  }
  if (c.stages.empty()) throw Error(src.path() + ": no MobileNetV5 blocks (v.blk.0.0.*) found");
  const auto* exp = shape("v.msfa.ffn.pw_exp.conv.weight");
  const auto* proj = shape("v.msfa.ffn.pw_proj.conv.weight");
  if (!exp || !proj) throw Error(src.path() + ": missing MSFA tensors v.msfa.ffn.*");
  c.msfa_output_channels = static_cast<int>(last(*proj));
  c.msfa_expansion = static_cast<double>(last(*exp)) / static_cast<double>(second_last(*exp));
  c.msfa_output_resolution = output_resolution;
  c.validate();
  // Name the built-in architecture when the blocks are exactly its blocks.
  const MobileNetV5Config builtin = mobilenetv5_builtin("mobilenetv5_300m_enc");
  bool same = builtin.stages.size() == c.stages.size() && builtin.stem_size == c.stem_size &&
              builtin.msfa_output_channels == c.msfa_output_channels;
  for (size_t s = 0; same && s < c.stages.size(); ++s) {
    same = builtin.stages[s].size() == c.stages[s].size();
    for (size_t i = 0; same && i < c.stages[s].size(); ++i) same = builtin.stages[s][i].text == c.stages[s][i].text;
  }
  if (same) c.architecture = builtin.architecture;
  return c;
}

VisionFileInfo read_vision_metadata(const format::WeightSource& src) {
  if (!src.is_gguf()) return Checkpoint::open(src.path())->vision();
  const auto& f = *src.gguf();
  if (f.find("autoneural.vision.block_defs")) return from_our_gguf(src);
  const std::string proj = f.get_string("clip.vision.projector_type").value_or(f.get_string("clip.projector_type").value_or(""));
  if (proj == "gemma3nv") return from_llama_cpp_mmproj(src);
  if (!proj.empty())
    throw Error(f.path() + ": projector type '" + proj + "' is not supported (gemma3nv, or an autoneural vision file)");
  throw Error(f.path() + " has no vision encoder (no autoneural.vision.* keys and no llama.cpp mmproj keys)");
}

void check_vision_fits_text(const VisionFileInfo& info, int64_t text_hidden, const std::string& label) {
  if (info.connector.out_dim != text_hidden)
    throw Error("vision file " + label + " outputs " + std::to_string(info.connector.out_dim) +
                "-wide embeddings but the language model's hidden size is " + std::to_string(text_hidden));
}

}  // namespace autoneural::model
