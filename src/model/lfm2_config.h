// LFM2 hyper-parameters (architecture-reference §3.1, §3.5), read from GGUF metadata or from a Hugging
// Face config.json, and written back as llama.cpp's converter writes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf_fwd.h"

namespace autoneural::model {

struct Lfm2Config {
  int64_t n_vocab = 0;
  int64_t hidden = 0;
  int64_t n_layers = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;       // of the attention layers
  int64_t head_dim = 0;        // hidden / n_head
  int64_t ff = 0;              // real (adjusted) SwiGLU width
  int64_t conv_l_cache = 3;    // short-conv kernel length; the rolling state keeps l_cache - 1 steps
  int64_t context_train = 0;   // trained context length (informational)
  float rope_theta = 1e6f;
  float norm_eps = 1e-5f;
  std::vector<bool> is_attention;  // per layer: true = GQA attention, false = gated short conv

  int64_t n_attention_layers() const;
  int64_t n_conv_layers() const { return n_layers - n_attention_layers(); }
  // Throws autoneural::Error if the numbers are inconsistent (zero sizes, hidden not divisible by heads...).
  void validate() const;
};

// Reads `lfm2.*` keys; head_count_kv may be a scalar or a per-layer array (0 marks a conv layer).
Lfm2Config lfm2_config_from_gguf(const format::GgufFile& file);
// Reads a Hugging Face Lfm2Config JSON text (layer_types or full_attn_idxs; FFN width rule of §3.1).
Lfm2Config lfm2_config_from_hf_json(const std::string& json_text, const std::string& label);
// Writes general.architecture = "lfm2" and the lfm2.* keys.
void lfm2_config_to_gguf(const Lfm2Config& config, format::GgufWriter& writer);

// The published shapes (§3.1): "350m", "700m", "1.2b". Throws Error for another name.
Lfm2Config lfm2_preset(const std::string& size);

}  // namespace autoneural::model
