#include "model/mobilenetv5.h"

#include <algorithm>

#include "autoneural/error.h"
#include "autoneural/vision.h"
#include "model/mobilenetv5_blocks.h"
#include "model/weight_loading.h"

namespace autoneural::model {

using backend::Backend;
using backend::ConvGeometry;
using mnv5::Map;

struct MobileNetV5::Stem {
  backend::Weight conv;
  std::vector<float> bias, norm;
};

struct MobileNetV5::Msfa {
  std::vector<int> points;
  int64_t in = 0, mid = 0, out = 0;
  backend::Weight pw_exp, pw_proj;
  std::vector<float> pw_exp_bn, pw_proj_bn, norm;
};

MobileNetV5::MobileNetV5(std::shared_ptr<const format::WeightSource> weights, MobileNetV5Config config)
    : weights_(std::move(weights)), config_(std::move(config)) {
  const auto& c = config_;
  c.validate();
  const ManifestWeights t(*weights_, mobilenetv5_manifest(c));
  stem_ = std::make_unique<Stem>();
  stem_->conv = t.matrix("v.conv_stem.conv.weight");
  stem_->bias = t.f32("v.conv_stem.conv.bias");  // empty when absent
  stem_->norm = t.f32("v.conv_stem.bn.weight");
  int64_t in = c.stem_size;
  for (size_t s = 0; s < c.stages.size(); ++s)
    for (size_t i = 0; i < c.stages[s].size(); ++i) {
      blocks_.push_back(mnv5::make_vision_block(t, c.stages[s][i], mobilenetv5_block_site(s, i), in, c.layer_scale));
      in = blocks_.back()->out_channels();
    }
  msfa_ = std::make_unique<Msfa>();
  auto& m = *msfa_;
  m.points = c.msfa_points();
  m.in = c.msfa_in_channels();
  m.mid = MobileNetV5Config::mid_channels(static_cast<int>(m.in), c.msfa_expansion);
  m.out = c.msfa_output_channels;
  m.pw_exp = t.matrix("v.msfa.ffn.pw_exp.conv.weight");
  m.pw_exp_bn = t.f32("v.msfa.ffn.pw_exp.bn.weight");
  m.pw_proj = t.matrix("v.msfa.ffn.pw_proj.conv.weight");
  m.pw_proj_bn = t.f32("v.msfa.ffn.pw_proj.bn.weight");
  m.norm = t.f32("v.msfa.norm.weight");
}

MobileNetV5::~MobileNetV5() = default;

int64_t MobileNetV5::parameter_count() const { return config_.parameter_count(); }

void MobileNetV5::encode(Backend& be, const float* pixels, int64_t h, int64_t w, float* out, const FeatureTap& tap) const {
  const auto& c = config_;
  check_image_sides(h, w, "MobileNetV5 input");
  auto emit = [&](std::string_view name, const Map& m) {
    if (tap) tap(name, m.ptr(), m.h, m.w, m.c);
  };
  // CHW pixels → channels-last.
  Map in;
  in.reshape(h, w, c.in_channels);
  for (int64_t ch = 0; ch < c.in_channels; ++ch)
    for (int64_t p = 0; p < h * w; ++p) in.data[p * c.in_channels + ch] = pixels[ch * h * w + p];

  Map x, t0, t1, t2;
  const ConvGeometry g = mnv5::same_geometry(h, w, c.in_channels, c.stem_kernel, 2);
  x.reshape(g.out_h, g.out_w, c.stem_size);
  be.conv2d(stem_->conv, stem_->bias.empty() ? nullptr : stem_->bias.data(), in.ptr(), g, x.ptr());
  be.rms_norm("v.stem.bn", x.ptr(), stem_->norm.data(), x.pixels(), c.stem_size, c.eps, x.ptr());
  be.gelu("v.stem.act", x.ptr(), x.pixels() * c.stem_size, backend::GeluKind::Tanh, x.ptr());
  be.observe("v.stem", x.ptr(), x.pixels(), x.c);
  emit("stem", x);

  // Feature points: 0 = stem, s+1 = output of stage s. The MSFA keeps the ones it taps.
  std::vector<Map> taps(c.stages.size() + 1);
  auto keep = [&](int point) {
    if (std::find(msfa_->points.begin(), msfa_->points.end(), point) != msfa_->points.end()) {
      taps[point].reshape(x.h, x.w, x.c);
      std::copy(x.data.begin(), x.data.begin() + x.pixels() * x.c, taps[point].data.begin());
    }
  };
  keep(0);
  size_t bi = 0;
  for (size_t s = 0; s < c.stages.size(); ++s) {
    for (size_t i = 0; i < c.stages[s].size(); ++i, ++bi) {
      const mnv5::VisionBlock& b = *blocks_[bi];
      b.forward(be, c.eps, x, t0, t1, t2);
      if (b.residual()) be.add(b.site() + ".residual", t0.ptr(), x.ptr(), t0.pixels() * b.out_channels());
      std::swap(x, t0);
      be.observe(b.site(), x.ptr(), x.pixels(), x.c);
      if (tap) emit(std::string_view(b.site()).substr(2), x);
    }
    if (tap) emit("stage." + std::to_string(s), x);
    keep(static_cast<int>(s) + 1);
  }

  // MSFA: every tap brought to the highest-resolution tap's size by nearest upsampling, concatenated.
  const auto& m = *msfa_;
  int64_t rh = 0, rw = 0;
  for (int p : m.points)
    if (taps[p].h * taps[p].w > rh * rw) rh = taps[p].h, rw = taps[p].w;
  Map cat;
  cat.reshape(rh, rw, m.in);
  int64_t off = 0;
  for (int p : m.points) {
    const Map& t = taps[p];
    const float* src = t.ptr();
    std::vector<float> up;
    if (t.h != rh || t.w != rw) {
      up.resize(static_cast<size_t>(rh * rw * t.c));
      be.resize2d("v.msfa.upsample", t.ptr(), t.h, t.w, t.c, rh, rw, backend::ResizeKind::Nearest, up.data());
      src = up.data();
    }
    for (int64_t px = 0; px < rh * rw; ++px) std::copy(src + px * t.c, src + (px + 1) * t.c, cat.ptr() + px * m.in + off);
    off += t.c;
  }
  emit("msfa.concat", cat);
  t1.reshape(rh, rw, m.mid);
  be.linear(m.pw_exp, cat.ptr(), cat.pixels(), t1.ptr());
  be.rms_norm("v.msfa.ffn.pw_exp.bn", t1.ptr(), m.pw_exp_bn.data(), t1.pixels(), m.mid, c.eps, t1.ptr());
  be.gelu("v.msfa.ffn.pw_exp.act", t1.ptr(), t1.pixels() * m.mid, backend::GeluKind::Tanh, t1.ptr());
  t0.reshape(rh, rw, m.out);
  be.linear(m.pw_proj, t1.ptr(), t1.pixels(), t0.ptr());
  be.rms_norm("v.msfa.ffn.pw_proj.bn", t0.ptr(), m.pw_proj_bn.data(), t0.pixels(), m.out, c.eps, t0.ptr());
  emit("msfa.ffn", t0);

  // To the output grid: average pool when the size divides, bilinear otherwise, nothing when equal.
  const int64_t res = c.msfa_output_resolution;
  Map grid;
  grid.reshape(res, res, m.out);
  if (rh == res && rw == res) {
    std::copy(t0.data.begin(), t0.data.begin() + res * res * m.out, grid.data.begin());
  } else {
    const bool divisible = rh % res == 0 && rw % res == 0;
    be.resize2d("v.msfa.resize", t0.ptr(), rh, rw, m.out, res, res,
                divisible ? backend::ResizeKind::AveragePool : backend::ResizeKind::Bilinear, grid.ptr());
  }
  emit("msfa.resized", grid);
  be.rms_norm("v.msfa.norm", grid.ptr(), m.norm.data(), res * res, m.out, c.eps, out);
  be.observe("encoder_output", out, res * res, m.out);
  if (tap) tap("output", out, res, res, m.out);
}

}  // namespace autoneural::model
