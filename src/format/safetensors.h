// safetensors reader: a single file or a sharded set described by model.safetensors.index.json.
// Layout: u64 little-endian header length N, N bytes of JSON ({name: {dtype, shape, data_offsets}},
// optional "__metadata__"), then the data buffer. All offsets are validated against the file size.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/mapped_file.h"
#include "format/tensor_type.h"

namespace autoneural::format {

struct SafetensorsTensor {
  std::string name;
  TensorType type = TensorType::F32;  // only F32, F16, BF16 are accepted
  std::vector<int64_t> shape;         // PyTorch order (outermost first)
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t n_elements() const;
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  static SafetensorsFile parse(const uint8_t* bytes, size_t size, const std::string& label);

  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(std::string_view name) const;

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

// All safetensors files of a Hugging Face model directory: model.safetensors, or the shards listed in
// model.safetensors.index.json ("weight_map"). Tensor names must be unique across shards.
class SafetensorsModel {
 public:
  static SafetensorsModel open_dir(const std::string& dir);

  SafetensorsModel() = default;
  SafetensorsModel(SafetensorsModel&&) = default;
  SafetensorsModel& operator=(SafetensorsModel&&) = default;
  // Not copyable: index_ points into the tensors held by shards_, and a copy would point into the original.
  SafetensorsModel(const SafetensorsModel&) = delete;
  SafetensorsModel& operator=(const SafetensorsModel&) = delete;

  const SafetensorsTensor* find(std::string_view name) const;
  std::vector<const SafetensorsTensor*> all() const;

 private:
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, const SafetensorsTensor*, std::less<>> index_;
};

}  // namespace autoneural::format
