#include "quant/scheme.h"

#include "autoneural/error.h"

namespace autoneural::quant {

std::string WeightScheme::name() const {
  return "int" + std::to_string(bits) + (group > 0 ? "/g" + std::to_string(group) : "/channel");
}

std::string ActScheme::name() const { return (symmetric ? "int" : "uint") + std::to_string(bits); }

Component component_of(std::string_view name) {
  if (name.rfind("v.", 0) == 0) return Component::Vision;
  if (name.rfind("mm.", 0) == 0) return Component::Connector;
  return Component::Language;
}

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative matcher with one backtrack point for the last '*': linear in practice, no recursion.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi, ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

WeightScheme Recipe::weights_for(std::string_view tensor) const {
  for (const auto& o : overrides)
    if (glob_match(o.pattern, tensor)) return o.weights;
  switch (component_of(tensor)) {
    case Component::Vision: return vision_weights;
    case Component::Connector: return connector_weights;
    case Component::Language: return language_weights;
  }
  return language_weights;
}

ActScheme Recipe::acts_for(Component c) const {
  switch (c) {
    case Component::Vision: return vision_acts;
    case Component::Connector: return connector_acts;
    case Component::Language: return language_acts;
  }
  return language_acts;
}

namespace {

Recipe uniform(std::string name, WeightScheme w, ActScheme a) {
  return {std::move(name), w, w, w, a, a, a, {}};
}

}  // namespace

std::vector<std::string> recipe_names() { return {"w8a16", "w4a16", "w8a8", "w16a16", "autoneural"}; }

Recipe recipe_by_name(std::string_view name) {
  const WeightScheme int8{8, 0}, int4{4, 32}, int16{16, 0};
  const ActScheme a16{16, false}, a8{8, false};
  if (name == "w8a16") return uniform("w8a16", int8, a16);
  // Group 32 along the input is exactly llama.cpp's Q4_0 block, so the language model stays readable there.
  if (name == "w4a16") return uniform("w4a16", int4, a16);
  if (name == "w8a8") return uniform("w8a8", int8, a8);
  if (name == "w16a16") return uniform("w16a16", int16, a16);
  if (name == "autoneural") {
    Recipe r = uniform("autoneural", int8, a16);
    r.language_weights = int4;
    return r;
  }
  std::string list;
  for (const auto& n : recipe_names()) list += (list.empty() ? "" : ", ") + n;
  throw Error("unknown quantization recipe '" + std::string(name) + "' (available: " + list + ")");
}

WeightScheme parse_weight_scheme(std::string_view s) {
  if (s == "int8" || s == "int8/channel") return {8, 0};
  if (s == "int16" || s == "int16/channel") return {16, 0};
  if (s == "int4" || s == "int4/channel") return {4, 0};
  for (int g : {32, 64, 128})
    if (s == "int4/g" + std::to_string(g)) return {4, g};
  throw Error("unknown weight scheme '" + std::string(s) +
              "' (expected int8, int16, int4, int4/g32, int4/g64 or int4/g128)");
}

Override parse_override(std::string_view text) {
  const size_t eq = text.rfind('=');
  if (eq == std::string_view::npos || eq == 0)
    throw Error("override '" + std::string(text) + "' is not PATTERN=SCHEME (for example 'token_embd*=int8')");
  return {std::string(text.substr(0, eq)), parse_weight_scheme(text.substr(eq + 1))};
}

}  // namespace autoneural::quant
