#include "backend/quant_plan.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "autoneural/error.h"

namespace autoneural::backend {

QuantPlan::QuantPlan(quant::Recipe recipe, std::vector<std::shared_ptr<const format::WeightSource>> sources,
                     ActRanges ranges)
    : recipe_(std::move(recipe)), sources_(std::move(sources)), ranges_(std::move(ranges)) {}

const format::TensorRef* QuantPlan::find(std::string_view tensor, const format::WeightSource** owner) const {
  for (const auto& s : sources_)
    if (const auto* t = s->find(tensor)) {
      if (owner) *owner = s.get();
      return t;
    }
  return nullptr;
}

bool QuantPlan::has_tensor(std::string_view tensor) const { return find(tensor, nullptr) != nullptr; }

const quant::QuantizedMatrix& QuantPlan::weight(std::string_view tensor) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string key(tensor);
  if (auto it = weights_.find(key); it != weights_.end()) return *it->second;
  const format::WeightSource* owner = nullptr;
  const format::TensorRef* t = find(tensor, &owner);
  if (!t) throw Error("quantization: no tensor named " + key);
  // Output channels are the slowest dimension (a conv weight [k, k, in, out] is `out` rows of in·k²).
  const int64_t rows = t->ne.empty() ? 1 : t->ne.back();
  const int64_t cols = rows > 0 ? t->n_elements() / rows : 0;
  std::vector<float> stored;
  const std::vector<float>* stored_ptr = nullptr;
  if (owner->gguf())
    if (auto a = owner->gguf()->get_float_array(quant_scales_key(tensor))) {
      stored.assign(a->begin(), a->end());
      stored_ptr = &stored;
    }
  quant::WeightScheme scheme = recipe_.weights_for(tensor);
  if (owner->gguf())
    if (auto s = owner->gguf()->get_string(quant_scheme_key(tensor))) scheme = quant::parse_weight_scheme(*s);
  auto q = std::make_unique<quant::QuantizedMatrix>(quant::quantize_stored(t->type, t->data, rows, cols, scheme, stored_ptr));
  return *(weights_[key] = std::move(q));
}

const std::vector<float>& QuantPlan::dequantized(std::string_view tensor) const {
  const quant::QuantizedMatrix& q = weight(tensor);
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string key(tensor);
  if (auto it = dequantized_.find(key); it != dequantized_.end()) return *it->second;
  auto v = std::make_unique<std::vector<float>>(static_cast<size_t>(q.rows * q.cols));
  q.dequantize(v->data());
  return *(dequantized_[key] = std::move(v));
}

void QuantPlan::embed_tokens(const int32_t* tokens, int64_t n, int64_t dim, float* out) const {
  const auto& table = dequantized("token_embd.weight");
  const int64_t vocab = static_cast<int64_t>(table.size()) / dim;
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= vocab)
      throw Error("token id " + std::to_string(tokens[t]) + " is outside the vocabulary (size " + std::to_string(vocab) + ")");
    std::copy_n(table.data() + static_cast<size_t>(tokens[t]) * dim, dim, out + t * dim);
  }
}

quant::ActScheme QuantPlan::act_scheme(std::string_view point) const {
  // Sites are named like the tensors they use: "v.*" vision, "mm.*" connector; the layer taps
  // "encoder_output" / "connector_output" are not quantization points.
  return recipe_.acts_for(quant::component_of(point));
}

const std::pair<float, float>* QuantPlan::range(std::string_view point) const {
  auto it = ranges_.find(point);
  return it == ranges_.end() ? nullptr : &it->second;
}

quant::ActEncoding QuantPlan::encoding(std::string_view point, const float* data, int64_t n) const {
  const quant::ActScheme scheme = act_scheme(point);
  if (const auto* r = range(point)) return quant::encoding_for_range(r->first, r->second, scheme);
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < n; ++i)
    if (std::isfinite(data[i])) lo = std::min(lo, data[i]), hi = std::max(hi, data[i]);
  return quant::encoding_for_range(lo, hi, scheme);
}

StoredQuantization read_stored_quantization(const format::WeightSource& source) {
  StoredQuantization sq;
  const auto* g = source.gguf();
  if (!g) return sq;
  const auto name = g->get_string(kQuantRecipeKey);
  if (!name) return sq;
  quant::Recipe r = quant::recipe_by_name(*name);
  // Per-tensor schemes are read from the tensors' own keys (QuantPlan::weight), so the recipe needs no
  // overrides here.
  sq.recipe = r;
  const auto points = g->get_string_array(kQuantActPointsKey);
  const auto values = g->get_float_array(kQuantActRangesKey);
  if (points && values) {
    if (values->size() != 2 * points->size())
      throw Error(source.path() + ": " + kQuantActRangesKey + " has " + std::to_string(values->size()) +
                  " values for " + std::to_string(points->size()) + " points");
    for (size_t i = 0; i < points->size(); ++i)
      sq.ranges[(*points)[i]] = {static_cast<float>((*values)[2 * i]), static_cast<float>((*values)[2 * i + 1])};
  }
  return sq;
}

ActRanges calibrated_ranges(const quant::Calibration& calib, const quant::Recipe& recipe, quant::RangeMethod method) {
  const auto r16 = calib.ranges(method, 16), r8 = calib.ranges(method, 8);
  ActRanges out;
  for (const auto& [p, r] : r16) out[p] = recipe.acts_for(quant::component_of(p)).bits <= 8 ? r8.at(p) : r;
  return out;
}

void check_calibration(const quant::Calibration& calib, const std::vector<std::shared_ptr<const format::WeightSource>>& sources,
                       const std::string& path) {
  const std::string fp = model_fingerprint(sources);
  if (calib.fingerprint != fp)
    throw Error(path + " was recorded on another model (fingerprint " + calib.fingerprint + ", this model " + fp +
                (calib.model_name.empty() ? "" : ", recorded on " + calib.model_name) + ")");
}

std::string model_fingerprint(const std::vector<std::shared_ptr<const format::WeightSource>>& sources) {
  // FNV-1a over "name:elements;" of every tensor in name order, whichever file holds it (a merged GGUF and
  // a text + vision pair of the same model agree). Element counts only, not layouts: quantizing (which
  // stores convolutions as 2-D matrices) and converting a Hugging Face directory keep the fingerprint.
  std::map<std::string_view, int64_t> all;
  for (const auto& s : sources)
    for (const auto& [name, t] : s->tensors()) all[name] = t.n_elements();
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  for (const auto& [name, n] : all) {
    mix(name);
    mix(":" + std::to_string(n) + ";");
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

}  // namespace autoneural::backend
