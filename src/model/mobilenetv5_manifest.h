// The MobileNetV5 encoder's tensors (architecture-reference §1.7): stem, every block of every stage and
// the MSFA, from one table that the loader, make-model, the converter and the Hugging Face name map read.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/mobilenetv5_config.h"
#include "model/tensor_manifest.h"

namespace autoneural::model {

// "v.blk.S.B": block B of stage S, the prefix of its tensors and its backend sites.
std::string mobilenetv5_block_site(size_t stage, size_t block);

// In file order: v.conv_stem.{conv.weight, conv.bias, bn.weight}; per block v.blk.S.B.*:
//  er:  conv_exp.weight [k, k, in, mid], bn1, conv_pwl.weight [1, 1, mid, out], bn2;
//  uir: [dw_start.conv/bn], pw_exp.conv [1, 1, in, mid] / bn, [dw_mid.conv/bn], pw_proj.conv/bn, layer_scale.gamma;
//  mqa: norm, attn.query.proj, attn.{key,value}.{[down_conv, norm], proj}, attn.output.proj, layer_scale.gamma;
// then v.msfa.ffn.{pw_exp,pw_proj}.{conv,bn}.weight and v.msfa.norm.weight. The stem bias is optional
// when the configuration has none. Hugging Face names are model.vision_tower.timm_model.<timm name>.
TensorManifest mobilenetv5_manifest(const MobileNetV5Config& config);

// Hugging Face → GGUF names of the vision tower (`model.vision_tower.timm_model.<timm name>` →
// `v.conv_stem.*`, `v.blk.S.B.*`, `v.msfa.*`), the manifest's naming read backwards; nullopt for other tensors.
std::optional<std::string> mobilenetv5_hf_to_gguf_name(std::string_view hf_name);

}  // namespace autoneural::model
