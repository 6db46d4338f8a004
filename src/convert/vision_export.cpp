#include "convert/vision_export.h"

#include <filesystem>

#include "autoneural/error.h"
#include "autoneural/vision.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "convert/export_util.h"
#include "model/connector_manifest.h"
#include "model/lfm2_manifest.h"
#include "model/mobilenetv5_manifest.h"
#include "model/vision_loader.h"

namespace autoneural::convert {

using namespace autoneural::model;  // the components whose files this writes

namespace {

using format::GgufValue;


void write_vision_metadata(format::GgufWriter& w, const VisionFileInfo& info) {
  mobilenetv5_config_to_gguf(info.encoder, w);
  connector_config_to_gguf(info.connector, w);
  preprocess_config_to_gguf(info.preprocess, w);
  image_tokens_to_gguf(info.tokens, w);
}

// The vision file's tensors: the encoder's, then the connector's.
TensorManifest vision_manifest(const MobileNetV5Config& encoder, const ConnectorConfig& connector) {
  TensorManifest m = mobilenetv5_manifest(encoder);
  for (auto& s : connector_manifest(connector)) m.push_back(std::move(s));
  return m;
}

}  // namespace

void convert_autoneural_hf(const std::string& hf_dir, const std::string& text_out, const std::string& vision_out,
                           TensorType text_type, TensorType vision_type, const ProgressFn& progress) {
  const auto checkpoint = Checkpoint::open(hf_dir);
  if (checkpoint->kind() != CheckpointKind::HfAutoNeural)
    throw Error(hf_dir + " holds: " + checkpoint_kind_name(checkpoint->kind()) +
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
  const TensorManifest manifest = vision_manifest(info.encoder, info.connector);
  const auto& tensors = src->tensors();
  size_t done = 0;
  for (const auto& [name, t] : tensors) {
    const TensorSpec* spec = find_spec(manifest, name);
    if (!spec) throw Error(hf_dir + ": tensor " + t.source_name + " is not part of this vision tower or connector");
    add_converted_tensor(w, *spec, t.type, t.data, t.ne, vision_type, hf_dir);
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
  format::GgufWriter w;
  VisionFileInfo info;
  info.encoder = enc;
  info.encoder.image_size = o.image_size;
  info.preprocess.image_size = o.image_size;
  info.connector = conn;
  if (conn.kind == ConnectorKind::Gemma3nEmbedder) {
    info.connector.hidden_dim = 0;
    info.connector.bias = false;
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
  auto store = [&](const TensorSpec& s) -> StoredShape {
    if (!o.llama_cpp_mmproj) return stored_shape(s, o.type);
    // llama.cpp's converter: matrices and depthwise kernels F16, the stem and vectors F32. Its graph adds
    // the stem bias to and multiplies the gammas into [W, H, C] maps directly, which needs ne [1, 1, C, 1]
    // to broadcast per channel (a [C] vector would broadcast along W, or fail).
    if (s.role == TensorRole::Bias || s.role == TensorRole::LayerScale) return {TensorType::F32, {1, 1, s.ne[0], 1}};
    const bool f16 = s.storage == TensorStorage::Target || s.role == TensorRole::DepthwiseKernel;
    return {f16 && o.type != TensorType::F32 ? TensorType::F16 : TensorType::F32, s.ne};
  };
  // Like the fixture's generator (TensorSpec::init): weights with variance 1/fan_in, norms in [0.5, 1.5],
  // gammas in [0.2, 1.0], biases small. Activations then stay O(1) through all 84 blocks.
  SplitMix rng{o.seed};
  add_random_tensors(w, vision_manifest(enc, conn), rng, store, progress);
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
  const double text_params = static_cast<double>(parameter_count(lfm2_manifest(text)));
  const double split = text_params / (text_params + vision_params);
  auto part = [&](double lo, double hi) -> ProgressFn {
    if (!progress) return {};
    return [=, &progress](double f, std::string_view what) { progress(lo + (hi - lo) * f, what); };
  };
  make_random_lfm2(text, text_type, text_out, seed, part(0.0, split));
  write_random_vision(vision, connector, o, vision_out, part(split, 1.0));
}

}  // namespace autoneural::convert
