// Writing the vision half of AutoNeural models as GGUF: conversion of a Hugging Face AutoNeural directory
// (`autoneural convert`) and random-weight models of the published shapes (`autoneural make-model --arch
// autoneural`), in our vision GGUF format or in llama.cpp's gemma3nv mmproj format (docs/formats.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/tensor_type.h"
#include "model/connector_config.h"
#include "model/lfm2_config.h"
#include "convert/lfm2_export.h"
#include "model/mobilenetv5_config.h"

namespace autoneural::convert {

// general.name of random vision files starts with this.
inline constexpr const char* kRandomVisionNamePrefix = "autoneural-random-";

// An AutoNeural directory → text GGUF (LFM2, loadable by llama.cpp) + vision GGUF, or one merged GGUF
// (ours only: llama.cpp refuses files with tensors it does not expect) when vision_out is empty.
void convert_autoneural_hf(const std::string& hf_dir, const std::string& text_out, const std::string& vision_out,
                           TensorType text_type, TensorType vision_type, const ProgressFn& progress = {});

struct RandomVisionOptions {
  TensorType type = TensorType::F16;
  bool llama_cpp_mmproj = false;  // write llama.cpp's gemma3nv mmproj (Gemma 3n embedder as connector)
  int image_size = 768;
  uint64_t seed = 1;
};

// Random weights for `encoder` + a connector into `text_hidden`: AutoNeural's mlp2 (hidden = text_hidden),
// or for llama.cpp's format the Gemma 3n embedder.
void make_random_vision(const model::MobileNetV5Config& encoder, int64_t text_hidden, const RandomVisionOptions& options,
                        const std::string& out_path, const ProgressFn& progress = {});

// A whole random AutoNeural model for benchmarks: the LFM2 text GGUF (make_random_lfm2, `seed`) and the
// vision file (encoder + `connector`, drawn from a generator derived from `seed`). Weights: convolutions
// uniform with variance 1/fan_in, norms in [0.5, 1.5], layer scales in [0.2, 1.0], so activations stay O(1)
// through the 84 blocks. With `llama_cpp_mmproj` the vision file is llama.cpp's gemma3nv mmproj, which
// holds the Gemma 3n embedder: `connector.kind` must then be Gemma3nEmbedder. The tower values are the
// same in both flavours for the same seed, so both engines run identical tower weights.
// Errors: the connector's input is not the encoder's MSFA width or its output not the text hidden size.
void make_random_autoneural(const model::Lfm2Config& text, const model::MobileNetV5Config& vision, const model::ConnectorConfig& connector,
                            TensorType text_type, TensorType vision_type, const std::string& text_out,
                            const std::string& vision_out, uint64_t seed, bool llama_cpp_mmproj,
                            const ProgressFn& progress = {});

}  // namespace autoneural::convert
