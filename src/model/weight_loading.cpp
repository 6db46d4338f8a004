#include "model/weight_loading.h"

#include "kernels/quantize.h"

namespace autoneural::model {

backend::Weight load_matrix(const format::WeightSource& weights, const std::string& name, int64_t in, int64_t out) {
  const format::TensorRef& t = weights.require(name, {in, out});
  backend::Weight w;
  w.name = name;
  w.matrix.type = t.type;
  w.matrix.rows = out;
  w.matrix.cols = in;
  w.matrix.data = t.data;
  w.matrix.row_stride = row_bytes(t.type, in);
  return w;
}

backend::Weight load_conv_matrix(const format::WeightSource& weights, const std::string& name, int64_t k, int64_t in,
                                 int64_t out) {
  // Stored 4-D as PyTorch/llama.cpp do, or 2-D [in·k², out] (our quantized files: blocks run along rows).
  const format::TensorRef* found = weights.find(name);
  const bool flat = found && found->ne.size() == 2 && found->ne[0] == in * k * k && found->ne[1] == out;
  const format::TensorRef& t = flat ? *found : weights.require(name, {k, k, in, out});
  backend::Weight w;
  w.name = name;
  w.matrix.type = t.type;
  w.matrix.rows = out;
  w.matrix.cols = in * k * k;
  w.matrix.data = t.data;
  w.matrix.row_stride = row_bytes(t.type, in * k * k);
  return w;
}

std::vector<float> load_f32(const format::WeightSource& weights, const std::string& name, const std::vector<int64_t>& ne) {
  const format::TensorRef& t = weights.require(name, ne);
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  kernels::dequantize_row(t.type, t.data, v.data(), t.n_elements());
  return v;
}

}  // namespace autoneural::model
