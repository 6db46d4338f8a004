#include "model/tensor_manifest.h"

#include <cmath>

namespace autoneural::model {

int64_t TensorSpec::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

namespace {

int64_t leading_product(const std::vector<int64_t>& ne) {
  int64_t n = 1;
  for (size_t i = 0; i + 1 < ne.size(); ++i) n *= ne[i];
  return n;
}

std::vector<int64_t> squeeze(const std::vector<int64_t>& ne) {
  std::vector<int64_t> out;
  for (int64_t d : ne)
    if (d != 1) out.push_back(d);
  return out;
}

}  // namespace

TensorSpec make_tensor_spec(std::string name, std::string hf_name, std::vector<int64_t> ne, TensorRole role) {
  TensorSpec s;
  s.name = std::move(name);
  s.hf_name = std::move(hf_name);
  s.ne = std::move(ne);
  s.role = role;
  const bool weight = role == TensorRole::Matrix || role == TensorRole::ConvKernel || role == TensorRole::Embedding;
  s.storage = weight ? TensorStorage::Target : TensorStorage::Float32;
  if (weight || role == TensorRole::DepthwiseKernel) s.fan_in = leading_product(s.ne);
  switch (role) {
    case TensorRole::Matrix:
    case TensorRole::ConvKernel:
    case TensorRole::DepthwiseKernel: s.init = {0.0f, std::sqrt(3.0f / static_cast<float>(s.fan_in))}; break;
    case TensorRole::Embedding:
    case TensorRole::ShortConvKernel: s.init = {0.0f, 0.5f}; break;
    case TensorRole::Norm: s.init = {1.0f, 0.5f}; break;
    case TensorRole::Bias: s.init = {0.0f, 0.1f}; break;
    case TensorRole::LayerScale: s.init = {0.6f, 0.4f}; break;
  }
  return s;
}

StoredShape stored_shape(const TensorSpec& spec, TensorType target) {
  if (spec.storage == TensorStorage::Float32) return {TensorType::F32, spec.ne};
  const int64_t block = traits(target).block_elems;
  if (block == 1) return {target, spec.ne};
  const int64_t cols = leading_product(spec.ne);
  if (cols % block != 0) return {TensorType::F16, spec.ne};
  return {target, {cols, spec.ne.back()}};
}

bool shape_matches(const TensorSpec& spec, const std::vector<int64_t>& ne) {
  if (squeeze(ne) == squeeze(spec.ne)) return true;
  return spec.storage == TensorStorage::Target && ne.size() == 2 && ne[0] == leading_product(spec.ne) &&
         ne[1] == spec.ne.back();
}

const TensorSpec* find_spec(const TensorManifest& manifest, std::string_view name) {
  for (const auto& s : manifest)
    if (s.name == name) return &s;
  return nullptr;
}

int64_t parameter_count(const TensorManifest& manifest) {
  int64_t n = 0;
  for (const auto& s : manifest)
    if (!s.optional) n += s.n_elements();
  return n;
}

}  // namespace autoneural::model
