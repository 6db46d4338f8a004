// GGUF v3 reader and writer (layout: architecture-reference §6).
//
// The reader validates everything it is given before trusting it: counts against the bytes left,
// string and array lengths, tensor ranks, element counts against block sizes, offsets and sizes against
// the data section. Any violation throws autoneural::Error naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/mapped_file.h"
#include "format/tensor_type.h"

namespace autoneural::format {

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

// One metadata value. Scalars keep their original GGUF type so that a writer can round-trip them.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT32;
  // Scalar payloads: integers in `i` (signed view) / `u` (unsigned view), floats in `f`, bool in `u`.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string str;
  // Arrays: element type and elements (each element is a scalar or string GgufValue).
  GgufValueType elem_type = GgufValueType::UINT8;
  std::vector<GgufValue> array;

  static GgufValue make_u32(uint32_t v);
  static GgufValue make_i32(int32_t v);
  static GgufValue make_u64(uint64_t v);
  static GgufValue make_f32(float v);
  static GgufValue make_bool(bool v);
  static GgufValue make_string(std::string v);
  static GgufValue make_array(GgufValueType elem_type, std::vector<GgufValue> elems);
  static GgufValue make_string_array(const std::vector<std::string>& v);
  static GgufValue make_i32_array(const std::vector<int32_t>& v);
  static GgufValue make_f32_array(const std::vector<float>& v);

  bool is_integer() const;
  bool is_float() const;
};

struct GgufTensorInfo {
  std::string name;
  TensorType type = TensorType::F32;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the fastest-varying (contiguous) dimension
  uint64_t offset = 0;      // relative to the data section
  size_t nbytes = 0;
  const uint8_t* data = nullptr;  // points into the mapping (reader) or caller memory (writer)

  int64_t n_elements() const;
};

class GgufFile {
 public:
  // Maps and validates `path`. Throws autoneural::Error on any malformed content.
  static GgufFile open(const std::string& path);
  // Parses an in-memory image (used by the fuzzer and tests); `bytes` must outlive the object.
  static GgufFile parse(const uint8_t* bytes, size_t size, const std::string& label);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::string& path() const { return label_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;

  // Typed accessors. They return nullopt when the key is absent and throw Error when it is present
  // with a type that cannot be converted (for example a string where a number is expected).
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;       // any integer type
  std::optional<double> get_float(std::string_view key) const;      // any float or integer type
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;
  std::optional<std::vector<double>> get_float_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

 private:
  std::shared_ptr<MappedFile> file_;  // null when parsed from caller memory
  std::string label_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// Builds a GGUF v3 file in memory order: metadata in insertion order, tensors in insertion order,
// each tensor's data padded to the alignment, offsets the running sum (what llama.cpp insists on).
class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);  // replaces an existing key in place
  // `data` is copied; ne in ggml order; nbytes must equal row_bytes(type, ne[0]) * rows.
  void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne, const void* data,
                  size_t nbytes);
  // Writes atomically (see write_file_atomic). Throws Error on I/O failure or duplicate tensor names.
  void write(const std::string& path) const;
  // The serialized bytes (used by tests and by write()).
  std::vector<uint8_t> serialize() const;

 private:
  struct PendingTensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> bytes;
  };
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<PendingTensor> tensors_;
  uint32_t alignment() const;
};

}  // namespace autoneural::format
