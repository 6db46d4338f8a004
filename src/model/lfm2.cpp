#include "model/lfm2.h"

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
  const auto& c = config_;
  const int64_t d = c.hidden, hd = c.head_dim, pos0 = state.n_past();
  if (n <= 0) return;
  if (pos0 + n > state.shape().n_ctx)
    throw Error("sequence of " + std::to_string(pos0 + n) + " tokens exceeds the context length " +
                std::to_string(state.shape().n_ctx));
  auto fit = [](std::vector<float>& v, int64_t count) {
    if (static_cast<int64_t>(v.size()) < count) v.resize(static_cast<size_t>(count));
    return v.data();
  };
  float* h = fit(ws.h, n * d);
  float* xn = fit(ws.xn, n * d);
  float* big0 = fit(ws.big0, n * std::max(3 * d, c.ff));
  float* big1 = fit(ws.big1, n * std::max(d, c.ff));
  if (tokens) {
    embed(tokens, n, h);
  } else {
    std::copy(embeddings, embeddings + n * d, h);
  }
  backend::AttentionShape as{c.n_head, c.n_head_kv, hd, state.shape().n_ctx, 1.0f / std::sqrt(static_cast<float>(hd))};

  for (int64_t il = 0; il < c.n_layers; ++il) {
    const Layer& L = layers_[il];
    be.rms_norm(L.site + ".attn_norm", h, L.attn_norm.data(), n, d, c.norm_eps, xn);
    if (L.attention) {
      float* q = fit(ws.q, n * c.n_head * hd);
      float* k = fit(ws.k, n * c.n_head_kv * hd);
      float* v = fit(ws.v, n * c.n_head_kv * hd);
      float* att = fit(ws.attn, n * c.n_head * hd);
      be.linear(L.wq, xn, n, q);
      be.linear(L.wk, xn, n, k);
      be.linear(L.wv, xn, n, v);
      // QK-norm: RMSNorm over each head vector, before RoPE.
      be.rms_norm(L.site + ".attn_q_norm", q, L.q_norm.data(), n * c.n_head, hd, c.norm_eps, q);
      be.rms_norm(L.site + ".attn_k_norm", k, L.k_norm.data(), n * c.n_head_kv, hd, c.norm_eps, k);
      be.rope(L.site + ".rope_q", q, n, c.n_head, hd, pos0, c.rope_theta);
      be.rope(L.site + ".rope_k", k, n, c.n_head_kv, hd, pos0, c.rope_theta);
      be.store_kv(L.site + ".kv", state.kv(il), as, k, v, pos0, n);
      be.attention(L.site + ".attn", state.kv(il), as, q, pos0, n, att);
      be.linear(L.wo, att, n, xn);
    } else {
      be.linear(L.in_proj, xn, n, big0);
      be.short_conv(L.site + ".shortconv", big0, L.conv_kernel.data(), c.conv_l_cache, n, d, state.conv(il), big1);
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
  state.set_n_past(pos0 + n);

  if (rows == LogitsRows::None) return;
  const int64_t first = rows == LogitsRows::Last ? n - 1 : 0;
  const int64_t count = n - first;
  float* normed = fit(ws.normed_out, count * d);
  be.rms_norm("output_norm", h + first * d, output_norm_.data(), count, d, c.norm_eps, normed);
  be.linear(output_, normed, count, logits);
  be.observe("logits", logits, count, c.n_vocab);
}

}  // namespace autoneural::model
