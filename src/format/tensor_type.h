// Tensor element types as numbered by ggml/GGUF, with their block geometry.
//
// A "block" is the smallest independently decodable unit: 1 element for F32/F16/BF16, 32 for Q8_0/Q4_0,
// 256 for the K-quants. A row of n elements occupies (n / block_elems) * block_bytes bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace autoneural {

enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
  Q4_K = 12,
  Q6_K = 14,
  BF16 = 30,
};

struct TensorTypeTraits {
  std::string_view name;  // lower-case, as used on the command line ("q4_0")
  int64_t block_elems;
  size_t block_bytes;
};

// Traits of a supported type; nullopt for an id this engine cannot read (the caller reports the error).
std::optional<TensorTypeTraits> tensor_type_traits(uint32_t ggml_type_id);
const TensorTypeTraits& traits(TensorType type);
std::string_view tensor_type_name(TensorType type);
std::optional<TensorType> parse_tensor_type(std::string_view name);  // "f32", "q8_0", ... (case-insensitive)

// Bytes of one row of `n_elems` elements; requires n_elems % block_elems == 0 (checked by callers).
size_t row_bytes(TensorType type, int64_t n_elems);

}  // namespace autoneural
