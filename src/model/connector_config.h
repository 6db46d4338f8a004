// What sits around the vision encoder in a model file: the connector's shape, how images are
// preprocessed, and which token ids stand for images in prompts (docs/formats.md "Vision GGUF").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "format/gguf_fwd.h"

namespace autoneural::model {

enum class ConnectorKind {
  Mlp2,             // AutoNeural: Linear → GELU → Linear, biases (tensors mm.1.*, mm.2.*)
  Gemma3nEmbedder,  // Gemma 3n: ×√C, RMSNorm, Linear, RMSNorm (mm.soft_emb_norm, mm.input_projection)
};

struct ConnectorConfig {
  ConnectorKind kind = ConnectorKind::Mlp2;
  int64_t in_dim = 0, hidden_dim = 0, out_dim = 0;
  bool bias = true;
  bool gelu_tanh = false;  // mlp2 activation: exact erf GELU ("gelu", the AutoNeural default) or tanh approximation
  float eps = 1e-6f;       // gemma3n norms
};

struct VisionPreprocessConfig {
  int image_size = 0;  // square input; 0 = the encoder's default
  std::array<float, 3> mean{0, 0, 0}, std{1, 1, 1};
  bool letterbox = false;  // stretch (as trained) unless the file says otherwise
};

// -1: not given (looked up in the vocabulary by text); tokens_per_image 0: not given.
struct ImageTokenConfig {
  int32_t image_token_id = -1, image_start_id = -1, image_end_id = -1;
  int64_t tokens_per_image = 0;
};

// HF AutoNeural tensor names → ours: model.multi_modal_projector.linear_{1,2}.* → mm.{1,2}.*,
// model.embed_vision.* (Gemma 3n) → mm.input_projection / mm.soft_emb_norm; the naming of
// connector_manifest (model/connector_manifest.cpp) read backwards.
std::optional<std::string> connector_hf_to_gguf_name(std::string_view hf_name);

const char* connector_kind_name(ConnectorKind kind);

void connector_config_to_gguf(const ConnectorConfig& c, format::GgufWriter& w);
void preprocess_config_to_gguf(const VisionPreprocessConfig& p, format::GgufWriter& w);
void image_tokens_to_gguf(const ImageTokenConfig& t, format::GgufWriter& w);

}  // namespace autoneural::model
