#include "model/mobilenetv5_manifest.h"

#include "autoneural/error.h"

namespace autoneural::model {

namespace {

constexpr std::string_view kHfPrefix = "model.vision_tower.timm_model.";

// GGUF name prefix ↔ timm name prefix; the rest of the name is timm's.
constexpr std::pair<std::string_view, std::string_view> kPrefixes[] = {
    {"v.conv_stem.", "conv_stem."},
    {"v.blk.", "blocks."},
    {"v.msfa.", "msfa."},
};

std::string hf_name_of(std::string_view gguf) {
  for (const auto& [ours, timm] : kPrefixes)
    if (gguf.substr(0, ours.size()) == ours)
      return std::string(kHfPrefix) + std::string(timm) + std::string(gguf.substr(ours.size()));
  throw Error("internal: " + std::string(gguf) + " is not a MobileNetV5 tensor name");
}

struct Builder {
  TensorManifest m;
  TensorSpec& add(std::string name, std::vector<int64_t> ne, TensorRole role) {
    std::string hf = hf_name_of(name);
    m.push_back(make_tensor_spec(std::move(name), std::move(hf), std::move(ne), role));
    return m.back();
  }
  void edge_residual(const std::string& p, const VisionBlockDef& d, int64_t in, int64_t mid, int64_t out) {
    add(p + "conv_exp.weight", {d.kernel, d.kernel, in, mid}, TensorRole::ConvKernel);
    add(p + "bn1.weight", {mid}, TensorRole::Norm);
    add(p + "conv_pwl.weight", {1, 1, mid, out}, TensorRole::Matrix);
    add(p + "bn2.weight", {out}, TensorRole::Norm);
  }
  void universal_inverted_residual(const std::string& p, const VisionBlockDef& d, int64_t in, int64_t mid, int64_t out,
                                   bool layer_scale) {
    if (d.dw_start) {
      add(p + "dw_start.conv.weight", {d.dw_start, d.dw_start, 1, in}, TensorRole::DepthwiseKernel);
      add(p + "dw_start.bn.weight", {in}, TensorRole::Norm);
    }
    add(p + "pw_exp.conv.weight", {1, 1, in, mid}, TensorRole::Matrix);
    add(p + "pw_exp.bn.weight", {mid}, TensorRole::Norm);
    if (d.dw_mid) {
      add(p + "dw_mid.conv.weight", {d.dw_mid, d.dw_mid, 1, mid}, TensorRole::DepthwiseKernel);
      add(p + "dw_mid.bn.weight", {mid}, TensorRole::Norm);
    }
    add(p + "pw_proj.conv.weight", {1, 1, mid, out}, TensorRole::Matrix);
    add(p + "pw_proj.bn.weight", {out}, TensorRole::Norm);
    if (layer_scale) add(p + "layer_scale.gamma", {out}, TensorRole::LayerScale);
  }
  void mobile_attention(const std::string& p, const VisionBlockDef& d, int64_t in, int64_t out, bool layer_scale) {
    const int64_t hd = int64_t(d.heads) * d.key_dim;
    add(p + "norm.weight", {in}, TensorRole::Norm);
    add(p + "attn.query.proj.weight", {1, 1, in, hd}, TensorRole::Matrix);
    for (const char* kv : {"key", "value"}) {
      const std::string q = p + "attn." + kv + ".";
      if (d.kv_stride > 1) {
        add(q + "down_conv.weight", {d.kv_kernel, d.kv_kernel, 1, in}, TensorRole::DepthwiseKernel);
        add(q + "norm.weight", {in}, TensorRole::Norm);
      }
      add(q + "proj.weight", {1, 1, in, d.key_dim}, TensorRole::Matrix);
    }
    add(p + "attn.output.proj.weight", {1, 1, hd, out}, TensorRole::Matrix);
    if (layer_scale) add(p + "layer_scale.gamma", {out}, TensorRole::LayerScale);
  }
};

}  // namespace

std::string mobilenetv5_block_site(size_t stage, size_t block) {
  return "v.blk." + std::to_string(stage) + "." + std::to_string(block);
}

TensorManifest mobilenetv5_manifest(const MobileNetV5Config& c) {
  Builder b;
  const int64_t k0 = c.stem_kernel;
  // The stem conv stays F32 in every file (llama.cpp's converter keeps it so too).
  b.add("v.conv_stem.conv.weight", {k0, k0, c.in_channels, c.stem_size}, TensorRole::ConvKernel).storage =
      TensorStorage::Float32;
  b.add("v.conv_stem.conv.bias", {c.stem_size}, TensorRole::Bias).optional = !c.stem_bias;
  b.add("v.conv_stem.bn.weight", {c.stem_size}, TensorRole::Norm);
  int64_t in = c.stem_size;
  for (size_t s = 0; s < c.stages.size(); ++s)
    for (size_t i = 0; i < c.stages[s].size(); ++i) {
      const VisionBlockDef& d = c.stages[s][i];
      const std::string p = mobilenetv5_block_site(s, i) + ".";
      const int64_t out = d.out_channels;
      const int64_t mid = MobileNetV5Config::mid_channels(static_cast<int>(in), d.expansion);
      switch (d.kind) {
        case VisionBlockKind::EdgeResidual: b.edge_residual(p, d, in, mid, out); break;
        case VisionBlockKind::UniversalInvertedResidual:
          b.universal_inverted_residual(p, d, in, mid, out, c.layer_scale);
          break;
        case VisionBlockKind::MobileAttention: b.mobile_attention(p, d, in, out, c.layer_scale); break;
      }
      in = out;
    }
  const int64_t msfa_in = c.msfa_in_channels(), msfa_out = c.msfa_output_channels;
  const int64_t msfa_mid = MobileNetV5Config::mid_channels(static_cast<int>(msfa_in), c.msfa_expansion);
  b.add("v.msfa.ffn.pw_exp.conv.weight", {1, 1, msfa_in, msfa_mid}, TensorRole::Matrix);
  b.add("v.msfa.ffn.pw_exp.bn.weight", {msfa_mid}, TensorRole::Norm);
  b.add("v.msfa.ffn.pw_proj.conv.weight", {1, 1, msfa_mid, msfa_out}, TensorRole::Matrix);
  b.add("v.msfa.ffn.pw_proj.bn.weight", {msfa_out}, TensorRole::Norm);
  b.add("v.msfa.norm.weight", {msfa_out}, TensorRole::Norm);
  return std::move(b.m);
}

std::optional<std::string> mobilenetv5_hf_to_gguf_name(std::string_view n) {
  for (std::string_view prefix : {kHfPrefix, kHfPrefix.substr(6)}) {  // with and without "model."
    if (n.substr(0, prefix.size()) != prefix) continue;
    n.remove_prefix(prefix.size());
    for (const auto& [ours, timm] : kPrefixes)
      if (n.substr(0, timm.size()) == timm) return std::string(ours) + std::string(n.substr(timm.size()));
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace autoneural::model
