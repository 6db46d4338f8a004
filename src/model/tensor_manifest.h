// The one list of a model component's tensors. Each component has a manifest function
// (lfm2_manifest, mobilenetv5_manifest, connector_manifest) that computes, from its configuration, every
// tensor's GGUF name, Hugging Face name, ggml-order shape, role, storage rule and random initialisation.
// The loaders validate files against it, the random-weight writers and the converters iterate it, and the
// Hugging Face name maps are the manifest's naming rules read backwards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/tensor_type.h"

namespace autoneural::model {

enum class TensorRole {
  Matrix,           // ne [in, out] (1x1 convolutions [1, 1, in, out]): `out` rows of `in`, used in place
  ConvKernel,       // ne [k, k, in, out]: `out` rows of in·k² (input channel slowest, then ky, kx), used in place
  DepthwiseKernel,  // ne [k, k, 1, C]
  Embedding,        // ne [hidden, n_vocab]: token rows (and the tied output matrix)
  ShortConvKernel,  // ne [l_cache, hidden]
  Norm,             // RMSNorm weight [C]
  Bias,             // [C]
  LayerScale,       // [C]
};

enum class TensorStorage {
  Float32,  // always F32: vectors, small kernels, the MobileNetV5 stem
  Target,   // the file's type; block types store it 2-D [product of ne[0..n-2], ne[n-1]] so that blocks run
            // along the inputs, and F16 where such a row does not divide into blocks
};

// Random weights (make-model, training from scratch): offset + scale·u with u uniform in [-1, 1);
// scale 0 is the constant `offset` and draws nothing.
struct RandomInit {
  float offset = 0.0f, scale = 0.0f;
};

struct TensorSpec {
  std::string name;          // GGUF name
  std::string hf_name;       // Hugging Face checkpoint name
  std::vector<int64_t> ne;   // ggml order (fastest first)
  TensorRole role = TensorRole::Matrix;
  TensorStorage storage = TensorStorage::Target;
  int64_t fan_in = 1;        // inputs of one output: product of ne[0..n-2] for weights, 1 for vectors
  RandomInit init;
  bool optional = false;     // loaders accept its absence; random writers leave it out

  int64_t n_elements() const;
};

using TensorManifest = std::vector<TensorSpec>;

// A spec with the defaults of its role: weights (Matrix, ConvKernel, Embedding) stored in the target
// type, everything else F32; fan-in from the shape; initialisation uniform with variance 1/fan_in for
// weights and depthwise kernels, norms in [0.5, 1.5], layer scales in [0.2, 1.0], biases in ±0.1,
// embeddings and short-conv kernels in ±0.5. Components override what differs.
TensorSpec make_tensor_spec(std::string name, std::string hf_name, std::vector<int64_t> ne, TensorRole role);

// The type and shape a tensor is stored with in a file whose target type is `target`.
struct StoredShape {
  TensorType type;
  std::vector<int64_t> ne;
};
StoredShape stored_shape(const TensorSpec& spec, TensorType target);

// Whether a file's shape `ne` holds `spec`: equal once dimensions of size 1 are dropped, or (Target
// storage) the 2-D form of stored_shape.
bool shape_matches(const TensorSpec& spec, const std::vector<int64_t>& ne);

// nullptr when `name` is not in the manifest.
const TensorSpec* find_spec(const TensorManifest& manifest, std::string_view name);

// Elements of the tensors that every file holds (optional ones left out).
int64_t parameter_count(const TensorManifest& manifest);

}  // namespace autoneural::model
