#include "model/lfm2.h"

#include <algorithm>
#include <cmath>

#include "autoneural/error.h"
#include "kernels/quantize.h"
#include "model/weight_loading.h"

namespace autoneural::model {

Lfm2Model::Lfm2Model(std::shared_ptr<const format::WeightSource> weights, Lfm2Config config)
    : weights_(std::move(weights)), config_(std::move(config)) {
  const auto& c = config_;
  c.validate();
  const ManifestWeights t(*weights_, lfm2_manifest(c));
  token_embd_ = &t.tensor("token_embd.weight");
  output_ = t.matrix(t.has("output.weight") ? "output.weight" : "token_embd.weight");
  output_norm_ = t.f32("token_embd_norm.weight");
  layers_.resize(c.n_layers);
  for (int64_t i = 0; i < c.n_layers; ++i) {
    Layer& L = layers_[i];
    L.site = "blk." + std::to_string(i);
    const std::string p = L.site + ".";
    L.attention = c.is_attention[i];
    L.attn_norm = t.f32(p + "attn_norm.weight");
    L.ffn_norm = t.f32(p + "ffn_norm.weight");
    if (L.attention) {
      L.wq = t.matrix(p + "attn_q.weight");
      L.wk = t.matrix(p + "attn_k.weight");
      L.wv = t.matrix(p + "attn_v.weight");
      L.wo = t.matrix(p + "attn_output.weight");
      L.q_norm = t.f32(p + "attn_q_norm.weight");
      L.k_norm = t.f32(p + "attn_k_norm.weight");
    } else {
      L.in_proj = t.matrix(p + "shortconv.in_proj.weight");
      L.out_proj = t.matrix(p + "shortconv.out_proj.weight");
      L.conv_kernel = t.f32(p + "shortconv.conv.weight");
    }
    L.ffn_gate = t.matrix(p + "ffn_gate.weight");
    L.ffn_up = t.matrix(p + "ffn_up.weight");
    L.ffn_down = t.matrix(p + "ffn_down.weight");
  }
}

backend::StateShape Lfm2Model::state_shape(int64_t n_ctx, backend::CacheType cache_type) const {
  backend::StateShape s;
  s.n_layers = config_.n_layers;
  s.is_attention = config_.is_attention;
  s.hidden = config_.hidden;
  s.conv_steps = config_.conv_l_cache - 1;
  s.n_head_kv = config_.n_head_kv;
  s.head_dim = config_.head_dim;
  s.n_ctx = n_ctx;
  s.cache_type = cache_type;
  return s;
}

int64_t Lfm2Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : weights_->tensors()) n += t.n_elements();
  return n;
}

void Lfm2Model::embed(const int32_t* tokens, int64_t n, float* out) const {
  const int64_t d = config_.hidden;
  const size_t row = row_bytes(token_embd_->type, d);
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= config_.n_vocab)
      throw Error("token id " + std::to_string(tokens[t]) + " is outside the vocabulary (size " +
                  std::to_string(config_.n_vocab) + ")");
    kernels::dequantize_row(token_embd_->type, token_embd_->data + row * static_cast<size_t>(tokens[t]), out + t * d, d);
  }
}

void Lfm2Model::forward(backend::Backend& be, backend::SequenceState& state, const int32_t* tokens,
                        const float* embeddings, int64_t n, LogitsRows rows, float* logits,
                        Lfm2Workspace& ws) const {
  if (n <= 0) return;
  const SequenceChunk chunk{&state, tokens, embeddings, n, rows, logits};
  forward_batch(be, std::span<const SequenceChunk>(&chunk, 1), ws);
}

void Lfm2Model::check_batch(std::span<const SequenceChunk> batch) const {
  const auto& c = config_;
  const backend::StateShape want = state_shape(0, backend::CacheType::F32);
  for (size_t i = 0; i < batch.size(); ++i) {
    const SequenceChunk& e = batch[i];
    const std::string which = batch.size() > 1 ? "sequence " + std::to_string(i) + ": " : "";
    if (!e.state) throw Error(which + "no state");
    for (size_t j = 0; j < i; ++j)
      if (batch[j].state == e.state) throw Error(which + "the same state appears twice in one batch");
    const backend::StateShape& s = e.state->shape();
    if (s.n_layers != want.n_layers || s.is_attention != want.is_attention || s.hidden != want.hidden ||
        s.conv_steps != want.conv_steps || s.n_head_kv != want.n_head_kv || s.head_dim != want.head_dim)
      throw Error(which + "the state was made for another model");
    if (e.n <= 0) throw Error(which + "nothing to evaluate");
    if (!e.tokens == !e.embeddings) throw Error(which + "give either token ids or embedding rows");
    if (e.rows != LogitsRows::None && !e.logits) throw Error(which + "no room for the logits");
    if (e.state->n_past() + e.n > s.n_ctx)
      throw Error(which + "sequence of " + std::to_string(e.state->n_past() + e.n) +
                  " tokens exceeds the context length " + std::to_string(s.n_ctx));
    if (e.tokens)
      for (int64_t t = 0; t < e.n; ++t)
        if (e.tokens[t] < 0 || e.tokens[t] >= c.n_vocab)
          throw Error(which + "token id " + std::to_string(e.tokens[t]) + " is outside the vocabulary (size " +
                      std::to_string(c.n_vocab) + ")");
  }
}

void Lfm2Model::forward_batch(backend::Backend& be, std::span<const SequenceChunk> batch, Lfm2Workspace& ws) const {
  check_batch(batch);
  if (be.batches_sequences() || batch.size() <= 1) {
    run_batch(be, batch, ws);
    return;
  }
  for (const SequenceChunk& e : batch) run_batch(be, std::span<const SequenceChunk>(&e, 1), ws);
}

void Lfm2Model::run_batch(backend::Backend& be, std::span<const SequenceChunk> batch, Lfm2Workspace& ws) const {
  const auto& c = config_;
  const int64_t d = c.hidden, hd = c.head_dim;
  // Row offset of each sequence in the concatenated rows, and its first position.
  std::vector<int64_t> offset(batch.size()), pos0(batch.size());
  int64_t n = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    offset[i] = n;
    pos0[i] = batch[i].state->n_past();
    n += batch[i].n;
  }
  if (n == 0) return;
  auto fit = [](std::vector<float>& v, int64_t count) {
    if (static_cast<int64_t>(v.size()) < count) v.resize(static_cast<size_t>(count));
    return v.data();
  };
  float* h = fit(ws.h, n * d);
  float* xn = fit(ws.xn, n * d);
  float* big0 = fit(ws.big0, n * std::max(3 * d, c.ff));
  float* big1 = fit(ws.big1, n * std::max(d, c.ff));
  for (size_t i = 0; i < batch.size(); ++i) {
    const SequenceChunk& e = batch[i];
    if (e.tokens) embed(e.tokens, e.n, h + offset[i] * d);
    else std::copy(e.embeddings, e.embeddings + e.n * d, h + offset[i] * d);
  }

  for (int64_t il = 0; il < c.n_layers; ++il) {
    const Layer& L = layers_[il];
    be.rms_norm(L.site + ".attn_norm", h, L.attn_norm.data(), n, d, c.norm_eps, xn);
    if (L.attention) {
      const int64_t qw = c.n_head * hd, kw = c.n_head_kv * hd;
      float* q = fit(ws.q, n * qw);
      float* k = fit(ws.k, n * kw);
      float* v = fit(ws.v, n * kw);
      float* att = fit(ws.attn, n * qw);
      be.linear(L.wq, xn, n, q);
      be.linear(L.wk, xn, n, k);
      be.linear(L.wv, xn, n, v);
      // QK-norm: RMSNorm over each head vector, before RoPE.
      be.rms_norm(L.site + ".attn_q_norm", q, L.q_norm.data(), n * c.n_head, hd, c.norm_eps, q);
      be.rms_norm(L.site + ".attn_k_norm", k, L.k_norm.data(), n * c.n_head_kv, hd, c.norm_eps, k);
      for (size_t i = 0; i < batch.size(); ++i) {
        const int64_t o = offset[i], len = batch[i].n, p = pos0[i];
        backend::SequenceState& st = *batch[i].state;
        const backend::AttentionShape as{c.n_head, c.n_head_kv, hd, st.shape().n_ctx,
                                         1.0f / std::sqrt(static_cast<float>(hd))};
        be.rope(L.site + ".rope_q", q + o * qw, len, c.n_head, hd, p, c.rope_theta);
        be.rope(L.site + ".rope_k", k + o * kw, len, c.n_head_kv, hd, p, c.rope_theta);
        be.store_kv(L.site + ".kv", st.kv(il), as, k + o * kw, v + o * kw, p, len);
        be.attention(L.site + ".attn", st.kv(il), as, q + o * qw, p, len, att + o * qw);
      }
      be.linear(L.wo, att, n, xn);
    } else {
      be.linear(L.in_proj, xn, n, big0);
      for (size_t i = 0; i < batch.size(); ++i)
        be.short_conv(L.site + ".shortconv", big0 + offset[i] * 3 * d, L.conv_kernel.data(), c.conv_l_cache,
                      batch[i].n, d, batch[i].state->conv(il), big1 + offset[i] * d);
      be.linear(L.out_proj, big1, n, xn);
    }
    be.add(L.site + ".attn_residual", h, xn, n * d);
    be.rms_norm(L.site + ".ffn_norm", h, L.ffn_norm.data(), n, d, c.norm_eps, xn);
    be.linear(L.ffn_gate, xn, n, big0);
    be.linear(L.ffn_up, xn, n, big1);
    be.swiglu(L.site + ".ffn_act", big0, big1, n * c.ff, big0);
    be.linear(L.ffn_down, big0, n, xn);
    be.add(L.site + ".ffn_residual", h, xn, n * d);
    be.observe(L.site, h, n, d);
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].state->set_n_past(pos0[i] + batch[i].n);

  // The output head on the rows that want logits, gathered from every sequence.
  std::vector<int64_t> first(batch.size()), count(batch.size());
  int64_t n_out = 0;
  int wanting = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const SequenceChunk& e = batch[i];
    first[i] = e.rows == LogitsRows::Last ? e.n - 1 : 0;
    count[i] = e.rows == LogitsRows::None ? 0 : e.n - first[i];
    n_out += count[i];
    wanting += count[i] > 0;
  }
  if (n_out == 0) return;
  float* normed = fit(ws.normed_out, n_out * d);
  for (size_t i = 0, row = 0; i < batch.size(); row += static_cast<size_t>(count[i]), ++i)
    std::copy(h + (offset[i] + first[i]) * d, h + (offset[i] + first[i] + count[i]) * d, normed + row * d);
  be.rms_norm("output_norm", normed, output_norm_.data(), n_out, d, c.norm_eps, normed);
  // One sequence's logits go straight to its buffer; several are scattered from the workspace.
  const SequenceChunk* only = nullptr;
  for (const SequenceChunk& e : batch)
    if (e.rows != LogitsRows::None) only = &e;
  float* out = wanting == 1 ? only->logits : fit(ws.logits, n_out * c.n_vocab);
  be.linear(output_, normed, n_out, out);
  be.observe("logits", out, n_out, c.n_vocab);
  if (wanting == 1) return;
  for (size_t i = 0, row = 0; i < batch.size(); row += static_cast<size_t>(count[i]), ++i)
    std::copy(out + row * c.n_vocab, out + (row + count[i]) * c.n_vocab, batch[i].logits);
}

}  // namespace autoneural::model
