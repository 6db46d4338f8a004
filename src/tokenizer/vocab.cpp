// Vocabulary loaders: GGUF `tokenizer.ggml.*` keys and Hugging Face tokenizer.json / tokenizer_config.json.
#include "tokenizer/vocab.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>


#include "autoneural/error.h"
#include "format/json.h"
#include "format/mapped_file.h"
#include "format/gguf.h"
#include "tokenizer/pretokenizer.h"

namespace autoneural::tokenizer {

namespace {

using nlohmann::json;

// The HF spelling of the llama-3 split regex (LFM2 uses it verbatim) and llama.cpp's expansion of its
// case-insensitive group. Either one identifies the llama-3 pre-tokenizer.
constexpr std::string_view kLlama3RegexHf =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3RegexExpanded =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

bool is_llama3_family(std::string_view pre) {
  return pre == "lfm2" || pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3";
}

using format::read_text_file;

json parse_json_text(const std::string& text, const std::string& path) {
  return format::parse_json(text, path, "malformed JSON");
}

// Special-token fields in tokenizer_config.json are either a plain string or an AddedToken object
// {"content": ...}; null means "not set".
std::optional<std::string> token_string(const json& j, const std::string& key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  throw Error(path + ": field \"" + key + "\" must be a string or an object with \"content\"");
}

using format::describe_json;

// Chooses our pre-tokenizer name from tokenizer.json's pre_tokenizer. Only the two byte-level layouts
// we implement are accepted: Split(llama-3 regex, Isolated) + ByteLevel(no regex), and plain GPT-2
// ByteLevel(use_regex). Anything else would silently tokenize differently, so it is an error.
std::string pre_from_hf(const json& pre, const std::string& path) {
  if (pre.is_null()) throw Error(path + ": pre_tokenizer is null; a byte-level BPE tokenizer needs one");
  auto byte_level_ok = [&](const json& bl, bool want_regex) {
    if (bl.value("add_prefix_space", false))
      throw Error(path + ": ByteLevel pre-tokenizer with add_prefix_space=true is not supported");
    return bl.value("use_regex", true) == want_regex;
  };
  const std::string type = pre.value("type", "");
  if (type == "ByteLevel") {
    if (byte_level_ok(pre, true)) return "gpt-2";
  } else if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array() &&
             pre["pretokenizers"].size() == 2) {
    const json& split = pre["pretokenizers"][0];
    const json& bl = pre["pretokenizers"][1];
    if (split.value("type", "") == "Split" && bl.value("type", "") == "ByteLevel" &&
        split.value("behavior", "") == "Isolated" && !split.value("invert", false) &&
        byte_level_ok(bl, false)) {
      std::string regex;
      if (split.contains("pattern") && split["pattern"].is_object() && split["pattern"].contains("Regex") &&
          split["pattern"]["Regex"].is_string())
        regex = split["pattern"]["Regex"].get<std::string>();
      if (regex == kLlama3RegexHf || regex == kLlama3RegexExpanded) return "lfm2";
      throw Error(path + ": unsupported pre-tokenizer split regex: " + regex);
    }
  }
  throw Error(path + ": unsupported pre_tokenizer " + describe_json(pre));
}

}  // namespace

void validate_vocab(const VocabData& v, const std::string& origin) {
  if (v.model != "gpt2")
    throw Error(origin + ": unsupported tokenizer model \"" + v.model +
                "\" (only byte-level BPE \"gpt2\" is supported)");
  if (v.tokens.empty()) throw Error(origin + ": tokenizer has no tokens");
  if (v.tokens.size() > static_cast<size_t>(INT32_MAX)) throw Error(origin + ": too many tokens");
  if (v.token_types.size() != v.tokens.size())
    throw Error(origin + ": token_type has " + std::to_string(v.token_types.size()) + " entries but there are " +
                std::to_string(v.tokens.size()) + " tokens");
  for (size_t i = 0; i < v.token_types.size(); ++i)
    if (v.token_types[i] < TOKEN_TYPE_UNDEFINED || v.token_types[i] > TOKEN_TYPE_BYTE)
      throw Error(origin + ": token " + std::to_string(i) + " has invalid type " + std::to_string(v.token_types[i]));
  const auto n = static_cast<int64_t>(v.tokens.size());
  auto check_id = [&](int32_t id, const char* what) {
    if (id < -1 || id >= n)
      throw Error(origin + ": " + what + " token id " + std::to_string(id) + " is out of range (vocabulary has " +
                  std::to_string(n) + " tokens)");
  };
  check_id(v.bos, "BOS");
  check_id(v.eos, "EOS");
  check_id(v.pad, "padding");
}

VocabData vocab_from_gguf(const format::GgufFile& g) {
  const std::string& origin = g.path();
  VocabData v;
  auto model = g.get_string("tokenizer.ggml.model");
  if (!model) throw Error(origin + ": missing tokenizer.ggml.model (not a GGUF with a vocabulary)");
  v.model = *model;
  if (v.model != "gpt2")
    throw Error(origin + ": unsupported tokenizer model \"" + v.model +
                "\" (only byte-level BPE \"gpt2\" is supported)");
  // llama.cpp treats a missing pre-tokenizer name as "default" (the GPT-2 regex).
  v.pre = g.get_string("tokenizer.ggml.pre").value_or("default");
  if (!PreTokenizer::supported(v.pre))
    throw Error(origin + ": unsupported pre-tokenizer \"" + v.pre +
                "\" (supported: lfm2, llama3, llama-bpe, llama-v3, gpt-2, default)");

  auto tokens = g.get_string_array("tokenizer.ggml.tokens");
  if (!tokens) throw Error(origin + ": missing tokenizer.ggml.tokens");
  v.tokens = std::move(*tokens);
  if (auto types = g.get_int_array("tokenizer.ggml.token_type")) {
    v.token_types.reserve(types->size());
    for (int64_t t : *types) {
      if (t < TOKEN_TYPE_UNDEFINED || t > TOKEN_TYPE_BYTE)
        throw Error(origin + ": tokenizer.ggml.token_type contains invalid type " + std::to_string(t));
      v.token_types.push_back(static_cast<int32_t>(t));
    }
    if (v.token_types.size() != v.tokens.size())
      throw Error(origin + ": tokenizer.ggml.token_type has " + std::to_string(v.token_types.size()) +
                  " entries but tokenizer.ggml.tokens has " + std::to_string(v.tokens.size()));
  } else {
    v.token_types.assign(v.tokens.size(), TOKEN_TYPE_NORMAL);  // optional in llama.cpp as well
  }
  auto merges = g.get_string_array("tokenizer.ggml.merges");
  if (!merges) throw Error(origin + ": missing tokenizer.ggml.merges (required for a BPE vocabulary)");
  v.merges = std::move(*merges);

  const auto n = static_cast<int64_t>(v.tokens.size());
  auto read_id = [&](const char* key) -> int32_t {
    auto id = g.get_int(key);
    if (!id) return -1;
    if (*id < 0 || *id >= n)
      throw Error(origin + ": " + key + " = " + std::to_string(*id) + " is out of range (vocabulary has " +
                  std::to_string(n) + " tokens)");
    return static_cast<int32_t>(*id);
  };
  v.bos = read_id("tokenizer.ggml.bos_token_id");
  v.eos = read_id("tokenizer.ggml.eos_token_id");
  v.pad = read_id("tokenizer.ggml.padding_token_id");
  // llama.cpp turns BOS on for the llama-3 family pre-tokenizers (LFM2 included) unless the file says
  // otherwise.
  v.add_bos = g.get_bool("tokenizer.ggml.add_bos_token").value_or(is_llama3_family(v.pre));
  v.add_eos = g.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  v.chat_template = g.get_string("tokenizer.chat_template").value_or("");
  validate_vocab(v, origin);
  return v;
}

VocabData vocab_from_hf_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  HfTokenizerFiles files;
  files.dir = dir;
  files.tokenizer_json = read_text_file((fs::path(dir) / "tokenizer.json").string());
  auto optional_file = [&](const char* name) -> std::optional<std::string> {
    const fs::path path = fs::path(dir) / name;
    if (!fs::exists(path)) return std::nullopt;
    return read_text_file(path.string());
  };
  files.tokenizer_config = optional_file("tokenizer_config.json");
  files.special_tokens_map = optional_file("special_tokens_map.json");
  files.chat_template_jinja = optional_file("chat_template.jinja");
  return vocab_from_hf_files(files);
}

VocabData vocab_from_hf_files(const HfTokenizerFiles& files) {
  namespace fs = std::filesystem;
  const std::string tok_path = (fs::path(files.dir) / "tokenizer.json").string();
  const json tj = parse_json_text(files.tokenizer_json, tok_path);
  if (!tj.is_object()) throw Error(tok_path + ": expected a JSON object");
  auto need = [&](const json& obj, const char* key, const std::string& where) -> const json& {
    auto it = obj.find(key);
    if (it == obj.end()) throw Error(tok_path + ": missing field \"" + where + "\"");
    return *it;
  };

  VocabData v;
  try {
    const json& model = need(tj, "model", "model");
    if (!model.is_object()) throw Error(tok_path + ": \"model\" must be an object");
    const std::string type = model.value("type", "BPE");
    if (type != "BPE") throw Error(tok_path + ": unsupported tokenizer model \"" + type + "\" (only BPE)");
    if (tj.contains("normalizer") && !tj["normalizer"].is_null())
      throw Error(tok_path + ": unsupported normalizer " + describe_json(tj["normalizer"]));

    const json& vocab = need(model, "vocab", "model.vocab");
    if (!vocab.is_object()) throw Error(tok_path + ": \"model.vocab\" must be an object");
    const json empty_array = json::array();
    const json& added = tj.contains("added_tokens") && !tj["added_tokens"].is_null() ? tj["added_tokens"] : empty_array;
    if (!added.is_array()) throw Error(tok_path + ": \"added_tokens\" must be an array");

    // Ids may be sparse; the size is one past the largest id anywhere (gaps become unused tokens, as in
    // llama.cpp's converter).
    int64_t max_id = -1;
    auto check_id = [&](const json& id, const std::string& what) -> int64_t {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (int64_t{1} << 24))
        throw Error(tok_path + ": invalid id for " + what);
      return id.get<int64_t>();
    };
    for (auto it = vocab.begin(); it != vocab.end(); ++it) max_id = std::max(max_id, check_id(it.value(), it.key()));
    for (const json& a : added) {
      if (!a.is_object() || !a.contains("id") || !a.contains("content") || !a["content"].is_string())
        throw Error(tok_path + ": malformed entry in added_tokens");
      max_id = std::max(max_id, check_id(a["id"], "added token"));
    }
    if (max_id < 0) throw Error(tok_path + ": empty vocabulary");
    // Gaps are filled, but a few bytes must not make us allocate millions of them: at most half of the
    // ids may be unassigned.
    const size_t entries = vocab.size() + added.size();
    if (static_cast<uint64_t>(max_id) + 1 > 2 * static_cast<uint64_t>(entries))
      throw Error(tok_path + ": token ids are too sparse: the largest is " + std::to_string(max_id) + " but there are " +
                  std::to_string(entries) + " tokens (at most half of the ids may be unassigned)");
    v.tokens.assign(static_cast<size_t>(max_id + 1), std::string());
    v.token_types.assign(v.tokens.size(), TOKEN_TYPE_UNUSED);
    std::vector<bool> filled(v.tokens.size(), false);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const auto id = static_cast<size_t>(it.value().get<int64_t>());
      v.tokens[id] = it.key();
      v.token_types[id] = TOKEN_TYPE_NORMAL;
      filled[id] = true;
    }
    for (const json& a : added) {
      const auto id = static_cast<size_t>(a["id"].get<int64_t>());
      v.tokens[id] = a["content"].get<std::string>();
      v.token_types[id] = a.value("special", false) ? TOKEN_TYPE_CONTROL : TOKEN_TYPE_USER_DEFINED;
      filled[id] = true;
    }
    for (size_t i = 0; i < v.tokens.size(); ++i)
      if (!filled[i]) v.tokens[i] = "[PAD" + std::to_string(i) + "]";

    const json& merges = need(model, "merges", "model.merges");
    if (!merges.is_array()) throw Error(tok_path + ": \"model.merges\" must be an array");
    v.merges.reserve(merges.size());
    for (const json& m : merges) {
      if (m.is_string()) {
        v.merges.push_back(m.get<std::string>());
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      } else {
        throw Error(tok_path + ": malformed merge " + describe_json(m));
      }
    }
    // ignore_merges is implied by the llama-3 pre-tokenizer (see Tokenizer); the flag itself is not kept.
    v.pre = pre_from_hf(tj.contains("pre_tokenizer") ? tj["pre_tokenizer"] : json(), tok_path);
  } catch (const json::exception& e) {
    throw Error(tok_path + ": unexpected JSON structure: " + e.what());
  }

  // Special-token strings and flags.
  const fs::path cfg_path = fs::path(files.dir) / "tokenizer_config.json";
  const fs::path map_path = fs::path(files.dir) / "special_tokens_map.json";
  json cfg = json::object();
  json smap = json::object();
  if (files.tokenizer_config) cfg = parse_json_text(*files.tokenizer_config, cfg_path.string());
  if (files.special_tokens_map) smap = parse_json_text(*files.special_tokens_map, map_path.string());
  if (!cfg.is_object()) throw Error(cfg_path.string() + ": expected a JSON object");
  if (!smap.is_object()) throw Error(map_path.string() + ": expected a JSON object");

  std::unordered_map<std::string, int32_t> by_text;
  for (size_t i = 0; i < v.tokens.size(); ++i) by_text[v.tokens[i]] = static_cast<int32_t>(i);
  auto special_id = [&](const std::string& key) -> int32_t {
    std::optional<std::string> s = token_string(cfg, key, cfg_path.string());
    std::string from = cfg_path.string();
    if (!s) {
      s = token_string(smap, key, map_path.string());
      from = map_path.string();
    }
    if (!s) return -1;
    auto it = by_text.find(*s);
    if (it == by_text.end()) throw Error(from + ": " + key + " \"" + *s + "\" is not in the vocabulary");
    return it->second;
  };
  v.bos = special_id("bos_token");
  v.eos = special_id("eos_token");
  v.pad = special_id("pad_token");

  // add_bos/add_eos: explicit flags win; otherwise read them off the post-processor template, as
  // llama.cpp's converter does.
  bool tmpl_bos = false, tmpl_eos = false;
  if (tj.contains("post_processor") && tj["post_processor"].is_object() &&
      tj["post_processor"].value("type", "") == "TemplateProcessing" && tj["post_processor"].contains("single") &&
      tj["post_processor"]["single"].is_array()) {
    const json& single = tj["post_processor"]["single"];
    auto special_at = [&](const json& item) -> int32_t {
      if (!item.is_object() || !item.contains("SpecialToken")) return -1;
      const json& st = item["SpecialToken"];
      if (!st.is_object() || !st.contains("id") || !st["id"].is_string()) return -1;
      auto it = by_text.find(st["id"].get<std::string>());
      return it == by_text.end() ? -1 : it->second;
    };
    if (!single.empty()) {
      const int32_t first = special_at(single.front());
      const int32_t last = special_at(single.back());
      tmpl_bos = first >= 0 && first == v.bos;
      tmpl_eos = single.size() > 1 && last >= 0 && last == v.eos;
    }
  }
  auto flag = [&](const char* key, bool fallback) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw Error(cfg_path.string() + ": \"" + key + "\" must be a boolean");
    return it->get<bool>();
  };
  v.add_bos = flag("add_bos_token", tmpl_bos);
  v.add_eos = flag("add_eos_token", tmpl_eos);

  // chat_template: a string, or (older multi-template configs) a list of {name, template}; newer
  // transformers versions keep it in chat_template.jinja instead.
  if (auto it = cfg.find("chat_template"); it != cfg.end() && !it->is_null()) {
    if (it->is_string()) {
      v.chat_template = it->get<std::string>();
    } else if (it->is_array()) {
      for (const json& t : *it)
        if (t.is_object() && t.value("name", "") == "default" && t.contains("template") && t["template"].is_string())
          v.chat_template = t["template"].get<std::string>();
    } else {
      throw Error(cfg_path.string() + ": \"chat_template\" must be a string or a list");
    }
  } else if (files.chat_template_jinja) {
    v.chat_template = *files.chat_template_jinja;
  }
  validate_vocab(v, tok_path);
  return v;
}

void vocab_to_gguf(const VocabData& v, format::GgufWriter& w) {
  using format::GgufValue;
  w.set("tokenizer.ggml.model", GgufValue::make_string(v.model));
  if (!v.pre.empty()) w.set("tokenizer.ggml.pre", GgufValue::make_string(v.pre));
  w.set("tokenizer.ggml.tokens", GgufValue::make_string_array(v.tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::make_i32_array(v.token_types));
  w.set("tokenizer.ggml.merges", GgufValue::make_string_array(v.merges));
  if (v.bos >= 0) w.set("tokenizer.ggml.bos_token_id", GgufValue::make_u32(static_cast<uint32_t>(v.bos)));
  if (v.eos >= 0) w.set("tokenizer.ggml.eos_token_id", GgufValue::make_u32(static_cast<uint32_t>(v.eos)));
  if (v.pad >= 0) w.set("tokenizer.ggml.padding_token_id", GgufValue::make_u32(static_cast<uint32_t>(v.pad)));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::make_bool(v.add_bos));
  w.set("tokenizer.ggml.add_eos_token", GgufValue::make_bool(v.add_eos));
  if (!v.chat_template.empty()) w.set("tokenizer.chat_template", GgufValue::make_string(v.chat_template));
}

}  // namespace autoneural::tokenizer
