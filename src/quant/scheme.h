// Quantization schemes and recipes (docs/quantization.md states each exactly).
//
// A scheme says how one tensor is stored as integers; a recipe says which scheme every weight and every
// activation of a model gets. Recipes are data, not code paths: the sim and npu backends, `quantize` and
// `quant-report` all read the same Recipe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace autoneural::quant {

// Weights: symmetric, zero point 0, codes in [-(2^(bits-1) - 1), 2^(bits-1) - 1], scale = absmax / max code
// per output channel, or per group of `group` consecutive input elements of a channel (bits 4 only).
struct WeightScheme {
  int bits = 8;        // 4, 8 or 16
  int64_t group = 0;   // 0: one scale per output channel; 32/64/128: group-wise along the input dimension
  bool operator==(const WeightScheme&) const = default;
  int32_t max_code() const { return (1 << (bits - 1)) - 1; }
  std::string name() const;  // "int8/channel", "int4/g32"
};

// Activations: one scale per tensor; symmetric (zero point 0, codes ±(2^(bits-1) - 1)) or asymmetric
// (unsigned codes 0 .. 2^bits - 1 with a zero point, QNN's convention).
struct ActScheme {
  int bits = 16;            // 8 or 16
  bool symmetric = false;   // default: asymmetric uint16 as QNN
  bool operator==(const ActScheme&) const = default;
  std::string name() const;  // "uint16", "int8"
};

// Which part of the model a tensor belongs to; recipes may treat them differently.
enum class Component { Vision, Connector, Language };
Component component_of(std::string_view tensor_or_site);  // "v.*" vision, "mm.*" connector, else language

struct Override {
  std::string pattern;   // glob over tensor names: '*' any run of characters, '?' one character
  WeightScheme weights;
};

struct Recipe {
  std::string name;
  WeightScheme vision_weights, connector_weights, language_weights;
  ActScheme vision_acts, connector_acts, language_acts;
  std::vector<Override> overrides;  // first match wins, checked before the component rule

  WeightScheme weights_for(std::string_view tensor) const;
  ActScheme acts_for(Component c) const;
};

// The built-in recipes: w8a16, w4a16, w8a8, w16a16 (one scheme everywhere) and autoneural (W8A16 vision
// and connector, W4A16 language). Error for other names, listing the available ones.
Recipe recipe_by_name(std::string_view name);
std::vector<std::string> recipe_names();
// Parses "PATTERN=SCHEME" with SCHEME one of int8, int4, int4/g32, int4/g64, int4/g128, int16 (Error otherwise).
Override parse_override(std::string_view text);
// Parses a weight scheme name as written by WeightScheme::name() or the short forms above.
WeightScheme parse_weight_scheme(std::string_view text);
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace autoneural::quant
