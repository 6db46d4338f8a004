// Measurements of a loaded model (include/autoneural/workflows.h): perplexity and state memory.
#include <algorithm>
#include <cmath>

#include "autoneural/workflows.h"
#include "backend/sequence_state.h"
#include "quant/metrics.h"
#include "runtime/model_impl.h"

namespace autoneural {

PerplexityResult perplexity(std::shared_ptr<const Model> model, const std::string& text, int64_t n_ctx, int64_t n_batch,
                            int64_t max_chunks, const std::function<void(int64_t, double)>& on_chunk) {
  if (!model) throw Error("perplexity: no model");
  if (!model->has_language_model()) throw Error(model->info().path + " has no language model");
  if (n_ctx < 8) throw Error("perplexity needs a context of at least 8 tokens");
  const auto tokens = model->tokenize(text, false, false);
  // Each chunk: BOS + n_ctx - 1 text tokens; the second half of each chunk is scored.
  const int64_t per = n_ctx - 1;
  int64_t n_chunks = static_cast<int64_t>(tokens.size()) / per;
  if (max_chunks > 0) n_chunks = std::min(n_chunks, max_chunks);
  if (n_chunks < 1)
    throw Error("the text has " + std::to_string(tokens.size()) + " tokens; one chunk needs " + std::to_string(per) +
                " (use a smaller -c / n_ctx)");
  const int64_t vocab = model->info().n_vocab, first = n_ctx / 2;
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::vector<int32_t> chunk{model->bos()};
    chunk.insert(chunk.end(), tokens.begin() + c * per, tokens.begin() + (c + 1) * per);
    Session s(model, {n_ctx, n_batch, CacheType::F32});
    const auto logits = s.decode(chunk, true);
    for (int64_t i = first; i + 1 < n_ctx; ++i) {
      const double v = quant::token_nll(logits.data() + i * vocab, vocab, chunk[i + 1]);
      nll += v;
      nll2 += v * v;
      ++count;
    }
    if (on_chunk) on_chunk(c, std::exp(nll / static_cast<double>(count)));
  }
  const double mean = nll / static_cast<double>(count), var = nll2 / static_cast<double>(count) - mean * mean;
  PerplexityResult r;
  r.ppl = std::exp(mean);
  r.ppl_stderr = count > 1 ? r.ppl * std::sqrt(std::max(var, 0.0) / static_cast<double>(count - 1)) : 0.0;
  r.tokens = count;
  r.chunks = n_chunks;
  return r;
}

StateMemoryEstimate estimate_state_memory(const Model& model, CacheType cache_type) {
  const auto& impl = runtime::impl_of(model);
  if (!impl.lm) throw Error(model.info().path + " has no language model, so no sequence state");
  const auto ct = cache_type == CacheType::F32 ? backend::CacheType::F32 : backend::CacheType::F16;
  const backend::StateShape hybrid = impl.lm->state_shape(0, ct);
  backend::StateShape dense = hybrid;  // the same model with attention in every layer
  dense.is_attention.assign(static_cast<size_t>(dense.n_layers), true);
  return {backend::SequenceState::conv_bytes(hybrid), backend::SequenceState::kv_bytes_per_token(hybrid),
          backend::SequenceState::kv_bytes_per_token(dense)};
}

}  // namespace autoneural
