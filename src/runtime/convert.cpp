// Workflows that write model files (include/autoneural/workflows.h): conversion of Hugging Face
// directories and random models of the published shapes.
#include "autoneural/workflows.h"
#include "convert/lfm2_export.h"
#include "convert/vision_export.h"
#include "format/tensor_type.h"
#include "model/checkpoint.h"

namespace autoneural {

namespace {

TensorType writable_type(const std::string& name, const std::string& what, bool allow_q4) {
  const auto t = parse_tensor_type(name);
  if (!t || *t == TensorType::Q4_K || *t == TensorType::Q6_K || (!allow_q4 && *t == TensorType::Q4_0))
    throw Error("unsupported " + what + " '" + name + "' (expected f32, f16, bf16, q8_0" + (allow_q4 ? " or q4_0)" : ")"));
  return *t;
}

}  // namespace

void check_writable_type(const std::string& type, const std::string& what, bool allow_q4) {
  (void)writable_type(type, what, allow_q4);
}

CheckpointInfo identify_checkpoint(const std::string& path) {
  const auto c = model::Checkpoint::open(path);
  return {path, model::checkpoint_kind_name(c->kind()), c->is_gguf(), c->has_language_model(), c->has_vision()};
}

ConvertResult convert_hf(const std::string& hf_dir, const std::string& out, const ConvertOptions& o,
                         const ProgressFn& progress) {
  const TensorType t = writable_type(o.type, "type", true);
  // Convolutions are stored as matrices of in·k² columns; 4-bit blocks would lose too much.
  const TensorType vt = writable_type(o.vision_type, "vision type", false);
  const auto checkpoint = model::Checkpoint::open(hf_dir);
  ConvertResult r{model::checkpoint_kind_name(checkpoint->kind()), checkpoint->has_vision()};
  switch (checkpoint->kind()) {
    case model::CheckpointKind::HfLfm2:
      if (!o.vision_out.empty()) throw Error(hf_dir + " has no vision part (config.json has no vision_config)");
      convert::convert_lfm2_hf_to_gguf(hf_dir, out, t, progress);
      return r;
    case model::CheckpointKind::HfAutoNeural:
      convert::convert_autoneural_hf(hf_dir, out, o.vision_out, t, vt, progress);
      return r;
    default:
      throw Error(hf_dir + " holds: " + model::checkpoint_kind_name(checkpoint->kind()) +
                  "; convert takes a Hugging Face LFM2 or AutoNeural directory with a language model");
  }
}

RandomModelResult make_random_model(const std::string& out, const RandomModelOptions& o, const ProgressFn& progress) {
  if (o.arch != "lfm2" && o.arch != "autoneural")
    throw Error("unknown architecture '" + o.arch + "' (available: lfm2, autoneural)");
  if (o.arch == "autoneural" && o.vision_out.empty()) throw Error("a random AutoNeural model needs a vision file");
  if (o.arch == "lfm2" && (!o.vision_out.empty() || o.llama_cpp_mmproj))
    throw Error("a vision file and the llama.cpp mmproj form need the autoneural architecture");
  const TensorType t = writable_type(o.type, "type", true);
  const TensorType vt = writable_type(o.vision_type, "vision type", false);
  const auto config = model::lfm2_preset(o.size);
  RandomModelResult r{config.hidden, 0};
  if (o.arch == "lfm2") {
    convert::make_random_lfm2(config, t, out, o.seed, progress);
    return r;
  }
  const auto encoder = model::mobilenetv5_builtin("mobilenetv5_300m_enc");
  model::ConnectorConfig connector;
  connector.in_dim = encoder.msfa_output_channels;
  connector.out_dim = config.hidden;
  if (o.llama_cpp_mmproj) {
    connector.kind = model::ConnectorKind::Gemma3nEmbedder;
    connector.bias = false;
  } else {
    // AutoNeural's connector (UNCONFIRMED width; the fixture's rule): hidden = the text width, erf GELU.
    connector.kind = model::ConnectorKind::Mlp2;
    connector.hidden_dim = config.hidden;
  }
  convert::make_random_autoneural(config, encoder, connector, t, vt, out, o.vision_out, o.seed, o.llama_cpp_mmproj,
                                  progress);
  r.vision_channels = encoder.msfa_output_channels;
  return r;
}

}  // namespace autoneural
