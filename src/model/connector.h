// The connector from vision tokens to language-model embeddings (architecture-reference §2):
//  - AutoNeural's normalization-free MLP ("mlp2"): Linear → GELU → Linear, with biases;
//  - Gemma 3n's multimodal embedder: ×√C, RMSNorm(weight), Linear (no bias), RMSNorm (no weight),
//    so that a Gemma 3n vision tower (llama.cpp gemma3nv mmproj) can drive an LFM2 of the same width.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/connector_config.h"
#include "format/weight_source.h"
#include "backend/backend.h"

namespace autoneural::model {

class Connector {
 public:
  // Validates the tensors against the configuration; throws Error naming a missing or misshaped tensor.
  Connector(std::shared_ptr<const format::WeightSource> weights, ConnectorConfig config);

  const ConnectorConfig& config() const { return config_; }
  int64_t parameter_count() const;

  // x: n rows of in_dim (vision tokens); y: n rows of out_dim (LM embeddings). x is not modified.
  void forward(backend::Backend& backend, const float* x, int64_t n, float* y) const;

 private:
  std::shared_ptr<const format::WeightSource> weights_;
  ConnectorConfig config_;
  backend::Weight w1_, w2_;            // mlp2: mm.1, mm.2; gemma3n: w1_ = input_projection
  std::vector<float> b1_, b2_;         // mlp2 biases (empty without bias)
  std::vector<float> soft_norm_;       // gemma3n soft_emb_norm weight
};

}  // namespace autoneural::model
