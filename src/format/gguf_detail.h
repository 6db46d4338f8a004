// Internal helpers shared by the GGUF reader (gguf.cpp) and writer (gguf_writer.cpp). Not part of
// any public interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "format/gguf.h"
#include "format/tensor_type.h"

namespace autoneural::format::gguf_detail {

inline constexpr uint32_t kGgufMagic = 0x46554747u;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kDefaultAlignment = 32;
// ggml stores names in char[64] including the terminator; llama.cpp refuses longer names, so do we.
inline constexpr size_t kMaxTensorName = 63;
inline constexpr int kMaxDims = 4;

inline bool is_known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

inline const char* value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: return "uint8";
    case GgufValueType::INT8: return "int8";
    case GgufValueType::UINT16: return "uint16";
    case GgufValueType::INT16: return "int16";
    case GgufValueType::UINT32: return "uint32";
    case GgufValueType::INT32: return "int32";
    case GgufValueType::FLOAT32: return "float32";
    case GgufValueType::BOOL: return "bool";
    case GgufValueType::STRING: return "string";
    case GgufValueType::ARRAY: return "array";
    case GgufValueType::UINT64: return "uint64";
    case GgufValueType::INT64: return "int64";
    case GgufValueType::FLOAT64: return "float64";
  }
  return "unknown";
}

inline bool type_is_integer(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::UINT16:
    case GgufValueType::INT16: case GgufValueType::UINT32: case GgufValueType::INT32:
    case GgufValueType::UINT64: case GgufValueType::INT64:
      return true;
    default:
      return false;
  }
}
inline bool type_is_signed(GgufValueType t) {
  return t == GgufValueType::INT8 || t == GgufValueType::INT16 || t == GgufValueType::INT32 ||
         t == GgufValueType::INT64;
}
inline bool type_is_float(GgufValueType t) { return t == GgufValueType::FLOAT32 || t == GgufValueType::FLOAT64; }

inline uint64_t align_up(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

// Bytes of a tensor of `type` and shape `ne`, or nullopt if the count overflows. Callers have checked
// that ne[0] is a multiple of the block size and that every ne is non-negative.
inline std::optional<uint64_t> tensor_nbytes(const TensorTypeTraits& t, const std::vector<int64_t>& ne) {
  uint64_t row = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(ne[0] / t.block_elems), static_cast<uint64_t>(t.block_bytes), &row))
    return std::nullopt;
  uint64_t total = row;
  for (size_t d = 1; d < ne.size(); ++d)
    if (__builtin_mul_overflow(total, static_cast<uint64_t>(ne[d]), &total)) return std::nullopt;
  if (total > std::numeric_limits<size_t>::max()) return std::nullopt;
  return total;
}

// Element count, or nullopt when it does not fit in int64 (ne all non-negative).
inline std::optional<int64_t> element_count(const std::vector<int64_t>& ne) {
  int64_t n = 1;
  for (int64_t d : ne)
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  return n;
}

}  // namespace autoneural::format::gguf_detail
