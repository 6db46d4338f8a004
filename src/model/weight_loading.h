// A format::WeightSource checked against a component's manifest (model/tensor_manifest.h), and typed
// views of its tensors: matrices used in place by the Backend, small tensors (norm weights, biases,
// kernels) copied to float32. Shapes come from the manifest; a loader only says which tensor feeds
// which field.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "format/weight_source.h"
#include "backend/backend.h"
#include "model/tensor_manifest.h"

namespace autoneural::model {

class ManifestWeights {
 public:
  // Checks that every required tensor of `manifest` is in `weights` with its shape (and every optional one
  // that is present); throws Error naming the file and the first missing or misshapen tensor.
  ManifestWeights(const format::WeightSource& weights, const TensorManifest& manifest);

  bool has(std::string_view name) const;  // present in the file (required tensors always are)
  const format::TensorRef& tensor(std::string_view name) const;
  // A Matrix, ConvKernel or Embedding as `ne.back()` rows of the other dimensions' product, used in place.
  backend::Weight matrix(std::string_view name) const;
  // Any tensor as float32 in its ggml order; empty for an absent optional tensor.
  std::vector<float> f32(std::string_view name) const;
  // A depthwise kernel (ne [k, k, 1, C]) as the [k²][C] tap-major floats the Backend takes.
  std::vector<float> depthwise_taps(std::string_view name) const;

 private:
  struct Entry {
    TensorSpec spec;
    const format::TensorRef* ref;  // nullptr: optional and absent
  };
  const Entry& entry(std::string_view name) const;

  const format::WeightSource& weights_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace autoneural::model
