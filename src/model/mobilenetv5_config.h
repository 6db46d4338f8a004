// MobileNetV5 encoder hyper-parameters (architecture-reference §1): the block list in timm's notation,
// the stem and the multi-scale fusion adapter (MSFA). Read from a Hugging Face `vision_config`, from our
// vision GGUF metadata, or built in by name (`mobilenetv5_300m_enc`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/gguf_fwd.h"

namespace autoneural::model {

enum class VisionBlockKind {
  EdgeResidual,               // "er":  full KxK conv_exp + norm + GELU, 1x1 conv_pwl + norm
  UniversalInvertedResidual,  // "uir": [dw_start] + 1x1 pw_exp + [dw_mid] + 1x1 pw_proj + layer scale
  MobileAttention,            // "mqa": RMSNorm + multi-query attention (+ K/V down-sampling) + layer scale
};

// One block after expanding the repeat count `r` of its definition (only the first repeat keeps the
// stride). Fields that a kind does not use stay 0.
struct VisionBlockDef {
  VisionBlockKind kind = VisionBlockKind::EdgeResidual;
  std::string text;          // the definition string it came from, e.g. "uir_r1_a5_k0_s1_e4_c640"
  int kernel = 0;            // er: conv_exp kernel (k)
  int dw_start = 0;          // uir: dw_start kernel (a), 0 = absent
  int dw_mid = 0;            // uir: dw_mid kernel (k), 0 = absent
  int stride = 1;            // s
  double expansion = 1.0;    // e (er, uir)
  int out_channels = 0;      // c
  int heads = 0;             // mqa: h
  int kv_stride = 1;         // mqa: v
  int key_dim = 0;           // mqa: d (= value dim)
  int kv_kernel = 3;         // mqa: down_conv kernel (k), used when kv_stride > 1
};

// Parses one timm block string ("er_r1_k3_s2_e4_c128", "uir_r1_a3_k5_s2_e6_c256",
// "mqa_r1_k3_h12_v2_s1_d64_c640") into `repeat` blocks. Throws Error naming the string on any problem.
std::vector<VisionBlockDef> parse_vision_block(std::string_view text);

struct MobileNetV5Config {
  std::string architecture = "mobilenetv5_300m_enc";  // or "custom"
  std::vector<std::vector<VisionBlockDef>> stages;     // expanded blocks per stage
  int in_channels = 3;
  int stem_size = 64;
  int stem_kernel = 3;
  bool stem_bias = true;
  bool layer_scale = true;
  std::vector<int> msfa_indices = {-2, -1};  // feature points: 0 = stem, 1..4 = stage outputs; negative from the end
  int msfa_output_channels = 2048;
  double msfa_expansion = 2.0;
  int msfa_output_resolution = 16;
  float eps = 1e-6f;
  int image_size = 768;  // default input size (square); any multiple of 32 runs

  // Mid width of an er/uir block: timm's make_divisible(in * expansion, 8).
  static int mid_channels(int in_channels, double expansion);
  // Channels at feature point i (0 = stem, 1..n_stages = stage outputs).
  int feature_channels(int point) const;
  // The MSFA input taps as feature-point indices (negative entries resolved).
  std::vector<int> msfa_points() const;
  int msfa_in_channels() const;
  // Output tokens per image at `image_size` (= msfa_output_resolution²).
  int tokens_per_image() const { return msfa_output_resolution * msfa_output_resolution; }
  int64_t parameter_count() const;
  // Throws Error if the numbers are inconsistent (empty stages, bad taps, zero widths...).
  void validate() const;
};

// Built-in architectures by timm name: "mobilenetv5_300m_enc". Throws Error for another name.
MobileNetV5Config mobilenetv5_builtin(std::string_view name);
// A Hugging Face `vision_config` object as JSON text (block_defs or a built-in `architecture`).
MobileNetV5Config mobilenetv5_config_from_hf_json(const std::string& vision_config_json, const std::string& label);
// Our vision GGUF keys (docs/formats.md): autoneural.vision.*.
MobileNetV5Config mobilenetv5_config_from_gguf(const format::GgufFile& file);
void mobilenetv5_config_to_gguf(const MobileNetV5Config& config, format::GgufWriter& writer);

}  // namespace autoneural::model
