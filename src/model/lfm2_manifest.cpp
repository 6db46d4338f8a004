#include "model/lfm2_manifest.h"

namespace autoneural::model {

namespace {

using Shape = std::vector<int64_t>;

enum class Where { Model, EveryLayer, AttentionLayer, ConvLayer };

struct Entry {
  const char* gguf;      // the whole name (Model) or the part after "blk.N."
  const char* hf;        // the whole name (Model) or the part after "model.layers.N."
  Where where;
  TensorRole role;
  Shape (*shape)(const Lfm2Config&);
  bool optional = false;
  const char* hf_alias = nullptr;  // another spelling that checkpoints use
};

// In file order: make-model writes them so.
const Entry kTensors[] = {
    {"token_embd.weight", "model.embed_tokens.weight", Where::Model, TensorRole::Embedding,
     [](const Lfm2Config& c) { return Shape{c.hidden, c.n_vocab}; }},
    {"token_embd_norm.weight", "model.embedding_norm.weight", Where::Model, TensorRole::Norm,
     [](const Lfm2Config& c) { return Shape{c.hidden}; }, false, "model.norm.weight"},
    {"output.weight", "lm_head.weight", Where::Model, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.hidden, c.n_vocab}; }, true},
    {"attn_norm.weight", "operator_norm.weight", Where::EveryLayer, TensorRole::Norm,
     [](const Lfm2Config& c) { return Shape{c.hidden}; }},
    {"attn_q.weight", "self_attn.q_proj.weight", Where::AttentionLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.hidden, c.n_head * c.head_dim}; }},
    {"attn_k.weight", "self_attn.k_proj.weight", Where::AttentionLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.hidden, c.n_head_kv * c.head_dim}; }},
    {"attn_v.weight", "self_attn.v_proj.weight", Where::AttentionLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.hidden, c.n_head_kv * c.head_dim}; }},
    {"attn_output.weight", "self_attn.out_proj.weight", Where::AttentionLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.n_head * c.head_dim, c.hidden}; }},
    {"attn_q_norm.weight", "self_attn.q_layernorm.weight", Where::AttentionLayer, TensorRole::Norm,
     [](const Lfm2Config& c) { return Shape{c.head_dim}; }},
    {"attn_k_norm.weight", "self_attn.k_layernorm.weight", Where::AttentionLayer, TensorRole::Norm,
     [](const Lfm2Config& c) { return Shape{c.head_dim}; }},
    {"shortconv.in_proj.weight", "conv.in_proj.weight", Where::ConvLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.hidden, 3 * c.hidden}; }},
    // Hugging Face's conv1d kernel [d, 1, L] is stored squeezed as ne [L, d], as llama.cpp does.
    {"shortconv.conv.weight", "conv.conv.weight", Where::ConvLayer, TensorRole::ShortConvKernel,
     [](const Lfm2Config& c) { return Shape{c.conv_l_cache, c.hidden}; }},
    {"shortconv.out_proj.weight", "conv.out_proj.weight", Where::ConvLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.hidden, c.hidden}; }},
    {"ffn_norm.weight", "ffn_norm.weight", Where::EveryLayer, TensorRole::Norm,
     [](const Lfm2Config& c) { return Shape{c.hidden}; }},
    {"ffn_gate.weight", "feed_forward.w1.weight", Where::EveryLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.hidden, c.ff}; }},
    {"ffn_up.weight", "feed_forward.w3.weight", Where::EveryLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.hidden, c.ff}; }},
    {"ffn_down.weight", "feed_forward.w2.weight", Where::EveryLayer, TensorRole::Matrix,
     [](const Lfm2Config& c) { return Shape{c.ff, c.hidden}; }},
};

constexpr std::string_view kLayers = "model.layers.";

TensorSpec spec_of(const Entry& e, const Lfm2Config& c, const std::string& gguf_prefix, const std::string& hf_prefix) {
  TensorSpec s = make_tensor_spec(gguf_prefix + e.gguf, hf_prefix + e.hf, e.shape(c), e.role);
  if (e.role == TensorRole::Norm) s.init = {1.0f, 0.0f};
  s.optional = e.optional;
  return s;
}

}  // namespace

TensorManifest lfm2_manifest(const Lfm2Config& c) {
  TensorManifest m;
  for (const Entry& e : kTensors)
    if (e.where == Where::Model) m.push_back(spec_of(e, c, "", ""));
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const bool attention = i < static_cast<int64_t>(c.is_attention.size()) && c.is_attention[i];
    const std::string n = std::to_string(i);
    for (const Entry& e : kTensors) {
      const bool here = e.where == Where::EveryLayer || (e.where == Where::AttentionLayer && attention) ||
                        (e.where == Where::ConvLayer && !attention);
      if (here) m.push_back(spec_of(e, c, "blk." + n + ".", std::string(kLayers) + n + "."));
    }
  }
  return m;
}

std::optional<std::string> lfm2_hf_to_gguf_name(std::string_view hf_name) {
  std::string name(hf_name);
  for (const char* prefix : {"model.language_model.", "language_model.model.", "language_model."}) {
    if (name.rfind(prefix, 0) == 0) {
      name = "model." + name.substr(std::string_view(prefix).size());
      break;
    }
  }
  for (const Entry& e : kTensors)
    if (e.where == Where::Model && (name == e.hf || (e.hf_alias && name == e.hf_alias))) return std::string(e.gguf);
  if (name.rfind(kLayers, 0) != 0) return std::nullopt;
  const size_t dot = name.find('.', kLayers.size());
  if (dot == std::string::npos) return std::nullopt;
  const std::string index = name.substr(kLayers.size(), dot - kLayers.size());
  if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const std::string rest = name.substr(dot + 1);
  for (const Entry& e : kTensors)
    if (e.where != Where::Model && rest == e.hf) return "blk." + index + "." + e.gguf;
  return std::nullopt;
}

}  // namespace autoneural::model
