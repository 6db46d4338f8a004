#include "model/mobilenetv5_blocks.h"

#include <algorithm>
#include <cmath>

#include "autoneural/error.h"

namespace autoneural::model::mnv5 {

using backend::Backend;
using backend::ConvGeometry;
using backend::GeluKind;

namespace {

// TensorFlow-style SAME padding (architecture-reference §1.2): stride 1 pads (k-1)/2 on both sides;
// stride s pads P = max((ceil(n/s)-1)·s + k − n, 0) in total, floor(P/2) before.
struct Padding {
  int64_t before, out;
};
Padding same_padding(int64_t n, int64_t k, int64_t s) {
  if (s == 1) return {(k - 1) / 2, n};
  const int64_t out = (n + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - n, 0);
  return {total / 2, out};
}

}  // namespace

ConvGeometry same_geometry(int64_t h, int64_t w, int64_t c, int64_t k, int64_t s) {
  const Padding py = same_padding(h, k, s), px = same_padding(w, k, s);
  ConvGeometry g;
  g.in_h = h;
  g.in_w = w;
  g.channels = c;
  g.kernel = k;
  g.stride = s;
  g.pad_top = py.before;
  g.pad_left = px.before;
  g.out_h = py.out;
  g.out_w = px.out;
  return g;
}

// ---- er ----

EdgeResidualBlock::EdgeResidualBlock(const ManifestWeights& t, const VisionBlockDef& d, std::string site, int64_t in)
    : VisionBlock(std::move(site), in, d.out_channels, d.stride == 1 && in == d.out_channels),
      kernel_(d.kernel),
      stride_(d.stride),
      mid_(MobileNetV5Config::mid_channels(static_cast<int>(in), d.expansion)) {
  const std::string p = site_ + ".";
  conv_exp_ = t.matrix(p + "conv_exp.weight");
  bn1_ = t.f32(p + "bn1.weight");
  conv_pwl_ = t.matrix(p + "conv_pwl.weight");
  bn2_ = t.f32(p + "bn2.weight");
}

void EdgeResidualBlock::forward(Backend& be, float eps, const Map& x, Map& out, Map& t1, Map&) const {
  const ConvGeometry g = same_geometry(x.h, x.w, in_, kernel_, stride_);
  t1.reshape(g.out_h, g.out_w, mid_);
  be.conv2d(conv_exp_, nullptr, x.ptr(), g, t1.ptr());
  be.rms_norm(site_ + ".bn1", t1.ptr(), bn1_.data(), t1.pixels(), mid_, eps, t1.ptr());
  be.gelu(site_ + ".act1", t1.ptr(), t1.pixels() * mid_, GeluKind::Tanh, t1.ptr());
  out.reshape(g.out_h, g.out_w, out_);
  be.linear(conv_pwl_, t1.ptr(), t1.pixels(), out.ptr());
  be.rms_norm(site_ + ".bn2", out.ptr(), bn2_.data(), out.pixels(), out_, eps, out.ptr());
}

// ---- uir ----

UniversalInvertedResidualBlock::UniversalInvertedResidualBlock(const ManifestWeights& t, const VisionBlockDef& d,
                                                               std::string site, int64_t in, bool layer_scale)
    : VisionBlock(std::move(site), in, d.out_channels, d.stride == 1 && in == d.out_channels),
      dw_start_k_(d.dw_start),
      dw_mid_k_(d.dw_mid),
      stride_(d.stride),
      mid_(MobileNetV5Config::mid_channels(static_cast<int>(in), d.expansion)) {
  const std::string p = site_ + ".";
  if (dw_start_k_) {
    dw_start_ = t.depthwise_taps(p + "dw_start.conv.weight");
    dw_start_bn_ = t.f32(p + "dw_start.bn.weight");
  }
  pw_exp_ = t.matrix(p + "pw_exp.conv.weight");
  pw_exp_bn_ = t.f32(p + "pw_exp.bn.weight");
  if (dw_mid_k_) {
    dw_mid_ = t.depthwise_taps(p + "dw_mid.conv.weight");
    dw_mid_bn_ = t.f32(p + "dw_mid.bn.weight");
  }
  pw_proj_ = t.matrix(p + "pw_proj.conv.weight");
  pw_proj_bn_ = t.f32(p + "pw_proj.bn.weight");
  if (layer_scale) gamma_ = t.f32(p + "layer_scale.gamma");
}

void UniversalInvertedResidualBlock::forward(Backend& be, float eps, const Map& x, Map& out, Map& t1, Map& t2) const {
  const int64_t h = x.h, w = x.w;
  const float* src = x.ptr();
  if (dw_start_k_) {
    // dw_start carries the stride only when there is no dw_mid (never the case in MobileNetV5).
    const int64_t s = dw_mid_k_ ? 1 : stride_;
    const ConvGeometry g = same_geometry(h, w, in_, dw_start_k_, s);
    t2.reshape(g.out_h, g.out_w, in_);
    be.depthwise_conv2d(site_ + ".dw_start", dw_start_.data(), x.ptr(), g, t2.ptr());
    be.rms_norm(site_ + ".dw_start.bn", t2.ptr(), dw_start_bn_.data(), t2.pixels(), in_, eps, t2.ptr());
    src = t2.ptr();
  }
  const int64_t h1 = dw_start_k_ ? t2.h : h, w1 = dw_start_k_ ? t2.w : w;
  t1.reshape(h1, w1, mid_);
  be.linear(pw_exp_, src, h1 * w1, t1.ptr());
  be.rms_norm(site_ + ".pw_exp.bn", t1.ptr(), pw_exp_bn_.data(), t1.pixels(), mid_, eps, t1.ptr());
  be.gelu(site_ + ".pw_exp.act", t1.ptr(), t1.pixels() * mid_, GeluKind::Tanh, t1.ptr());
  const Map* e = &t1;
  if (dw_mid_k_) {
    const ConvGeometry g = same_geometry(h1, w1, mid_, dw_mid_k_, stride_);
    t2.reshape(g.out_h, g.out_w, mid_);
    be.depthwise_conv2d(site_ + ".dw_mid", dw_mid_.data(), t1.ptr(), g, t2.ptr());
    be.rms_norm(site_ + ".dw_mid.bn", t2.ptr(), dw_mid_bn_.data(), t2.pixels(), mid_, eps, t2.ptr());
    be.gelu(site_ + ".dw_mid.act", t2.ptr(), t2.pixels() * mid_, GeluKind::Tanh, t2.ptr());
    e = &t2;
  }
  out.reshape(e->h, e->w, out_);
  be.linear(pw_proj_, e->ptr(), e->pixels(), out.ptr());
  be.rms_norm(site_ + ".pw_proj.bn", out.ptr(), pw_proj_bn_.data(), out.pixels(), out_, eps, out.ptr());
  if (!gamma_.empty()) be.scale_channels(site_ + ".layer_scale", out.ptr(), gamma_.data(), out.pixels(), out_);
}

// ---- mqa ----

MobileAttentionBlock::MobileAttentionBlock(const ManifestWeights& t, const VisionBlockDef& d, std::string site,
                                           int64_t in, bool layer_scale)
    : VisionBlock(std::move(site), in, d.out_channels, true),
      heads_(d.heads),
      key_dim_(d.key_dim),
      kv_stride_(d.kv_stride),
      kv_kernel_(d.kv_kernel) {
  if (out_ != in_)
    throw Error("MobileNetV5 block " + d.text + " must keep the channel count (" + std::to_string(in_) + ")");
  const std::string p = site_ + ".";
  norm_ = t.f32(p + "norm.weight");
  query_ = t.matrix(p + "attn.query.proj.weight");
  for (KeyValue* kv : {&key_, &value_}) {
    kv->site = p + (kv == &key_ ? "attn.key" : "attn.value");
    if (kv_stride_ > 1) {
      kv->down = t.depthwise_taps(kv->site + ".down_conv.weight");
      kv->norm = t.f32(kv->site + ".norm.weight");
    }
    kv->proj = t.matrix(kv->site + ".proj.weight");
  }
  output_ = t.matrix(p + "attn.output.proj.weight");
  if (layer_scale) gamma_ = t.f32(p + "layer_scale.gamma");
}

void MobileAttentionBlock::project(Backend& be, float eps, const KeyValue& kv, const float* xn, int64_t h, int64_t w,
                                   std::vector<float>& scratch, std::vector<float>& result, int64_t& m) const {
  const float* src = xn;
  if (kv_stride_ > 1) {
    const ConvGeometry g = same_geometry(h, w, in_, kv_kernel_, kv_stride_);
    m = g.out_h * g.out_w;
    scratch.resize(static_cast<size_t>(m * in_));
    be.depthwise_conv2d(kv.site + ".down_conv", kv.down.data(), xn, g, scratch.data());
    be.rms_norm(kv.site + ".norm", scratch.data(), kv.norm.data(), m, in_, eps, scratch.data());
    src = scratch.data();
  }
  result.resize(static_cast<size_t>(m * key_dim_));
  be.linear(kv.proj, src, m, result.data());
}

void MobileAttentionBlock::forward(Backend& be, float eps, const Map& x, Map& out, Map& t1, Map& t2) const {
  const int64_t h = x.h, w = x.w, n = h * w, hd = int64_t(heads_) * key_dim_;
  Map& xn = t2;
  xn.reshape(h, w, in_);
  be.rms_norm(site_ + ".norm", x.ptr(), norm_.data(), n, in_, eps, xn.ptr());
  t1.reshape(h, w, hd);  // queries
  be.linear(query_, xn.ptr(), n, t1.ptr());
  int64_t m = n;  // key/value positions
  std::vector<float> down_k, down_v, keys, values;
  project(be, eps, key_, xn.ptr(), h, w, down_k, keys, m);
  project(be, eps, value_, xn.ptr(), h, w, down_v, values, m);
  Map& att = t2;  // xn is no longer needed
  att.reshape(h, w, hd);
  be.attention_mqa(site_ + ".attn", t1.ptr(), n, heads_, keys.data(), values.data(), m, key_dim_,
                   1.0f / std::sqrt(static_cast<float>(key_dim_)), att.ptr());
  out.reshape(h, w, out_);
  be.linear(output_, att.ptr(), n, out.ptr());
  if (!gamma_.empty()) be.scale_channels(site_ + ".layer_scale", out.ptr(), gamma_.data(), n, out_);
}

std::unique_ptr<VisionBlock> make_vision_block(const ManifestWeights& t, const VisionBlockDef& def, std::string site,
                                               int64_t in, bool layer_scale) {
  switch (def.kind) {
    case VisionBlockKind::EdgeResidual: return std::make_unique<EdgeResidualBlock>(t, def, std::move(site), in);
    case VisionBlockKind::UniversalInvertedResidual:
      return std::make_unique<UniversalInvertedResidualBlock>(t, def, std::move(site), in, layer_scale);
    case VisionBlockKind::MobileAttention:
      return std::make_unique<MobileAttentionBlock>(t, def, std::move(site), in, layer_scale);
  }
  throw Error("internal: unknown MobileNetV5 block kind");
}

}  // namespace autoneural::model::mnv5
