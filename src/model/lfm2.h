// The LFM2 hybrid language model (architecture-reference §3): gated short-convolution layers and a few
// GQA attention layers, SwiGLU feed-forward, RMSNorm, tied embeddings.
//
// This file states what is computed; the Backend decides how. One forward() call runs a chunk of
// consecutive tokens (or embedding rows) of one sequence through every layer, reading and updating the
// sequence's state (conv windows, KV cache).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/lfm2_config.h"
#include "model/lfm2_manifest.h"
#include "format/weight_source.h"
#include "backend/backend.h"
#include "backend/sequence_state.h"

namespace autoneural::model {

// Scratch activations of one forward chunk, owned by the caller so that decoding does not allocate.
struct Lfm2Workspace {
  std::vector<float> h, xn, big0, big1, q, k, v, attn, normed_out;
};

// Which rows of a chunk produce logits.
enum class LogitsRows { None, Last, All };

class Lfm2Model {
 public:
  // Validates every tensor's presence and shape against lfm2_manifest(config); throws Error otherwise.
  Lfm2Model(std::shared_ptr<const format::WeightSource> weights, Lfm2Config config);

  const Lfm2Config& config() const { return config_; }
  const format::WeightSource& weights() const { return *weights_; }
  backend::StateShape state_shape(int64_t n_ctx, backend::CacheType cache_type) const;
  int64_t parameter_count() const;

  // Token embedding rows (dequantized) for `n` ids; ids must be < n_vocab (checked, Error otherwise).
  void embed(const int32_t* tokens, int64_t n, float* out) const;

  // Runs n rows at positions state.n_past() .. +n-1 and advances n_past. Input is either token ids or
  // embedding rows [n][hidden] (exactly one non-null). Logits [rows][n_vocab] go to `logits`.
  // The caller guarantees n_past + n <= the state's n_ctx.
  void forward(backend::Backend& backend, backend::SequenceState& state, const int32_t* tokens,
               const float* embeddings, int64_t n, LogitsRows rows, float* logits, Lfm2Workspace& ws) const;

 private:
  struct Layer {
    bool attention = false;
    std::vector<float> attn_norm, ffn_norm;
    backend::Weight in_proj, out_proj;   // short conv
    std::vector<float> conv_kernel;      // [hidden][l_cache]
    backend::Weight wq, wk, wv, wo;      // attention
    std::vector<float> q_norm, k_norm;   // [head_dim]
    backend::Weight ffn_gate, ffn_up, ffn_down;
    std::string site;                    // "blk.N"
  };

  std::shared_ptr<const format::WeightSource> weights_;
  Lfm2Config config_;
  const format::TensorRef* token_embd_ = nullptr;
  backend::Weight output_;
  std::vector<float> output_norm_;
  std::vector<Layer> layers_;
};

}  // namespace autoneural::model
