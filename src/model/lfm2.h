// The LFM2 hybrid language model (architecture-reference §3): gated short-convolution layers and a few
// GQA attention layers, SwiGLU feed-forward, RMSNorm, tied embeddings.
//
// This file states what is computed; the Backend decides how. One forward_batch() call runs a chunk of
// consecutive tokens (or embedding rows) of each of several sequences through every layer, reading and
// updating each sequence's state (conv windows, KV cache); forward() is its one-sequence case.
#pragma once

#include <memory>
#include <optional>
#include <span>
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
  std::vector<float> h, xn, big0, big1, q, k, v, attn, normed_out, logits;
};

// Which rows of a chunk produce logits.
enum class LogitsRows { None, Last, All };

// One sequence's part of a batched forward pass: n rows at positions state->n_past() .. +n-1, given as
// token ids or embedding rows [n][hidden] (exactly one non-null); logits [rows][n_vocab] go to `logits`.
struct SequenceChunk {
  backend::SequenceState* state = nullptr;
  const int32_t* tokens = nullptr;
  const float* embeddings = nullptr;
  int64_t n = 0;
  LogitsRows rows = LogitsRows::None;
  float* logits = nullptr;
};

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

  // Runs every chunk of the batch and advances each state's n_past. The row-wise operations (norms, the
  // projections — one pass over each weight matrix —, SwiGLU, residuals, the output head) run on the rows
  // of all sequences together; short convolution, RoPE and attention run per sequence on its own state.
  // A backend that cannot mix sequences in one call (Backend::batches_sequences) gets them one at a time.
  // Checks everything first (distinct states of this model's shape, one input per chunk, n > 0, ids in the
  // vocabulary, n_past + n <= n_ctx) and throws Error before changing any state.
  void forward_batch(backend::Backend& backend, std::span<const SequenceChunk> batch, Lfm2Workspace& ws) const;
  // One sequence: forward_batch with a single chunk.
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

  void check_batch(std::span<const SequenceChunk> batch) const;
  // The layers and output head for a batch that check_batch accepted.
  void run_batch(backend::Backend& backend, std::span<const SequenceChunk> batch, Lfm2Workspace& ws) const;

  std::shared_ptr<const format::WeightSource> weights_;
  Lfm2Config config_;
  const format::TensorRef* token_embd_ = nullptr;
  backend::Weight output_;
  std::vector<float> output_norm_;
  std::vector<Layer> layers_;
};

}  // namespace autoneural::model
