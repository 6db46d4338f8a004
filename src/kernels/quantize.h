// Row conversions between float and the GGUF tensor types. These are the reference quantizers: they
// reproduce ggml's reference quantizers bit for bit (architecture-reference §6.2), so a GGUF written by
// `autoneural convert` matches one written by llama.cpp's converter.
#pragma once

#include <cstdint>

#include "format/tensor_type.h"

namespace autoneural::kernels {

// Dequantizes n elements (n % block_elems == 0) of `type` at `src` into `dst`.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

// Quantizes n floats into `type` (F32, F16, BF16, Q8_0, Q4_0; K-quants are read-only here).
// Throws autoneural::Error for a type it cannot produce.
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);

}  // namespace autoneural::kernels
