// Writing LFM2 models as GGUF files that both autoneural and llama.cpp load: conversion of a Hugging Face
// checkpoint (`autoneural convert`) and random-weight models of the published shapes
// (`autoneural make-model`), so that benchmarks need no download.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "format/gguf_fwd.h"
#include "format/tensor_type.h"
#include "format/weight_source.h"
#include "model/checkpoint.h"
#include "model/lfm2_config.h"

namespace autoneural::convert {

// general.name of every make-model file starts with this, so tools can say that its output is noise.
inline constexpr const char* kRandomModelNamePrefix = "lfm2-random-";

// fraction in [0, 1]; `what` names the current step (a tensor name).
using ProgressFn = std::function<void(double fraction, std::string_view what)>;

// The language model of a Hugging Face directory (LFM2, or the text half of an AutoNeural directory, whose
// config nests it under text_config) into `w`: general.* and lfm2.* keys, the vocabulary, the tensors.
// Tensors that `other_part` maps (the vision half) are skipped; any other unknown tensor is an Error.
void add_lfm2_from_hf(const model::Checkpoint& checkpoint, format::GgufWriter& w, TensorType target,
                      const ProgressFn& progress, format::HfNameMapper other_part);

// Hugging Face directory (config.json, safetensors, tokenizer.json) → GGUF, written atomically.
void convert_lfm2_hf_to_gguf(const std::string& hf_dir, const std::string& out_path, TensorType target,
                             const ProgressFn& progress = {});

// A random-weight LFM2 of `config`'s shape with a synthetic byte-level BPE vocabulary of n_vocab
// tokens, weights drawn from a seeded generator (the same seed gives the same file).
void make_random_lfm2(const model::Lfm2Config& config, TensorType target, const std::string& out_path, uint64_t seed,
                      const ProgressFn& progress = {});

}  // namespace autoneural::convert
