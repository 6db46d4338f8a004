#include "model/connector.h"

#include <cmath>

#include "autoneural/error.h"
#include "model/connector_manifest.h"
#include "model/weight_loading.h"

namespace autoneural::model {

Connector::Connector(std::shared_ptr<const format::WeightSource> weights, ConnectorConfig config)
    : weights_(std::move(weights)), config_(std::move(config)) {
  const auto& c = config_;
  if (c.in_dim <= 0 || c.out_dim <= 0) throw Error("connector: input and output widths must be positive");
  if (c.kind == ConnectorKind::Mlp2 && c.hidden_dim <= 0) throw Error("connector: hidden width must be positive");
  const ManifestWeights t(*weights_, connector_manifest(c));
  if (c.kind == ConnectorKind::Mlp2) {
    w1_ = t.matrix("mm.1.weight");
    w2_ = t.matrix("mm.2.weight");
    if (c.bias) {
      b1_ = t.f32("mm.1.bias");
      b2_ = t.f32("mm.2.bias");
    }
  } else {
    w1_ = t.matrix("mm.input_projection.weight");
    soft_norm_ = t.f32("mm.soft_emb_norm.weight");
  }
}

int64_t Connector::parameter_count() const { return model::parameter_count(connector_manifest(config_)); }

void Connector::forward(backend::Backend& be, const float* x, int64_t n, float* y) const {
  const auto& c = config_;
  if (n <= 0) return;
  if (c.kind == ConnectorKind::Mlp2) {
    std::vector<float> hidden(static_cast<size_t>(n * c.hidden_dim));
    be.linear(w1_, x, n, hidden.data());
    if (!b1_.empty()) be.add_bias("mm.1.bias", hidden.data(), b1_.data(), n, c.hidden_dim);
    be.gelu("mm.act", hidden.data(), n * c.hidden_dim,
            c.gelu_tanh ? backend::GeluKind::Tanh : backend::GeluKind::Erf, hidden.data());
    be.linear(w2_, hidden.data(), n, y);
    if (!b2_.empty()) be.add_bias("mm.2.bias", y, b2_.data(), n, c.out_dim);
    be.observe("connector_output", y, n, c.out_dim);
    return;
  }
  // Gemma 3n embedder (§2): the tower output is scaled by √C before its RMSNorm, projected, then
  // normalised again without a weight.
  std::vector<float> scaled(x, x + n * c.in_dim);
  const float s = std::sqrt(static_cast<float>(c.in_dim));
  for (float& v : scaled) v *= s;
  be.rms_norm("mm.soft_emb_norm", scaled.data(), soft_norm_.data(), n, c.in_dim, c.eps, scaled.data());
  be.linear(w1_, scaled.data(), n, y);
  be.rms_norm("mm.post_projection_norm", y, nullptr, n, c.out_dim, c.eps, y);
  be.observe("connector_output", y, n, c.out_dim);
}

}  // namespace autoneural::model
