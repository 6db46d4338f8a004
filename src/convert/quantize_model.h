// Writing a quantized model: every weight tensor in the integer form the plan gives it, stored as
// llama.cpp's Q8_0 / Q4_0 where the scheme fits those blocks exactly and as F32 grid values with their
// scales in metadata otherwise; the recipe and the activation ranges in metadata (docs/quantization.md).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "format/weight_source.h"
#include "backend/quant_plan.h"

namespace autoneural::convert {

// Tensors the backends use as integer weights (matrices, convolution and depthwise kernels): two or more
// dimensions, several output channels and several inputs each. Norm weights, biases and layer scales stay
// float (the npu quantizes them per tensor on the fly).
bool is_quantizable_weight(const format::TensorRef& t);

// Writes `source` (a GGUF or an HF directory) quantized by `plan` to `out_path`, atomically. Metadata of a
// GGUF source is copied; `extra_source` (may be null) is merged in as well (a vision file → one merged GGUF).
void write_quantized_gguf(const format::WeightSource& source, const format::WeightSource* extra_source,
                          const backend::QuantPlan& plan, const std::string& out_path,
                          const std::function<void(double, std::string_view)>& progress = {});

}  // namespace autoneural::convert
