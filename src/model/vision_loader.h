// Reads everything the vision half of a model needs from its file: the encoder's block list, the
// connector, the preprocessing and the image token ids. Three kinds of files:
//  - our vision GGUF (general.architecture "autoneural-vision") or a merged GGUF: autoneural.* keys;
//  - llama.cpp's Gemma 3n mmproj (clip.projector_type "gemma3nv"): no block list, so the encoder's blocks
//    are inferred from the tensor names and shapes, as llama.cpp itself does;
//  - a Hugging Face AutoNeural directory: config.json (vision_config, projector_*, image token ids) and
//    preprocessor_config.json.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "model/connector_config.h"
#include "model/mobilenetv5_config.h"
#include "format/weight_source.h"

namespace autoneural::model {

struct VisionFileInfo {
  MobileNetV5Config encoder;
  ConnectorConfig connector;
  VisionPreprocessConfig preprocess;
  ImageTokenConfig tokens;
};

// The vision half of a GGUF file (ours, merged, or a llama.cpp mmproj), or of the Hugging Face directory
// `source` was opened from (through model::Checkpoint, which reads its config.json).
VisionFileInfo read_vision_metadata(const format::WeightSource& source);
// The vision half described by an AutoNeural config.json (already parsed, at cfg_path) and the
// preprocessor_config.json beside it in `dir`.
VisionFileInfo vision_info_from_hf_config(const nlohmann::json& config, const std::string& dir,
                                          const std::string& cfg_path);

// Error unless the connector's output width equals the language model's hidden size.
void check_vision_fits_text(const VisionFileInfo& info, int64_t text_hidden, const std::string& label);

// The encoder configuration a llama.cpp gemma3nv mmproj's tensors describe (exposed for tests).
MobileNetV5Config infer_mobilenetv5_from_tensors(const format::WeightSource& source, int image_size, int output_resolution);

}  // namespace autoneural::model
