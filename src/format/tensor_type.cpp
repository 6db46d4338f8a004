#include "format/tensor_type.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "autoneural/error.h"

namespace autoneural {

namespace {
struct Entry {
  TensorType type;
  TensorTypeTraits traits;
};
constexpr std::array<Entry, 7> kTypes = {{
    {TensorType::F32, {"f32", 1, 4}},
    {TensorType::F16, {"f16", 1, 2}},
    {TensorType::Q4_0, {"q4_0", 32, 18}},
    {TensorType::Q8_0, {"q8_0", 32, 34}},
    {TensorType::Q4_K, {"q4_k", 256, 144}},
    {TensorType::Q6_K, {"q6_k", 256, 210}},
    {TensorType::BF16, {"bf16", 1, 2}},
}};
}  // namespace

std::optional<TensorTypeTraits> tensor_type_traits(uint32_t ggml_type_id) {
  for (const auto& e : kTypes)
    if (static_cast<uint32_t>(e.type) == ggml_type_id) return e.traits;
  return std::nullopt;
}

const TensorTypeTraits& traits(TensorType type) {
  for (const auto& e : kTypes)
    if (e.type == type) return e.traits;
  throw Error("unsupported tensor type id " + std::to_string(static_cast<uint32_t>(type)));
}

std::string_view tensor_type_name(TensorType type) { return traits(type).name; }

std::optional<TensorType> parse_tensor_type(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& e : kTypes)
    if (e.traits.name == lower) return e.type;
  return std::nullopt;
}

size_t row_bytes(TensorType type, int64_t n_elems) {
  const auto& t = traits(type);
  return static_cast<size_t>(n_elems / t.block_elems) * t.block_bytes;
}

}  // namespace autoneural
