#include "convert/lfm2_export.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "kernels/quantize.h"
#include "convert/export_util.h"
#include "model/lfm2.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace autoneural::convert {

using namespace autoneural::model;  // the components whose files this writes
using format::HfNameMapper;
using format::WeightSource;

namespace {

using format::GgufValue;

void write_general(format::GgufWriter& w, const std::string& name, TensorType target) {
  w.set("general.architecture", GgufValue::make_string("lfm2"));
  w.set("general.name", GgufValue::make_string(name));
  w.set("general.file_type", GgufValue::make_u32(file_type_id(target)));
  w.set("general.quantization_version", GgufValue::make_u32(2));
}

std::string byte_spelling(int b) { return tokenizer::byte_level_spelling(std::string(1, static_cast<char>(b))); }

// A byte-level BPE vocabulary of exactly n_vocab entries in LFM2's layout: its 14 special tokens and the
// three image tokens of LFM2-VL / AutoNeural (<image>, <|image_start|>, <|image_end|>), the 256
// byte tokens, then merges of printable characters into longer tokens. Meaningless, but complete and
// valid, so random models tokenize, generate and load in llama.cpp.
tokenizer::VocabData synthetic_vocab(int64_t n_vocab) {
  static const char* kSpecials[] = {"<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|fim_pre|>", "<|fim_mid|>",
                                    "<|fim_suf|>", "<|im_start|>", "<|im_end|>", "<|tool_list_start|>",
                                    "<|tool_list_end|>", "<|tool_call_start|>", "<|tool_call_end|>",
                                    "<|tool_response_start|>", "<|tool_response_end|>", "<image>",
                                    "<|image_start|>", "<|image_end|>"};
  tokenizer::VocabData v;
  v.model = "gpt2";
  v.pre = "lfm2";
  v.bos = 1, v.eos = 7, v.pad = 0;
  v.add_bos = true;
  for (const char* s : kSpecials) v.tokens.push_back(s), v.token_types.push_back(3);
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_spelling(b)), v.token_types.push_back(1);
  if (static_cast<int64_t>(v.tokens.size()) > n_vocab) throw Error("vocabulary size too small for a synthetic vocabulary");
  std::vector<std::string> units;  // printable ASCII letters, digits, space-prefixed letters
  for (int c = 'a'; c <= 'z'; ++c) units.push_back(byte_spelling(c));
  for (int c = 'A'; c <= 'Z'; ++c) units.push_back(byte_spelling(c));
  for (int c = '0'; c <= '9'; ++c) units.push_back(byte_spelling(c));
  for (const char* p : {".", ",", "!", "?", "'", "-", ":"}) units.push_back(p);
  std::vector<std::string> frontier = units;
  frontier.push_back(byte_spelling(' '));
  // Grow tokens by appending one unit to an existing token, breadth first.
  for (size_t i = 0; static_cast<int64_t>(v.tokens.size()) < n_vocab; ++i) {
    const std::string left = frontier[i];
    for (const auto& u : units) {
      if (static_cast<int64_t>(v.tokens.size()) >= n_vocab) break;
      v.merges.push_back(left + " " + u);
      v.tokens.push_back(left + u);
      v.token_types.push_back(1);
      frontier.push_back(left + u);
    }
  }
  v.chat_template =
      "{{- bos_token -}}{%- for message in messages -%}{{- '<|im_start|>' + message['role'] + '\\n' + "
      "message['content'] + '<|im_end|>\\n' -}}{%- endfor -%}{%- if add_generation_prompt -%}"
      "{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";
  return v;
}

}  // namespace

uint32_t file_type_id(TensorType t) {
  switch (t) {
    case TensorType::F32: return 0;
    case TensorType::F16: return 1;
    case TensorType::Q4_0: return 2;
    case TensorType::Q8_0: return 7;
    case TensorType::BF16: return 32;
    default: throw Error("cannot write files of type " + std::string(tensor_type_name(t)));
  }
}

std::vector<uint8_t> encode_rows(const float* src, int64_t ne0, int64_t n_rows, TensorType type) {
  const size_t rb = row_bytes(type, ne0);
  std::vector<uint8_t> out(rb * static_cast<size_t>(n_rows));
  for (int64_t r = 0; r < n_rows; ++r) kernels::quantize_row(type, src + r * ne0, out.data() + rb * r, ne0);
  return out;
}

TensorType lfm2_storage_type(std::string_view name, const std::vector<int64_t>& ne, TensorType target) {
  if (ne.size() < 2 || ends_with(name, "_norm.weight") || ends_with(name, "shortconv.conv.weight"))
    return TensorType::F32;
  if (ne[0] % traits(target).block_elems != 0) return TensorType::F16;
  return target;
}

void add_lfm2_from_hf(const Checkpoint& checkpoint, format::GgufWriter& w, TensorType target,
                      const ProgressFn& progress, HfNameMapper other_part) {
  if (checkpoint.is_gguf()) throw Error(checkpoint.path() + " is a GGUF file, not a Hugging Face directory");
  const std::string& hf_dir = checkpoint.path();
  const Lfm2Config& config = checkpoint.text_config();
  const tokenizer::VocabData vocab = checkpoint.vocab();
  const auto st = format::SafetensorsModel::open_dir(hf_dir);

  write_general(w, std::filesystem::path(hf_dir).filename().string(), target);
  lfm2_config_to_gguf(config, w);
  tokenizer::vocab_to_gguf(vocab, w);

  // Same tensor order as llama.cpp's converter: the checkpoint's order (sorted by name in safetensors).
  const auto all = st.all();
  size_t done = 0;
  std::vector<float> row;
  for (const auto* t : all) {
    ++done;
    auto name = lfm2_hf_to_gguf_name(t->name);
    if (!name) {
      if (other_part && other_part(t->name)) continue;  // the vision half of a vision-language model
      throw Error(hf_dir + ": tensor " + t->name + " is not part of an LFM2 model");
    }
    std::vector<int64_t> ne(t->shape.rbegin(), t->shape.rend());
    // The short-conv kernel [d, 1, L] is stored squeezed as ne [L, d], as llama.cpp does.
    if (ends_with(*name, "shortconv.conv.weight") && ne.size() == 3 && ne[1] == 1) ne = {ne[0], ne[2]};
    const TensorType type = lfm2_storage_type(*name, ne, target);
    const int64_t ne0 = ne[0], n = t->n_elements(), rows = ne0 > 0 ? n / ne0 : 0;
    row.resize(static_cast<size_t>(n));
    kernels::dequantize_row(t->type, t->data, row.data(), n);
    const auto bytes = encode_rows(row.data(), ne0, rows, type);
    w.add_tensor(*name, type, ne, bytes.data(), bytes.size());
    if (progress) progress(static_cast<double>(done) / static_cast<double>(all.size()), *name);
  }
}

void convert_lfm2_hf_to_gguf(const std::string& hf_dir, const std::string& out_path, TensorType target,
                             const ProgressFn& progress) {
  format::GgufWriter w;
  add_lfm2_from_hf(*Checkpoint::open(hf_dir), w, target, progress, nullptr);
  w.write(out_path);
}

void make_random_lfm2(const Lfm2Config& config, TensorType target, const std::string& out_path, uint64_t seed,
                      const ProgressFn& progress) {
  config.validate();
  format::GgufWriter w;
  write_general(w, kRandomModelNamePrefix + std::to_string(config.hidden), target);
  lfm2_config_to_gguf(config, w);
  tokenizer::vocab_to_gguf(synthetic_vocab(config.n_vocab), w);

  const int64_t d = config.hidden, hd = config.head_dim;
  struct Spec {
    std::string name;
    std::vector<int64_t> ne;
    float scale;  // uniform in [-scale, scale]; 0 means "norm weight": all ones
  };
  std::vector<Spec> specs;
  auto lin = [](int64_t in) { return std::sqrt(3.0f / static_cast<float>(in)); };  // variance 1/fan_in
  specs.push_back({"token_embd.weight", {d, config.n_vocab}, 0.5f});
  specs.push_back({"token_embd_norm.weight", {d}, 0.0f});
  for (int64_t i = 0; i < config.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    specs.push_back({p + "attn_norm.weight", {d}, 0.0f});
    if (config.is_attention[i]) {
      specs.push_back({p + "attn_q.weight", {d, config.n_head * hd}, lin(d)});
      specs.push_back({p + "attn_k.weight", {d, config.n_head_kv * hd}, lin(d)});
      specs.push_back({p + "attn_v.weight", {d, config.n_head_kv * hd}, lin(d)});
      specs.push_back({p + "attn_output.weight", {config.n_head * hd, d}, lin(config.n_head * hd)});
      specs.push_back({p + "attn_q_norm.weight", {hd}, 0.0f});
      specs.push_back({p + "attn_k_norm.weight", {hd}, 0.0f});
    } else {
      specs.push_back({p + "shortconv.in_proj.weight", {d, 3 * d}, lin(d)});
      specs.push_back({p + "shortconv.conv.weight", {config.conv_l_cache, d}, 0.5f});
      specs.push_back({p + "shortconv.out_proj.weight", {d, d}, lin(d)});
    }
    specs.push_back({p + "ffn_norm.weight", {d}, 0.0f});
    specs.push_back({p + "ffn_gate.weight", {d, config.ff}, lin(d)});
    specs.push_back({p + "ffn_up.weight", {d, config.ff}, lin(d)});
    specs.push_back({p + "ffn_down.weight", {config.ff, d}, lin(config.ff)});
  }
  int64_t total = 0, done = 0;
  for (const auto& s : specs) total += s.ne.size() == 1 ? s.ne[0] : s.ne[0] * s.ne[1];
  SplitMix rng{seed};
  std::vector<float> values;
  for (const auto& s : specs) {
    const int64_t n = s.ne.size() == 1 ? s.ne[0] : s.ne[0] * s.ne[1];
    values.resize(static_cast<size_t>(n));
    for (auto& x : values) x = s.scale == 0.0f ? 1.0f : s.scale * rng.uniform();
    const TensorType type = lfm2_storage_type(s.name, s.ne, target);
    const auto bytes = encode_rows(values.data(), s.ne[0], n / s.ne[0], type);
    w.add_tensor(s.name, type, s.ne, bytes.data(), bytes.size());
    done += n;
    if (progress) progress(static_cast<double>(done) / static_cast<double>(total) * 0.9, s.name);
  }
  w.write(out_path);
  if (progress) progress(1.0, "written");
}

}  // namespace autoneural::convert
