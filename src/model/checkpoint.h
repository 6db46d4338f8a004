// One reader that identifies a checkpoint. It opens a path once, says what the path holds and keeps the
// parsed configuration; the runtime, the converters and the tools ask it instead of reading config.json
// or GGUF keys themselves.
//
//   kind                 what it is                                           language model  vision
//   Lfm2Gguf             llama.cpp GGUF of an LFM2 model                       yes             no
//   MergedGguf           LFM2 GGUF that also holds our vision keys + tensors  yes             yes
//   VisionGguf           our vision GGUF (general.architecture autoneural-vision)  no         yes
//   LlamaCppMmproj       llama.cpp gemma3nv mmproj (general.architecture clip) no              yes
//   HfLfm2               Hugging Face LFM2 directory                           yes             no
//   HfAutoNeural         Hugging Face AutoNeural directory                     yes             yes
//   HfAutoNeuralVision   ... whose text_config names no language model         no              yes
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "format/weight_source.h"
#include "model/lfm2_config.h"
#include "model/vision_loader.h"
#include "tokenizer/vocab.h"

namespace autoneural::model {

enum class CheckpointKind { Lfm2Gguf, MergedGguf, VisionGguf, LlamaCppMmproj, HfLfm2, HfAutoNeural, HfAutoNeuralVision };
// "LFM2 GGUF", "merged AutoNeural GGUF", ... for messages and `autoneural info`.
const char* checkpoint_kind_name(CheckpointKind kind);

// Hugging Face → GGUF names of an AutoNeural directory's vision half (tower and connector).
std::optional<std::string> autoneural_vision_hf_to_gguf_name(std::string_view hf_name);

class Checkpoint {
 public:
  // Identifies `path` (a .gguf file or a Hugging Face directory) and reads its configuration; Error for
  // anything else, naming the path and what is missing.
  static std::shared_ptr<const Checkpoint> open(const std::string& path);

  const std::string& path() const { return path_; }
  CheckpointKind kind() const { return kind_; }
  bool is_gguf() const;
  bool has_language_model() const;
  bool has_vision() const;
  // general.name of a GGUF file (may be empty), else the directory's name.
  const std::string& name() const { return name_; }

  // The language model's configuration, weights (GGUF names) and vocabulary; Error without one.
  const Lfm2Config& text_config() const;
  std::shared_ptr<const format::WeightSource> text_weights() const;
  tokenizer::VocabData vocab() const;

  // The vision half's configuration and weights (GGUF names); Error without one. For a GGUF file the
  // text and vision weights are one object (the file is opened once).
  const VisionFileInfo& vision() const;
  std::shared_ptr<const format::WeightSource> vision_weights() const;

 private:
  Checkpoint() = default;
  void require_language_model() const;
  void require_vision() const;

  std::string path_;
  CheckpointKind kind_ = CheckpointKind::Lfm2Gguf;
  std::string name_;
  std::optional<Lfm2Config> text_config_;
  std::optional<VisionFileInfo> vision_;
  std::shared_ptr<const format::WeightSource> text_weights_, vision_weights_;
};

}  // namespace autoneural::model
