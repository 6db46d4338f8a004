#include "model/connector_manifest.h"

namespace autoneural::model {

namespace {

using Shape = std::vector<int64_t>;

struct Entry {
  const char* gguf;
  const char* hf;  // after "model."
  ConnectorKind kind;
  bool bias;  // present only when the configuration has biases
  TensorRole role;
  Shape (*shape)(const ConnectorConfig&);
};

// In file order: make-model writes them so.
const Entry kTensors[] = {
    {"mm.1.weight", "multi_modal_projector.linear_1.weight", ConnectorKind::Mlp2, false, TensorRole::Matrix,
     [](const ConnectorConfig& c) { return Shape{c.in_dim, c.hidden_dim}; }},
    {"mm.1.bias", "multi_modal_projector.linear_1.bias", ConnectorKind::Mlp2, true, TensorRole::Bias,
     [](const ConnectorConfig& c) { return Shape{c.hidden_dim}; }},
    {"mm.2.weight", "multi_modal_projector.linear_2.weight", ConnectorKind::Mlp2, false, TensorRole::Matrix,
     [](const ConnectorConfig& c) { return Shape{c.hidden_dim, c.out_dim}; }},
    {"mm.2.bias", "multi_modal_projector.linear_2.bias", ConnectorKind::Mlp2, true, TensorRole::Bias,
     [](const ConnectorConfig& c) { return Shape{c.out_dim}; }},
    {"mm.input_projection.weight", "embed_vision.embedding_projection.weight", ConnectorKind::Gemma3nEmbedder, false,
     TensorRole::Matrix, [](const ConnectorConfig& c) { return Shape{c.in_dim, c.out_dim}; }},
    {"mm.soft_emb_norm.weight", "embed_vision.soft_embedding_norm.weight", ConnectorKind::Gemma3nEmbedder, false,
     TensorRole::Norm, [](const ConnectorConfig& c) { return Shape{c.in_dim}; }},
};

}  // namespace

TensorManifest connector_manifest(const ConnectorConfig& c) {
  TensorManifest m;
  for (const Entry& e : kTensors)
    if (e.kind == c.kind && (!e.bias || c.bias))
      m.push_back(make_tensor_spec(e.gguf, std::string("model.") + e.hf, e.shape(c), e.role));
  return m;
}

std::optional<std::string> connector_hf_to_gguf_name(std::string_view n) {
  if (n.substr(0, 6) == "model.") n.remove_prefix(6);
  for (const Entry& e : kTensors)
    if (n == e.hf) return std::string(e.gguf);
  return std::nullopt;
}

}  // namespace autoneural::model
