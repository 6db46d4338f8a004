// Typed views of a format::WeightSource's tensors for model components: matrices used in place by the Backend and
// small vectors (norm weights, biases, kernels) copied to float32.
#pragma once

#include <string>
#include <vector>

#include "format/weight_source.h"
#include "backend/backend.h"

namespace autoneural::model {

// A [out][in] weight (GGUF ne = [in, out]) used in place in its stored type. Error if missing or misshaped.
backend::Weight load_matrix(const format::WeightSource& weights, const std::string& name, int64_t in, int64_t out);
// A k×k convolution weight [out, in, k, k] (ne [k, k, in, out]) as a matrix of `out` rows of in·k² columns
// (input channel slowest, then ky, kx), used in place.
backend::Weight load_conv_matrix(const format::WeightSource& weights, const std::string& name, int64_t k, int64_t in,
                                 int64_t out);
// Any tensor of shape `ne` (dimensions of size 1 ignored, see format::WeightSource::require) as float32.
std::vector<float> load_f32(const format::WeightSource& weights, const std::string& name, const std::vector<int64_t>& ne);

}  // namespace autoneural::model
