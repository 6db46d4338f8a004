#include "convert/quantize_model.h"

#include <cstring>
#include <set>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "kernels/quantize.h"

namespace autoneural::convert {

using namespace autoneural::backend;  // the quantization plan this writes

bool is_quantizable_weight(const format::TensorRef& t) {
  if (t.ne.size() < 2 || t.ne.back() < 2) return false;
  int64_t cols = 1;
  for (size_t i = 0; i + 1 < t.ne.size(); ++i) cols *= t.ne[i];
  return cols >= 2;
}

void write_quantized_gguf(const format::WeightSource& source, const format::WeightSource* extra,
                          const QuantPlan& plan, const std::string& out_path,
                          const std::function<void(double, std::string_view)>& progress) {
  format::GgufWriter w;
  // The first file's keys win (a merged file is the text model's general.* plus the vision keys).
  std::set<std::string> seen;
  for (const auto* s : {&source, extra}) {
    if (!s || !s->gguf()) continue;
    for (const auto& [key, value] : s->gguf()->metadata())
      if (key.rfind("autoneural.quant.", 0) != 0 && key != "general.alignment" && seen.insert(key).second) w.set(key, value);
  }
  if (!source.gguf())
    throw Error(source.path() + ": quantize reads GGUF files; convert the Hugging Face directory first (autoneural convert)");
  w.set(kQuantRecipeKey, format::GgufValue::make_string(plan.recipe().name));
  std::vector<std::string> points;
  std::vector<float> ranges;
  for (const auto& [p, r] : plan.ranges()) {
    points.push_back(p);
    ranges.push_back(r.first);
    ranges.push_back(r.second);
  }
  if (!points.empty()) {
    w.set(kQuantActPointsKey, format::GgufValue::make_string_array(points));
    w.set(kQuantActRangesKey, format::GgufValue::make_f32_array(ranges));
  }
  std::vector<const format::TensorRef*> all;
  for (const auto* s : {&source, extra})
    if (s)
      for (const auto& [name, t] : s->tensors()) all.push_back(&t);
  size_t done = 0;
  for (const format::TensorRef* t : all) {
    if (progress) progress(static_cast<double>(done++) / static_cast<double>(all.size()), t->name);
    if (!is_quantizable_weight(*t)) {
      // Vectors: kept in their stored type when it is float, else widened to F32.
      if (t->type == TensorType::F32 || t->type == TensorType::F16 || t->type == TensorType::BF16) {
        w.add_tensor(t->name, t->type, t->ne, t->data, t->nbytes);
      } else {
        std::vector<float> f(static_cast<size_t>(t->n_elements()));
        kernels::dequantize_row(t->type, t->data, f.data(), t->n_elements());
        w.add_tensor(t->name, TensorType::F32, t->ne, f.data(), f.size() * sizeof(float));
      }
      continue;
    }
    const quant::QuantizedMatrix& q = plan.weight(t->name);
    const quant::WeightStorage st = quant::storage_for(q.scheme, q.cols);
    const auto bytes = quant::encode_storage(q, st);
    std::vector<int64_t> ne = t->ne;
    if (st != quant::WeightStorage::F32Grid && ne.size() > 2) ne = {q.cols, q.rows};  // blocks run along the flat rows
    w.add_tensor(t->name, quant::storage_type(st), ne, bytes.data(), bytes.size());
    w.set(quant_scheme_key(t->name), format::GgufValue::make_string(q.scheme.name()));
    if (st == quant::WeightStorage::F32Grid) w.set(quant_scales_key(t->name), format::GgufValue::make_f32_array(q.scales));
  }
  if (progress) progress(1.0, "writing");
  w.write(out_path);
}

}  // namespace autoneural::convert
