#include "model/lfm2_config.h"

#include <algorithm>
#include <cmath>

#include "autoneural/error.h"
#include "format/json.h"
#include "format/gguf.h"

namespace autoneural::model {

int64_t Lfm2Config::n_attention_layers() const {
  return std::count(is_attention.begin(), is_attention.end(), true);
}

void Lfm2Config::validate() const {
  auto fail = [](const std::string& what) { throw Error("invalid LFM2 configuration: " + what); };
  if (n_vocab <= 0 || n_vocab > (1 << 24)) fail("vocabulary size " + std::to_string(n_vocab));
  if (hidden <= 0 || hidden > 65536) fail("hidden size " + std::to_string(hidden));
  if (n_layers <= 0 || n_layers > 1024) fail("layer count " + std::to_string(n_layers));
  if (static_cast<int64_t>(is_attention.size()) != n_layers) fail("layer pattern length differs from layer count");
  if (n_head <= 0 || hidden % n_head != 0) fail("hidden size not divisible by head count");
  if (head_dim != hidden / n_head) fail("head_dim must equal hidden / heads");
  if (head_dim % 2 != 0) fail("head_dim must be even for RoPE");
  if (n_attention_layers() > 0 && (n_head_kv <= 0 || n_head % n_head_kv != 0))
    fail("query heads must be a multiple of key/value heads");
  if (ff <= 0 || ff > (1 << 20)) fail("feed-forward width " + std::to_string(ff));
  if (conv_l_cache < 1 || conv_l_cache > 64) fail("conv L_cache " + std::to_string(conv_l_cache));
  if (!(norm_eps > 0) || !(rope_theta > 0)) fail("norm epsilon and rope theta must be positive");
}

Lfm2Config lfm2_config_from_gguf(const format::GgufFile& file) {
  auto arch = file.get_string("general.architecture");
  if (!arch) throw Error(file.path() + ": missing general.architecture");
  if (*arch != "lfm2") throw Error(file.path() + ": architecture '" + *arch + "' is not supported (expected lfm2)");
  auto req_int = [&](const char* key) {
    auto v = file.get_int(key);
    if (!v) throw Error(file.path() + ": missing metadata key " + key);
    return *v;
  };
  Lfm2Config c;
  c.n_layers = req_int("lfm2.block_count");
  c.hidden = req_int("lfm2.embedding_length");
  c.ff = req_int("lfm2.feed_forward_length");
  c.n_head = req_int("lfm2.attention.head_count");
  c.context_train = file.get_int("lfm2.context_length").value_or(0);
  c.conv_l_cache = file.get_int("lfm2.shortconv.l_cache").value_or(3);
  c.rope_theta = static_cast<float>(file.get_float("lfm2.rope.freq_base").value_or(1e6));
  c.norm_eps = static_cast<float>(file.get_float("lfm2.attention.layer_norm_rms_epsilon").value_or(1e-5));
  if (c.n_layers <= 0 || c.n_layers > 1024) throw Error(file.path() + ": invalid lfm2.block_count");
  // head_count_kv: per-layer array (0 = short-conv layer) or a scalar (then every layer is attention).
  const auto* kv = file.find("lfm2.attention.head_count_kv");
  if (!kv) throw Error(file.path() + ": missing metadata key lfm2.attention.head_count_kv");
  if (kv->type == format::GgufValueType::ARRAY) {
    auto arr = file.get_int_array("lfm2.attention.head_count_kv").value();
    if (static_cast<int64_t>(arr.size()) != c.n_layers)
      throw Error(file.path() + ": lfm2.attention.head_count_kv has " + std::to_string(arr.size()) +
                  " entries for " + std::to_string(c.n_layers) + " layers");
    for (int64_t v : arr) {
      c.is_attention.push_back(v != 0);
      if (v != 0) {
        if (c.n_head_kv != 0 && c.n_head_kv != v) throw Error(file.path() + ": attention layers differ in head_count_kv");
        c.n_head_kv = v;
      }
    }
  } else {
    c.n_head_kv = req_int("lfm2.attention.head_count_kv");
    c.is_attention.assign(c.n_layers, c.n_head_kv != 0);
  }
  c.head_dim = c.n_head > 0 ? c.hidden / c.n_head : 0;
  if (auto v = file.get_int("lfm2.vocab_size")) c.n_vocab = *v;
  if (c.n_vocab == 0) {
    if (auto t = file.find_tensor("token_embd.weight"); t && t->ne.size() == 2) c.n_vocab = t->ne[1];
  }
  c.validate();
  return c;
}

Lfm2Config lfm2_config_from_hf_json(const std::string& json_text, const std::string& label) {
  const nlohmann::json j = format::parse_json(json_text, label);
  if (!j.is_object()) throw Error(label + ": expected a JSON object");
  auto get_int = [&](const char* key, std::optional<int64_t> fallback = std::nullopt) -> int64_t {
    if (!fallback && (!j.contains(key) || j[key].is_null())) throw Error(label + ": missing field '" + key + "'");
    try {
      return format::json_int(j, key, fallback.value_or(0));
    } catch (const Error& e) {
      throw Error(label + ": " + e.what());
    }
  };
  auto get_num = [&](const char* key, double fallback) -> double {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number()) throw Error(label + ": field '" + key + "' must be a number");
    return j[key].get<double>();
  };
  if (j.contains("model_type") && j["model_type"].is_string() && j["model_type"] != "lfm2")
    throw Error(label + ": model_type '" + j["model_type"].get<std::string>() + "' is not supported (expected lfm2)");
  Lfm2Config c;
  c.hidden = get_int("hidden_size");
  c.n_layers = get_int("num_hidden_layers");
  c.n_head = get_int("num_attention_heads");
  c.n_head_kv = get_int("num_key_value_heads", c.n_head);
  c.n_vocab = get_int("vocab_size");
  c.conv_l_cache = get_int("conv_L_cache", 3);
  c.context_train = get_int("max_position_embeddings", 128000);
  c.rope_theta = static_cast<float>(get_num("rope_theta", 1e6));
  c.norm_eps = static_cast<float>(get_num("norm_eps", 1e-5));
  if (c.n_layers <= 0 || c.n_layers > 1024) throw Error(label + ": invalid num_hidden_layers");
  c.head_dim = c.n_head > 0 ? c.hidden / c.n_head : 0;
  if (j.contains("layer_types")) {
    if (!j["layer_types"].is_array() || static_cast<int64_t>(j["layer_types"].size()) != c.n_layers)
      throw Error(label + ": layer_types must list one entry per layer");
    for (const auto& t : j["layer_types"]) {
      if (!t.is_string()) throw Error(label + ": layer_types entries must be strings");
      const auto s = t.get<std::string>();
      if (s != "conv" && s != "full_attention") throw Error(label + ": unknown layer type '" + s + "'");
      c.is_attention.push_back(s == "full_attention");
    }
  } else if (j.contains("full_attn_idxs")) {
    if (!j["full_attn_idxs"].is_array()) throw Error(label + ": full_attn_idxs must be an array");
    c.is_attention.assign(c.n_layers, false);
    for (const auto& v : j["full_attn_idxs"]) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= c.n_layers)
        throw Error(label + ": full_attn_idxs entry out of range");
      c.is_attention[v.get<int64_t>()] = true;
    }
  } else {
    throw Error(label + ": needs layer_types or full_attn_idxs to know which layers use attention");
  }
  // FFN width (§3.1): block_ff_dim (or intermediate_size), adjusted when block_auto_adjust_ff_dim.
  int64_t ff = j.contains("block_ff_dim") ? get_int("block_ff_dim") : get_int("intermediate_size");
  const bool auto_adjust = j.value("block_auto_adjust_ff_dim", false);
  if (auto_adjust) {
    const double mult = get_num("block_ffn_dim_multiplier", 1.0);
    const int64_t multiple_of = get_int("block_multiple_of", 256);
    if (multiple_of <= 0) throw Error(label + ": block_multiple_of must be positive");
    ff = static_cast<int64_t>(2.0 * static_cast<double>(ff) / 3.0);
    ff = static_cast<int64_t>(mult * static_cast<double>(ff));
    ff = multiple_of * ((ff + multiple_of - 1) / multiple_of);
  }
  c.ff = ff;
  c.validate();
  return c;
}

void lfm2_config_to_gguf(const Lfm2Config& c, format::GgufWriter& w) {
  using format::GgufValue;
  w.set("general.architecture", GgufValue::make_string("lfm2"));
  w.set("lfm2.block_count", GgufValue::make_u32(static_cast<uint32_t>(c.n_layers)));
  w.set("lfm2.context_length", GgufValue::make_u32(static_cast<uint32_t>(c.context_train)));
  w.set("lfm2.embedding_length", GgufValue::make_u32(static_cast<uint32_t>(c.hidden)));
  w.set("lfm2.feed_forward_length", GgufValue::make_u32(static_cast<uint32_t>(c.ff)));
  w.set("lfm2.attention.head_count", GgufValue::make_u32(static_cast<uint32_t>(c.n_head)));
  std::vector<int32_t> kv;
  for (bool a : c.is_attention) kv.push_back(a ? static_cast<int32_t>(c.n_head_kv) : 0);
  w.set("lfm2.attention.head_count_kv", GgufValue::make_i32_array(kv));
  w.set("lfm2.rope.freq_base", GgufValue::make_f32(c.rope_theta));
  w.set("lfm2.attention.layer_norm_rms_epsilon", GgufValue::make_f32(c.norm_eps));
  w.set("lfm2.vocab_size", GgufValue::make_u32(static_cast<uint32_t>(c.n_vocab)));
  w.set("lfm2.shortconv.l_cache", GgufValue::make_u32(static_cast<uint32_t>(c.conv_l_cache)));
}

Lfm2Config lfm2_preset(const std::string& size) {
  Lfm2Config c;
  c.n_vocab = 65536;
  c.n_layers = 16;
  c.n_head_kv = 8;
  c.conv_l_cache = 3;
  c.context_train = 128000;
  c.is_attention.assign(16, false);
  for (int i : {2, 5, 8, 10, 12, 14}) c.is_attention[i] = true;
  if (size == "350m") {
    c.hidden = 1024, c.n_head = 16, c.ff = 4608;
  } else if (size == "700m") {
    c.hidden = 1536, c.n_head = 24, c.ff = 6912;
  } else if (size == "1.2b") {
    c.hidden = 2048, c.n_head = 32, c.ff = 8192;
  } else {
    throw Error("unknown LFM2 size '" + size + "' (expected 350m, 700m or 1.2b)");
  }
  c.head_dim = c.hidden / c.n_head;
  c.validate();
  return c;
}

}  // namespace autoneural::model
