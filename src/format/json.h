// Untrusted JSON (config.json, tokenizer.json, safetensors headers, calibration files): parsed with a
// nesting limit, because nlohmann's parser, destructor and dump() recurse once per level and 100,000
// levels overflow the stack. Messages describe a value (describe_json), never dump it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace autoneural::format {

inline constexpr int kMaxJsonDepth = 256;

// The parsed value; Error naming `label` when the text is not JSON or nests deeper than kMaxJsonDepth.
nlohmann::json parse_json(std::string_view text, const std::string& label, const char* malformed = "not valid JSON");
// The file's contents parsed as above.
nlohmann::json parse_json_file(const std::string& path);
// A short description for messages: "a string \"...\"", "an object of type \"Metaspace\"", "an array of 3".
std::string describe_json(const nlohmann::json& value);
// obj[key] as an integer; `fallback` when obj has no such key or it is null. Error "field 'KEY' must be an
// integer" for any other type: nlohmann's value() would convert a float with a cast, undefined behaviour
// for 1e300. Callers add the file name.
int64_t json_int(const nlohmann::json& obj, const char* key, int64_t fallback);

}  // namespace autoneural::format
