#include "convert/lfm2_export.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "convert/export_util.h"
#include "model/lfm2_manifest.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace autoneural::convert {

using namespace autoneural::model;  // the components whose files this writes
using format::HfNameMapper;

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
  const TensorManifest manifest = lfm2_manifest(config);
  const auto all = st.all();
  size_t done = 0;
  for (const auto* t : all) {
    ++done;
    auto name = lfm2_hf_to_gguf_name(t->name);
    if (!name) {
      if (other_part && other_part(t->name)) continue;  // the vision half of a vision-language model
      throw Error(hf_dir + ": tensor " + t->name + " is not part of an LFM2 model");
    }
    const TensorSpec* spec = find_spec(manifest, *name);
    if (!spec) throw Error(hf_dir + ": tensor " + t->name + " is not part of this LFM2 configuration");
    add_converted_tensor(w, *spec, t->type, t->data, std::vector<int64_t>(t->shape.rbegin(), t->shape.rend()), target,
                         hf_dir);
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

  SplitMix rng{seed};
  const TensorManifest manifest = lfm2_manifest(config);
  add_random_tensors(w, manifest, rng, [&](const TensorSpec& s) { return stored_shape(s, target); }, progress);
  w.write(out_path);
  if (progress) progress(1.0, "written");
}

}  // namespace autoneural::convert
