// Weight quantization: float (or any stored type) → symmetric integer codes with per-channel or group-wise
// scales, and back to the GGUF types that hold them (docs/quantization.md, "Weights").
#pragma once

#include <cstdint>
#include <vector>

#include "format/tensor_type.h"
#include "quant/scheme.h"

namespace autoneural::kernels {
struct IntMatrix;
}

namespace autoneural::quant {

// How a quantized weight is stored in a GGUF. Q8_0 / Q4_0 blocks hold the codes and (fp16) scales exactly,
// so llama.cpp reads such tensors as they are; everything else is stored as F32 values on the integer grid
// with its scales in metadata (autoneural.quant.scales.<tensor>).
enum class WeightStorage { Q8_0, Q4_0, F32Grid };

// Elements per scale for `cols` inputs: the scheme's group when it divides cols, else the whole row.
int64_t effective_group(const WeightScheme& s, int64_t cols);
WeightStorage storage_for(const WeightScheme& s, int64_t cols);
TensorType storage_type(WeightStorage st);

struct QuantizedMatrix {
  WeightScheme scheme;
  int64_t rows = 0, cols = 0, group = 0;  // group: elements per scale (== cols for per-channel)
  int32_t max_abs_code = 0;               // largest |code| present or allowed
  std::vector<int16_t> codes;             // rows × cols
  std::vector<float> scales;              // rows × n_groups(): real value = code · scale
  // The npu's integer form of the scales: per row a base scale and per group an integer multiplier
  // mult / 2^15 of it (empty for per-channel weights).
  std::vector<float> row_scale;
  std::vector<int32_t> mult;

  int64_t n_groups() const { return group > 0 ? cols / group : 1; }
  void dequantize(float* out) const;  // rows × cols
  kernels::IntMatrix int_matrix() const;
};

// Symmetric absmax quantization of rows × cols floats. With fp16_scales each scale is rounded to the nearest
// fp16 value first (what Q8_0/Q4_0 can store), so that writing and reading back changes nothing.
QuantizedMatrix quantize_values(const float* w, int64_t rows, int64_t cols, const WeightScheme& scheme,
                                bool fp16_scales);
// The same for a tensor in its stored type. Q8_0/Q4_0 whose blocks already follow the scheme (same bits,
// equal scales within each group) keep their codes and scales; F32 with `stored_scales` (rows × n_groups,
// from metadata) is read back exactly; anything else is dequantized and quantized by quantize_values.
QuantizedMatrix quantize_stored(TensorType type, const uint8_t* data, int64_t rows, int64_t cols,
                                const WeightScheme& scheme, const std::vector<float>* stored_scales = nullptr);
// Bytes of the tensor in `storage` (row-major, rows × cols elements of the storage type).
std::vector<uint8_t> encode_storage(const QuantizedMatrix& q, WeightStorage storage);

}  // namespace autoneural::quant
