// Pieces shared by the GGUF writers of model components (lfm2_export.cpp, vision_export.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "format/tensor_type.h"
#include "model/tensor_manifest.h"

namespace autoneural::format {
class GgufWriter;
}

namespace autoneural::convert {

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama.cpp's general.file_type numbering (architecture-reference §6.1); Error for other types.
uint32_t file_type_id(TensorType t);

// Converts `n_rows` rows of `ne0` floats into `type` bytes.
std::vector<uint8_t> encode_rows(const float* src, int64_t ne0, int64_t n_rows, TensorType type);

// Deterministic fast generator (splitmix64): drawing hundreds of millions of weights with <random>'s
// normal distribution would dominate make-model's run time.
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1).
  float uniform() { return static_cast<float>(static_cast<int64_t>(next() >> 11) * 0x1.0p-52 - 1.0); }
};

// How a writer stores a manifest tensor (model::stored_shape, or a foreign format's rule).
using StoreRule = std::function<model::StoredShape(const model::TensorSpec&)>;

// Draws every required tensor of `manifest` in order from `rng` (TensorSpec::init), stores it as `store`
// says and adds it to `w`; `progress` runs from 0 to 0.9 with the tensor names.
void add_random_tensors(format::GgufWriter& w, const model::TensorManifest& manifest, SplitMix& rng,
                        const StoreRule& store, const std::function<void(double, std::string_view)>& progress);

// A checkpoint tensor (`type` data of shape `ne`, ggml order) converted to `spec`'s stored form for
// `target` and added to `w` under spec.name. Error naming `source` when the shape is not spec's.
void add_converted_tensor(format::GgufWriter& w, const model::TensorSpec& spec, TensorType type, const uint8_t* data,
                          const std::vector<int64_t>& ne, TensorType target, const std::string& source);

}  // namespace autoneural::convert
