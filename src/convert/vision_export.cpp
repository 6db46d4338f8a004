#include "convert/vision_export.h"

#include <cmath>
#include <filesystem>

#include "autoneural/error.h"
#include "autoneural/vision.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "kernels/quantize.h"
#include "convert/export_util.h"
#include "model/mobilenetv5.h"
#include "model/vision_loader.h"

namespace autoneural::convert {

using namespace autoneural::model;  // the components whose files this writes
using format::HfNameMapper;
using format::WeightSource;

namespace {

using format::GgufValue;

bool is_depthwise(const std::vector<int64_t>& ne) { return ne.size() == 4 && ne[2] == 1 && ne[0] > 1; }

void write_vision_metadata(format::GgufWriter& w, const VisionFileInfo& info) {
  mobilenetv5_config_to_gguf(info.encoder, w);
  connector_config_to_gguf(info.connector, w);
  preprocess_config_to_gguf(info.preprocess, w);
  image_tokens_to_gguf(info.tokens, w);
}

void add_tensor_f32(format::GgufWriter& w, const std::string& name, const std::vector<int64_t>& ne,
                    const std::vector<float>& values, TensorType target) {
  const StoredShape s = vision_storage(name, ne, target);
  const auto bytes = encode_rows(values.data(), s.ne[0], static_cast<int64_t>(values.size()) / s.ne[0], s.type);
  w.add_tensor(name, s.type, s.ne, bytes.data(), bytes.size());
}

}  // namespace

StoredShape vision_storage(std::string_view name, const std::vector<int64_t>& ne, TensorType target) {
  const bool vector_like = ne.size() == 1 || ends_with(name, ".bn.weight") || ends_with(name, "norm.weight") ||
                           ends_with(name, "bn1.weight") || ends_with(name, "bn2.weight") ||
                           ends_with(name, ".gamma") || ends_with(name, ".bias");
  if (vector_like || is_depthwise(ne) || name.find("conv_stem") != std::string_view::npos)
    return {TensorType::F32, ne};
  const int64_t block = traits(target).block_elems;
  if (block == 1) return {target, ne};
  int64_t cols = 1;
  for (size_t i = 0; i + 1 < ne.size(); ++i) cols *= ne[i];
  if (cols % block != 0) return {TensorType::F16, ne};
  return {target, {cols, ne.back()}};
}

void convert_autoneural_hf(const std::string& hf_dir, const std::string& text_out, const std::string& vision_out,
                           TensorType text_type, TensorType vision_type, const ProgressFn& progress) {
  const auto checkpoint = Checkpoint::open(hf_dir);
  if (checkpoint->kind() != CheckpointKind::HfAutoNeural)
    throw Error(hf_dir + " is a " + checkpoint_kind_name(checkpoint->kind()) +
                ", not a Hugging Face AutoNeural directory with a language model");
  const auto src = checkpoint->vision_weights();
  const VisionFileInfo& info = checkpoint->vision();
  auto part = [&](double lo, double hi) -> ProgressFn {
    if (!progress) return {};
    return [=, &progress](double f, std::string_view what) { progress(lo + (hi - lo) * f, what); };
  };
  format::GgufWriter text;
  add_lfm2_from_hf(*checkpoint, text, text_type, part(0.0, 0.5), &autoneural_vision_hf_to_gguf_name);
  format::GgufWriter vision_only;
  format::GgufWriter& w = vision_out.empty() ? text : vision_only;
  if (!vision_out.empty()) {
    w.set("general.architecture", GgufValue::make_string("autoneural-vision"));
    w.set("general.name", GgufValue::make_string(std::filesystem::path(hf_dir).filename().string() + "-vision"));
    w.set("general.file_type", GgufValue::make_u32(file_type_id(vision_type)));
  }
  write_vision_metadata(w, info);
  const auto& tensors = src->tensors();
  size_t done = 0;
  std::vector<float> values;
  for (const auto& [name, t] : tensors) {
    values.resize(static_cast<size_t>(t.n_elements()));
    kernels::dequantize_row(t.type, t.data, values.data(), t.n_elements());
    // Layer-scale gammas and the stem bias are plain vectors (ne [C]) whatever the checkpoint's shape.
    std::vector<int64_t> ne = t.ne;
    if (ends_with(name, ".gamma") || ends_with(name, ".bias")) ne = {t.n_elements()};
    add_tensor_f32(w, name, ne, values, vision_type);
    if (progress) progress(0.5 + 0.45 * static_cast<double>(++done) / static_cast<double>(tensors.size()), name);
  }
  text.write(text_out);
  if (!vision_out.empty()) vision_only.write(vision_out);
  if (progress) progress(1.0, "written");
}

namespace {

// Errors for a random vision file that could not be written, checked before anything is drawn.
void check_random_vision(const MobileNetV5Config& enc, const ConnectorConfig& conn, const RandomVisionOptions& o) {
  enc.validate();
  if (conn.in_dim != enc.msfa_output_channels)
    throw Error("connector input width " + std::to_string(conn.in_dim) + " does not match the encoder's " +
                std::to_string(enc.msfa_output_channels) + " output channels");
  if (conn.out_dim <= 0 || (conn.kind == ConnectorKind::Mlp2 && conn.hidden_dim <= 0))
    throw Error("connector widths must be positive");
  if (o.llama_cpp_mmproj && conn.kind != ConnectorKind::Gemma3nEmbedder)
    throw Error("llama.cpp's gemma3nv mmproj holds the Gemma 3n embedder; an mlp2 connector cannot be written in it");
  check_image_sides(o.image_size, o.image_size, "image size");
}

// The random vision file of make_random_vision / make_random_autoneural. The tower's tensors are drawn in
// the same order in both flavours (connector last), so one seed gives one tower.
void write_random_vision(const MobileNetV5Config& enc, const ConnectorConfig& conn, const RandomVisionOptions& o,
                         const std::string& out_path, const ProgressFn& progress) {
  check_random_vision(enc, conn, o);
  const int64_t c_out = enc.msfa_output_channels;
  struct Spec {
    std::string name;
    std::vector<int64_t> ne;
    enum Kind { Weight, Norm, Gamma, Bias } kind;
    int64_t fan_in = 1;
  };
  std::vector<Spec> specs;
  const int64_t k0 = enc.stem_kernel;
  // llama.cpp adds the stem bias to and multiplies the gammas into [W, H, C] maps directly, which needs
  // ne [1, 1, C, 1] to broadcast per channel (a [C] vector would broadcast along W, or fail).
  auto channel_ne = [&](int64_t c) { return o.llama_cpp_mmproj ? std::vector<int64_t>{1, 1, c, 1} : std::vector<int64_t>{c}; };
  specs.push_back({"v.conv_stem.conv.weight", {k0, k0, enc.in_channels, enc.stem_size}, Spec::Weight, enc.in_channels * k0 * k0});
  if (enc.stem_bias) specs.push_back({"v.conv_stem.conv.bias", channel_ne(enc.stem_size), Spec::Bias});
  specs.push_back({"v.conv_stem.bn.weight", {enc.stem_size}, Spec::Norm});
  int64_t in = enc.stem_size;
  for (size_t s = 0; s < enc.stages.size(); ++s)
    for (size_t i = 0; i < enc.stages[s].size(); ++i) {
      const auto& b = enc.stages[s][i];
      const std::string p = "v.blk." + std::to_string(s) + "." + std::to_string(i) + ".";
      const int64_t out = b.out_channels;
      const int64_t mid = MobileNetV5Config::mid_channels(static_cast<int>(in), b.expansion);
      switch (b.kind) {
        case VisionBlockKind::EdgeResidual:
          specs.push_back({p + "conv_exp.weight", {b.kernel, b.kernel, in, mid}, Spec::Weight, in * b.kernel * b.kernel});
          specs.push_back({p + "bn1.weight", {mid}, Spec::Norm});
          specs.push_back({p + "conv_pwl.weight", {1, 1, mid, out}, Spec::Weight, mid});
          specs.push_back({p + "bn2.weight", {out}, Spec::Norm});
          break;
        case VisionBlockKind::UniversalInvertedResidual:
          if (b.dw_start) {
            specs.push_back({p + "dw_start.conv.weight", {b.dw_start, b.dw_start, 1, in}, Spec::Weight, b.dw_start * b.dw_start});
            specs.push_back({p + "dw_start.bn.weight", {in}, Spec::Norm});
          }
          specs.push_back({p + "pw_exp.conv.weight", {1, 1, in, mid}, Spec::Weight, in});
          specs.push_back({p + "pw_exp.bn.weight", {mid}, Spec::Norm});
          if (b.dw_mid) {
            specs.push_back({p + "dw_mid.conv.weight", {b.dw_mid, b.dw_mid, 1, mid}, Spec::Weight, b.dw_mid * b.dw_mid});
            specs.push_back({p + "dw_mid.bn.weight", {mid}, Spec::Norm});
          }
          specs.push_back({p + "pw_proj.conv.weight", {1, 1, mid, out}, Spec::Weight, mid});
          specs.push_back({p + "pw_proj.bn.weight", {out}, Spec::Norm});
          if (enc.layer_scale) specs.push_back({p + "layer_scale.gamma", channel_ne(out), Spec::Gamma});
          break;
        case VisionBlockKind::MobileAttention: {
          const int64_t hd = int64_t(b.heads) * b.key_dim;
          specs.push_back({p + "norm.weight", {in}, Spec::Norm});
          specs.push_back({p + "attn.query.proj.weight", {1, 1, in, hd}, Spec::Weight, in});
          for (const char* kv : {"key", "value"}) {
            const std::string q = p + "attn." + kv + ".";
            if (b.kv_stride > 1) {
              specs.push_back({q + "down_conv.weight", {b.kv_kernel, b.kv_kernel, 1, in}, Spec::Weight, b.kv_kernel * b.kv_kernel});
              specs.push_back({q + "norm.weight", {in}, Spec::Norm});
            }
            specs.push_back({q + "proj.weight", {1, 1, in, b.key_dim}, Spec::Weight, in});
          }
          specs.push_back({p + "attn.output.proj.weight", {1, 1, hd, out}, Spec::Weight, hd});
          if (enc.layer_scale) specs.push_back({p + "layer_scale.gamma", channel_ne(out), Spec::Gamma});
          break;
        }
      }
      in = out;
    }
  const int64_t msfa_in = enc.msfa_in_channels();
  const int64_t msfa_mid = MobileNetV5Config::mid_channels(static_cast<int>(msfa_in), enc.msfa_expansion);
  specs.push_back({"v.msfa.ffn.pw_exp.conv.weight", {1, 1, msfa_in, msfa_mid}, Spec::Weight, msfa_in});
  specs.push_back({"v.msfa.ffn.pw_exp.bn.weight", {msfa_mid}, Spec::Norm});
  specs.push_back({"v.msfa.ffn.pw_proj.conv.weight", {1, 1, msfa_mid, c_out}, Spec::Weight, msfa_mid});
  specs.push_back({"v.msfa.ffn.pw_proj.bn.weight", {c_out}, Spec::Norm});
  specs.push_back({"v.msfa.norm.weight", {c_out}, Spec::Norm});

  format::GgufWriter w;
  VisionFileInfo info;
  info.encoder = enc;
  info.encoder.image_size = o.image_size;
  info.preprocess.image_size = o.image_size;
  info.connector = conn;
  if (conn.kind == ConnectorKind::Gemma3nEmbedder) {
    specs.push_back({"mm.input_projection.weight", {c_out, conn.out_dim}, Spec::Weight, c_out});
    specs.push_back({"mm.soft_emb_norm.weight", {c_out}, Spec::Norm});
    info.connector.hidden_dim = 0;
    info.connector.bias = false;
  } else {
    specs.push_back({"mm.1.weight", {c_out, conn.hidden_dim}, Spec::Weight, c_out});
    if (conn.bias) specs.push_back({"mm.1.bias", {conn.hidden_dim}, Spec::Bias});
    specs.push_back({"mm.2.weight", {conn.hidden_dim, conn.out_dim}, Spec::Weight, conn.hidden_dim});
    if (conn.bias) specs.push_back({"mm.2.bias", {conn.out_dim}, Spec::Bias});
  }
  if (o.llama_cpp_mmproj) {
    // The keys llama.cpp's clip loader requires (tools/mtmd/clip.cpp load_hparams), valued as its Gemma 3n
    // converter writes them.
    const TensorType weight_type = o.type == TensorType::F32 ? TensorType::F32 : TensorType::F16;
    w.set("general.architecture", GgufValue::make_string("clip"));
    w.set("general.name", GgufValue::make_string(std::string(kRandomVisionNamePrefix) + "gemma3nv-mmproj"));
    w.set("general.file_type", GgufValue::make_u32(file_type_id(weight_type)));
    w.set("clip.has_vision_encoder", GgufValue::make_bool(true));
    w.set("clip.projector_type", GgufValue::make_string("gemma3nv"));
    w.set("clip.vision.projector_type", GgufValue::make_string("gemma3nv"));
    w.set("clip.vision.image_size", GgufValue::make_u32(static_cast<uint32_t>(o.image_size)));
    // Gemma 3n's converter sets patch_size so that image_size / patch_size = the 256 output tokens.
    w.set("clip.vision.patch_size", GgufValue::make_u32(static_cast<uint32_t>(o.image_size / enc.tokens_per_image())));
    w.set("clip.vision.embedding_length", GgufValue::make_u32(static_cast<uint32_t>(c_out)));
    w.set("clip.vision.projection_dim", GgufValue::make_u32(static_cast<uint32_t>(conn.out_dim)));
    w.set("clip.vision.feed_forward_length", GgufValue::make_u32(8192));  // placeholders, unused by this tower
    w.set("clip.vision.block_count", GgufValue::make_u32(128));
    w.set("clip.vision.attention.head_count", GgufValue::make_u32(8));
    w.set("clip.vision.attention.layer_norm_epsilon", GgufValue::make_f32(conn.eps));
    w.set("clip.vision.image_mean", GgufValue::make_f32_array({0, 0, 0}));
    w.set("clip.vision.image_std", GgufValue::make_f32_array({1, 1, 1}));
  } else {
    info.tokens.tokens_per_image = enc.tokens_per_image();
    w.set("general.architecture", GgufValue::make_string("autoneural-vision"));
    w.set("general.name", GgufValue::make_string(std::string(kRandomVisionNamePrefix) + info.encoder.architecture));
    w.set("general.file_type", GgufValue::make_u32(file_type_id(o.type)));
    write_vision_metadata(w, info);
  }
  int64_t total = 0, done = 0;
  auto count = [](const std::vector<int64_t>& ne) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
  };
  for (const auto& s : specs) total += count(s.ne);
  SplitMix rng{o.seed};
  std::vector<float> values;
  for (const auto& s : specs) {
    values.resize(static_cast<size_t>(count(s.ne)));
    // Like the fixture's generator: weights with variance 1/fan_in, norms in [0.5, 1.5], gammas in
    // [0.2, 1.0], biases small. Activations then stay O(1) through all 84 blocks.
    const float scale = std::sqrt(3.0f / static_cast<float>(s.fan_in));
    for (auto& x : values) {
      const float u = rng.uniform();
      switch (s.kind) {
        case Spec::Weight: x = scale * u; break;
        case Spec::Norm: x = 1.0f + 0.5f * u; break;
        case Spec::Gamma: x = 0.6f + 0.4f * u; break;
        case Spec::Bias: x = 0.1f * u; break;
      }
    }
    StoredShape st = vision_storage(s.name, s.ne, o.type);
    // llama.cpp's converter: every weight F16 (depthwise kernels included) except the stem; vectors F32.
    if (o.llama_cpp_mmproj && s.kind == Spec::Weight && s.name.find("conv_stem") == std::string::npos)
      st = {o.type == TensorType::F32 ? TensorType::F32 : TensorType::F16, s.ne};
    if (o.llama_cpp_mmproj && s.kind != Spec::Weight) st = {TensorType::F32, s.ne};
    const auto bytes = encode_rows(values.data(), st.ne[0], count(s.ne) / st.ne[0], st.type);
    w.add_tensor(s.name, st.type, st.ne, bytes.data(), bytes.size());
    done += count(s.ne);
    if (progress) progress(0.9 * static_cast<double>(done) / static_cast<double>(total), s.name);
  }
  w.write(out_path);
  if (progress) progress(1.0, "written");
}

}  // namespace

void make_random_vision(const MobileNetV5Config& enc, int64_t text_hidden, const RandomVisionOptions& o,
                        const std::string& out_path, const ProgressFn& progress) {
  ConnectorConfig conn;
  conn.kind = o.llama_cpp_mmproj ? ConnectorKind::Gemma3nEmbedder : ConnectorKind::Mlp2;
  conn.in_dim = enc.msfa_output_channels;
  conn.hidden_dim = o.llama_cpp_mmproj ? 0 : text_hidden;
  conn.out_dim = text_hidden;
  conn.bias = !o.llama_cpp_mmproj;
  write_random_vision(enc, conn, o, out_path, progress);
}

void make_random_autoneural(const Lfm2Config& text, const MobileNetV5Config& vision, const ConnectorConfig& connector,
                            TensorType text_type, TensorType vision_type, const std::string& text_out,
                            const std::string& vision_out, uint64_t seed, bool llama_cpp_mmproj,
                            const ProgressFn& progress) {
  text.validate();
  vision.validate();
  if (connector.out_dim != text.hidden)
    throw Error("the connector outputs " + std::to_string(connector.out_dim) +
                "-wide embeddings but the language model's hidden size is " + std::to_string(text.hidden));
  if (vision_out.empty()) throw Error("make_random_autoneural needs a vision output path");
  RandomVisionOptions o;
  o.type = vision_type;
  o.llama_cpp_mmproj = llama_cpp_mmproj;
  o.image_size = vision.image_size;
  o.seed = seed ^ 0x5649534E00000000ull;  // "VISN": the tower's stream differs from the text model's
  check_random_vision(vision, connector, o);  // before spending minutes on the text half
  // Split the bar by parameter count: the text model is most of the bytes.
  const double vision_params = static_cast<double>(vision.parameter_count());
  const double text_params = static_cast<double>(text.n_vocab * text.hidden +
                                                 text.n_layers * (4 * text.hidden * text.hidden + 3 * text.hidden * text.ff));
  const double split = text_params / (text_params + vision_params);
  auto part = [&](double lo, double hi) -> ProgressFn {
    if (!progress) return {};
    return [=, &progress](double f, std::string_view what) { progress(lo + (hi - lo) * f, what); };
  };
  make_random_lfm2(text, text_type, text_out, seed, part(0.0, split));
  write_random_vision(vision, connector, o, vision_out, part(split, 1.0));
}

}  // namespace autoneural::convert
