// The LFM2 language model's tensors (architecture-reference §3.4): one table of names, shapes, roles and
// Hugging Face names, from which the loader, make-model, the converter and the name map all read.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/lfm2_config.h"
#include "model/tensor_manifest.h"

namespace autoneural::model {

// token_embd, token_embd_norm, output (optional: the output matrix is tied to token_embd unless present),
// then per layer blk.N.*: attn_norm, the attention (attn_q/k/v/output, attn_q_norm, attn_k_norm) or
// short-conv (shortconv.in_proj/conv/out_proj) tensors, ffn_norm, ffn_gate/up/down. Random norms are ones.
TensorManifest lfm2_manifest(const Lfm2Config& config);

// Hugging Face → GGUF tensor names, the manifest's naming read backwards; bare LFM2 checkpoint names and
// those nested in a vision-language model (model.language_model.*) are accepted. nullopt for tensors that
// are not part of the language model.
std::optional<std::string> lfm2_hf_to_gguf_name(std::string_view hf_name);

}  // namespace autoneural::model
