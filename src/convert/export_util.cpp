#include "convert/export_util.h"

#include <algorithm>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "format/weight_source.h"
#include "kernels/quantize.h"

namespace autoneural::convert {

uint32_t file_type_id(TensorType t) {
  switch (t) {
    case TensorType::F32: return 0;
    case TensorType::F16: return 1;
    case TensorType::Q4_0: return 2;
    case TensorType::Q8_0: return 7;
    case TensorType::BF16: return 32;
    default: throw Error("cannot write files of type " + std::string(tensor_type_name(t)));
  }
}

std::vector<uint8_t> encode_rows(const float* src, int64_t ne0, int64_t n_rows, TensorType type) {
  const size_t rb = row_bytes(type, ne0);
  std::vector<uint8_t> out(rb * static_cast<size_t>(n_rows));
  for (int64_t r = 0; r < n_rows; ++r) kernels::quantize_row(type, src + r * ne0, out.data() + rb * r, ne0);
  return out;
}

void add_random_tensors(format::GgufWriter& w, const model::TensorManifest& manifest, SplitMix& rng,
                        const StoreRule& store, const std::function<void(double, std::string_view)>& progress) {
  int64_t total = 0, done = 0;
  for (const auto& s : manifest)
    if (!s.optional) total += s.n_elements();
  std::vector<float> values;
  for (const auto& s : manifest) {
    if (s.optional) continue;
    const int64_t n = s.n_elements();
    values.resize(static_cast<size_t>(n));
    const model::RandomInit init = s.init;
    if (init.scale == 0.0f) {
      std::fill(values.begin(), values.end(), init.offset);
    } else if (init.offset == 0.0f) {
      for (auto& x : values) x = init.scale * rng.uniform();
    } else {
      for (auto& x : values) x = init.offset + init.scale * rng.uniform();
    }
    const model::StoredShape st = store(s);
    const auto bytes = encode_rows(values.data(), st.ne[0], n / st.ne[0], st.type);
    w.add_tensor(s.name, st.type, st.ne, bytes.data(), bytes.size());
    done += n;
    if (progress) progress(0.9 * static_cast<double>(done) / static_cast<double>(total), s.name);
  }
}

void add_converted_tensor(format::GgufWriter& w, const model::TensorSpec& spec, TensorType type, const uint8_t* data,
                          const std::vector<int64_t>& ne, TensorType target, const std::string& source) {
  if (!model::shape_matches(spec, ne))
    throw Error(source + ": tensor " + spec.name + " has shape " + format::shape_string(ne) + ", expected " +
                format::shape_string(spec.ne));
  const int64_t n = spec.n_elements();
  std::vector<float> values(static_cast<size_t>(n));
  kernels::dequantize_row(type, data, values.data(), n);
  const model::StoredShape st = model::stored_shape(spec, target);
  const auto bytes = encode_rows(values.data(), st.ne[0], n / st.ne[0], st.type);
  w.add_tensor(spec.name, st.type, st.ne, bytes.data(), bytes.size());
}

}  // namespace autoneural::convert
