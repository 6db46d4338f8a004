#include "model/checkpoint.h"

#include <filesystem>

#include "autoneural/error.h"
#include "format/json.h"
#include "format/gguf.h"
#include "format/mapped_file.h"
#include "model/connector_config.h"
#include "model/lfm2.h"
#include "model/mobilenetv5.h"

namespace autoneural::model {

namespace fs = std::filesystem;

const char* checkpoint_kind_name(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::Lfm2Gguf: return "LFM2 GGUF";
    case CheckpointKind::MergedGguf: return "merged AutoNeural GGUF (text + vision)";
    case CheckpointKind::VisionGguf: return "AutoNeural vision GGUF";
    case CheckpointKind::LlamaCppMmproj: return "llama.cpp gemma3nv mmproj";
    case CheckpointKind::HfLfm2: return "Hugging Face LFM2 directory";
    case CheckpointKind::HfAutoNeural: return "Hugging Face AutoNeural directory";
    case CheckpointKind::HfAutoNeuralVision: return "Hugging Face AutoNeural directory (vision only)";
  }
  return "checkpoint";
}

std::optional<std::string> autoneural_vision_hf_to_gguf_name(std::string_view hf_name) {
  if (auto n = mobilenetv5_hf_to_gguf_name(hf_name)) return n;
  return connector_hf_to_gguf_name(hf_name);
}

namespace {

// What a Hugging Face directory's config.json says about the checkpoint.
struct HfLayout {
  bool autoneural = false;      // vision_config or model_type "autoneural"
  bool language_model = true;   // the text part names its layers
  std::string text_config;      // the LFM2 configuration as JSON text
  nlohmann::json config;
  std::string config_path;
};

HfLayout read_hf_layout(const std::string& dir) {
  HfLayout l;
  l.config_path = (fs::path(dir) / "config.json").string();
  std::error_code ec;
  if (!fs::exists(l.config_path, ec))
    throw Error(dir + ": not a Hugging Face model directory (config.json is missing)");
  l.config = format::parse_json_file(l.config_path);
  if (!l.config.is_object()) throw Error(l.config_path + ": expected a JSON object");
  const auto& j = l.config;
  l.autoneural = j.contains("vision_config") ||
                 (j.contains("model_type") && j["model_type"].is_string() &&
                  j["model_type"].get_ref<const std::string&>() == "autoneural");
  if (!l.autoneural) {
    l.text_config = j.dump();
    return l;
  }
  // An AutoNeural directory nests the language model's configuration under text_config; without its layer
  // count the directory holds only the vision half.
  const bool has_text = j.contains("text_config") && j["text_config"].is_object() &&
                        j["text_config"].contains("num_hidden_layers");
  l.language_model = has_text;
  if (has_text) l.text_config = j["text_config"].dump();
  return l;
}

}  // namespace

std::shared_ptr<const Checkpoint> Checkpoint::open(const std::string& path) {
  std::shared_ptr<Checkpoint> c(new Checkpoint());
  c->path_ = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file or directory");
  if (fs::is_directory(path, ec)) {
    const HfLayout l = read_hf_layout(path);
    c->name_ = fs::path(path).filename().string();
    c->kind_ = !l.autoneural ? CheckpointKind::HfLfm2
               : l.language_model ? CheckpointKind::HfAutoNeural
                                  : CheckpointKind::HfAutoNeuralVision;
    if (l.language_model) {
      c->text_config_ = lfm2_config_from_hf_json(l.text_config, l.config_path);
      c->text_weights_ = format::WeightSource::open(path, &lfm2_hf_to_gguf_name);
    }
    if (l.autoneural) {
      c->vision_ = vision_info_from_hf_config(l.config, path, l.config_path);
      c->vision_weights_ = format::WeightSource::open(path, &autoneural_vision_hf_to_gguf_name);
    }
    return c;
  }
  auto weights = format::WeightSource::open(path, nullptr);
  const format::GgufFile& f = *weights->gguf();
  c->name_ = f.get_string("general.name").value_or("");
  if (c->name_.empty()) c->name_ = fs::path(path).filename().string();
  const std::string arch = f.get_string("general.architecture").value_or("");
  if (arch == "autoneural-vision") c->kind_ = CheckpointKind::VisionGguf;
  else if (arch == "clip") c->kind_ = CheckpointKind::LlamaCppMmproj;
  else if (f.find("autoneural.vision.block_defs")) c->kind_ = CheckpointKind::MergedGguf;
  else c->kind_ = CheckpointKind::Lfm2Gguf;
  if (c->has_language_model()) {
    c->text_config_ = lfm2_config_from_gguf(f);
    c->text_weights_ = weights;
  }
  if (c->has_vision()) {
    c->vision_ = read_vision_metadata(*weights);
    c->vision_weights_ = weights;
  }
  return c;
}

bool Checkpoint::is_gguf() const {
  return kind_ == CheckpointKind::Lfm2Gguf || kind_ == CheckpointKind::MergedGguf ||
         kind_ == CheckpointKind::VisionGguf || kind_ == CheckpointKind::LlamaCppMmproj;
}

bool Checkpoint::has_language_model() const {
  return kind_ == CheckpointKind::Lfm2Gguf || kind_ == CheckpointKind::MergedGguf || kind_ == CheckpointKind::HfLfm2 ||
         kind_ == CheckpointKind::HfAutoNeural;
}

bool Checkpoint::has_vision() const {
  return kind_ != CheckpointKind::Lfm2Gguf && kind_ != CheckpointKind::HfLfm2;
}

void Checkpoint::require_language_model() const {
  if (!has_language_model())
    throw Error(path_ + " has no language model (it is: " + checkpoint_kind_name(kind_) + ")");
}

void Checkpoint::require_vision() const {
  if (!has_vision()) throw Error(path_ + " has no vision encoder (it is: " + checkpoint_kind_name(kind_) + ")");
}

const Lfm2Config& Checkpoint::text_config() const {
  require_language_model();
  return *text_config_;
}

std::shared_ptr<const format::WeightSource> Checkpoint::text_weights() const {
  require_language_model();
  return text_weights_;
}

tokenizer::VocabData Checkpoint::vocab() const {
  require_language_model();
  return is_gguf() ? tokenizer::vocab_from_gguf(*text_weights_->gguf()) : tokenizer::vocab_from_hf_dir(path_);
}

const VisionFileInfo& Checkpoint::vision() const {
  require_vision();
  return *vision_;
}

std::shared_ptr<const format::WeightSource> Checkpoint::vision_weights() const {
  require_vision();
  return vision_weights_;
}

}  // namespace autoneural::model
