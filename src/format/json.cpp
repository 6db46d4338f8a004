#include "format/json.h"

#include "autoneural/error.h"
#include "format/mapped_file.h"

namespace autoneural::format {

namespace {

// Deepest nesting of [ and { outside strings (a scan, no recursion).
int nesting_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if (c == ']' || c == '}') --depth;
    if (deepest > kMaxJsonDepth) break;
  }
  return deepest;
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& label, const char* malformed) {
  if (nesting_depth(text) > kMaxJsonDepth)
    throw Error(label + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  // allow_exceptions = false: nlohmann's own messages are replaced by one naming the file.
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) throw Error(label + ": " + malformed);
  return j;
}

nlohmann::json parse_json_file(const std::string& path) { return parse_json(read_text_file(path), path); }

int64_t json_int(const nlohmann::json& obj, const char* key, int64_t fallback) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) throw Error(std::string("field '") + key + "' must be an integer, not " + describe_json(*it));
  return it->get<int64_t>();
}

std::string describe_json(const nlohmann::json& v) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s.size() > 60) s = s.substr(0, 60) + "...";
    return "a string \"" + s + "\"";
  }
  if (v.is_object()) {
    const auto t = v.find("type");
    if (t != v.end() && t->is_string()) {
      std::string s = t->get<std::string>();
      if (s.size() > 60) s = s.substr(0, 60) + "...";
      return "an object of type \"" + s + "\"";
    }
    return "an object with " + std::to_string(v.size()) + " field(s)";
  }
  if (v.is_array()) return "an array of " + std::to_string(v.size());
  if (v.is_null()) return "null";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return "the number " + std::to_string(v.get<double>());
  return "a JSON value";
}

}  // namespace autoneural::format
