// NumPy .npy files (format version 1.0/2.0), little-endian, C order. Used for logits and features
// dumps and for reading reference outputs in tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace autoneural::format {

struct NpyArray {
  std::vector<int64_t> shape;
  // Exactly one of these is filled, by the dtype of the file: '<f4'/'<f8' → f32 (f8 converted),
  // '<i4'/'<i8'/'|u1' → i64.
  std::vector<float> f32;
  std::vector<int64_t> i64;
  bool is_float() const { return !f32.empty() || (i64.empty() && is_float_dtype); }
  bool is_float_dtype = false;
  int64_t size() const;
};

NpyArray read_npy(const std::string& path);  // throws Error on unsupported or malformed files
// The same from a file image in memory; `label` names it in error messages.
NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& label);
// Written atomically.
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void write_npy_i32(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape);

}  // namespace autoneural::format
