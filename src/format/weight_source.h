// Where a model's tensors come from: a GGUF file or a Hugging Face directory of safetensors.
//
// Model code asks for tensors by their GGUF (llama.cpp) names and gets ggml-order shapes, whatever the
// file; a Hugging Face directory is mapped to those names by the architecture's name table, so each model
// component is written against one naming scheme.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/gguf.h"
#include "format/safetensors.h"
#include "format/tensor_type.h"

namespace autoneural::format {

struct TensorRef {
  std::string name;              // GGUF name
  std::string source_name;       // name in the file it came from
  TensorType type = TensorType::F32;
  std::vector<int64_t> ne;       // ggml order (fastest first)
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  int64_t n_elements() const;
};

// Maps a Hugging Face tensor name to its GGUF name and ggml shape; nullopt if the architecture's table
// does not know the tensor (the caller decides whether that is an error).
using HfNameMapper = std::optional<std::string> (*)(std::string_view hf_name);

class WeightSource {
 public:
  // Opens a .gguf file, or a directory holding config.json + safetensors (mapped with `mapper`).
  static std::shared_ptr<WeightSource> open(const std::string& path, HfNameMapper mapper);

  bool is_gguf() const { return gguf_ != nullptr; }
  const format::GgufFile* gguf() const { return gguf_.get(); }
  const std::string& path() const { return path_; }
  size_t file_bytes() const { return file_bytes_; }

  const TensorRef* find(std::string_view gguf_name) const;
  // Throws Error naming the tensor and the file when it is missing or its shape differs from `ne`.
  const TensorRef& require(std::string_view gguf_name, const std::vector<int64_t>& ne) const;
  const std::map<std::string, TensorRef, std::less<>>& tensors() const { return tensors_; }

 private:
  std::string path_;
  size_t file_bytes_ = 0;
  std::unique_ptr<format::GgufFile> gguf_;
  std::unique_ptr<format::SafetensorsModel> safetensors_;
  std::map<std::string, TensorRef, std::less<>> tensors_;
};

// Shape as text for messages: [2048, 8192].
std::string shape_string(const std::vector<int64_t>& ne);

}  // namespace autoneural::format
