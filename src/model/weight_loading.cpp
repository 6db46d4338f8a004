#include "model/weight_loading.h"

#include "autoneural/error.h"
#include "kernels/quantize.h"

namespace autoneural::model {

ManifestWeights::ManifestWeights(const format::WeightSource& weights, const TensorManifest& manifest)
    : weights_(weights) {
  for (const TensorSpec& s : manifest) {
    const format::TensorRef* t = weights.find(s.name);
    if (!t && !s.optional) throw Error(weights.path() + ": missing tensor " + s.name);
    if (t && !shape_matches(s, t->ne))
      throw Error(weights.path() + ": tensor " + s.name + " has shape " + format::shape_string(t->ne) + ", expected " +
                  format::shape_string(s.ne));
    entries_.emplace(s.name, Entry{s, t});
  }
}

const ManifestWeights::Entry& ManifestWeights::entry(std::string_view name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end())
    throw Error("internal: tensor " + std::string(name) + " is not in the component's manifest");
  return it->second;
}

bool ManifestWeights::has(std::string_view name) const { return entry(name).ref != nullptr; }

const format::TensorRef& ManifestWeights::tensor(std::string_view name) const {
  const Entry& e = entry(name);
  if (!e.ref) throw Error(weights_.path() + ": missing tensor " + std::string(name));
  return *e.ref;
}

backend::Weight ManifestWeights::matrix(std::string_view name) const {
  const format::TensorRef& t = tensor(name);
  const std::vector<int64_t>& ne = entry(name).spec.ne;
  int64_t cols = 1;
  for (size_t i = 0; i + 1 < ne.size(); ++i) cols *= ne[i];
  backend::Weight w;
  w.name = std::string(name);
  w.matrix.type = t.type;
  w.matrix.rows = ne.back();
  w.matrix.cols = cols;
  w.matrix.data = t.data;
  w.matrix.row_stride = row_bytes(t.type, cols);
  return w;
}

std::vector<float> ManifestWeights::f32(std::string_view name) const {
  const Entry& e = entry(name);
  if (!e.ref) return {};
  std::vector<float> v(static_cast<size_t>(e.ref->n_elements()));
  kernels::dequantize_row(e.ref->type, e.ref->data, v.data(), e.ref->n_elements());
  return v;
}

std::vector<float> ManifestWeights::depthwise_taps(std::string_view name) const {
  const std::vector<int64_t>& ne = entry(name).spec.ne;
  const int64_t taps = ne[0] * ne[1], c = ne.back();
  const std::vector<float> v = f32(name);
  std::vector<float> out(v.size());
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t t = 0; t < taps; ++t) out[t * c + ch] = v[ch * taps + t];
  return out;
}

}  // namespace autoneural::model
