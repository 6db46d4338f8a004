#include "model/mobilenetv5.h"

#include <algorithm>
#include <cmath>

#include "autoneural/error.h"
#include "autoneural/vision.h"
#include "model/weight_loading.h"

namespace autoneural::model {

std::optional<std::string> mobilenetv5_hf_to_gguf_name(std::string_view hf_name) {
  std::string_view n = hf_name;
  for (std::string_view prefix : {"model.vision_tower.timm_model.", "vision_tower.timm_model."}) {
    if (n.substr(0, prefix.size()) == prefix) {
      n.remove_prefix(prefix.size());
      if (n.substr(0, 10) == "conv_stem.") return "v." + std::string(n);
      if (n.substr(0, 5) == "msfa.") return "v." + std::string(n);
      if (n.substr(0, 7) == "blocks.") return "v.blk." + std::string(n.substr(7));
      return std::nullopt;
    }
  }
  return std::nullopt;
}

namespace {

using backend::Backend;
using backend::ConvGeometry;

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

ConvGeometry geometry(int64_t h, int64_t w, int64_t c, int64_t k, int64_t s) {
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

// A depthwise kernel stored [C, 1, k, k] (ne [k, k, 1, C]) as the [k²][C] tap-major floats the Backend takes.
std::vector<float> depthwise_kernel(const format::WeightSource& w, const std::string& name, int64_t k, int64_t c) {
  const auto v = load_f32(w, name, {k, k, 1, c});
  std::vector<float> out(v.size());
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t t = 0; t < k * k; ++t) out[t * c + ch] = v[ch * k * k + t];
  return out;
}

// Layer-scale gammas are stored ne [C] by current converters and [1, 1, C, 1] by older ones (§1.7); both are C values.
std::vector<float> gamma_vector(const format::WeightSource& w, const std::string& name, int64_t c) {
  return load_f32(w, name, {c});
}

// A feature map in channels-last layout.
struct Map {
  std::vector<float> data;
  int64_t h = 0, w = 0, c = 0;
  int64_t pixels() const { return h * w; }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  void reshape(int64_t nh, int64_t nw, int64_t nc) {
    h = nh, w = nw, c = nc;
    if (data.size() < static_cast<size_t>(h * w * c)) data.resize(static_cast<size_t>(h * w * c));
  }
};

}  // namespace

// One block of any kind; fields unused by a kind stay empty.
struct MobileNetV5::Block {
  VisionBlockDef def;
  std::string site;  // "v.blk.S.B": backend sites, and the tensor-name prefix
  int64_t in = 0, mid = 0, out = 0;
  bool skip = false;
  // er
  backend::Weight conv_exp, conv_pwl;
  std::vector<float> bn1, bn2;
  // uir
  std::vector<float> dw_start, dw_start_bn, pw_exp_bn, dw_mid, dw_mid_bn, pw_proj_bn, gamma;
  backend::Weight pw_exp, pw_proj;
  // mqa
  std::vector<float> norm, key_down, key_norm, value_down, value_norm;
  backend::Weight query, key, value, output;

  void forward(Backend& be, float eps, Map& x, Map& t0, Map& t1, Map& t2) const;
};

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
  const format::WeightSource& w = *weights_;
  stem_ = std::make_unique<Stem>();
  const int64_t k0 = c.stem_kernel;
  stem_->conv = load_conv_matrix(w, "v.conv_stem.conv.weight", k0, c.in_channels, c.stem_size);
  if (c.stem_bias || w.find("v.conv_stem.conv.bias")) stem_->bias = load_f32(w, "v.conv_stem.conv.bias", {c.stem_size});
  stem_->norm = load_f32(w, "v.conv_stem.bn.weight", {c.stem_size});

  int64_t in = c.stem_size;
  for (size_t s = 0; s < c.stages.size(); ++s) {
    for (size_t i = 0; i < c.stages[s].size(); ++i) {
      auto b = std::make_unique<Block>();
      b->def = c.stages[s][i];
      const auto& d = b->def;
      b->site = "v.blk." + std::to_string(s) + "." + std::to_string(i);
      const std::string p = b->site + ".";
      b->in = in;
      b->out = d.out_channels;
      b->skip = d.stride == 1 && b->in == b->out;
      switch (d.kind) {
        case VisionBlockKind::EdgeResidual:
          b->mid = MobileNetV5Config::mid_channels(static_cast<int>(in), d.expansion);
          b->conv_exp = load_conv_matrix(w, p + "conv_exp.weight", d.kernel, in, b->mid);
          b->bn1 = load_f32(w, p + "bn1.weight", {b->mid});
          b->conv_pwl = load_matrix(w, p + "conv_pwl.weight", b->mid, b->out);
          b->bn2 = load_f32(w, p + "bn2.weight", {b->out});
          break;
        case VisionBlockKind::UniversalInvertedResidual:
          b->mid = MobileNetV5Config::mid_channels(static_cast<int>(in), d.expansion);
          if (d.dw_start) {
            b->dw_start = depthwise_kernel(w, p + "dw_start.conv.weight", d.dw_start, in);
            b->dw_start_bn = load_f32(w, p + "dw_start.bn.weight", {in});
          }
          b->pw_exp = load_matrix(w, p + "pw_exp.conv.weight", in, b->mid);
          b->pw_exp_bn = load_f32(w, p + "pw_exp.bn.weight", {b->mid});
          if (d.dw_mid) {
            b->dw_mid = depthwise_kernel(w, p + "dw_mid.conv.weight", d.dw_mid, b->mid);
            b->dw_mid_bn = load_f32(w, p + "dw_mid.bn.weight", {b->mid});
          }
          b->pw_proj = load_matrix(w, p + "pw_proj.conv.weight", b->mid, b->out);
          b->pw_proj_bn = load_f32(w, p + "pw_proj.bn.weight", {b->out});
          if (c.layer_scale) b->gamma = gamma_vector(w, p + "layer_scale.gamma", b->out);
          break;
        case VisionBlockKind::MobileAttention: {
          if (b->out != in) throw Error("MobileNetV5 block " + d.text + " must keep the channel count (" +
                                        std::to_string(in) + ")");
          const int64_t hd = int64_t(d.heads) * d.key_dim;
          b->norm = load_f32(w, p + "norm.weight", {in});
          b->query = load_matrix(w, p + "attn.query.proj.weight", in, hd);
          if (d.kv_stride > 1) {
            b->key_down = depthwise_kernel(w, p + "attn.key.down_conv.weight", d.kv_kernel, in);
            b->key_norm = load_f32(w, p + "attn.key.norm.weight", {in});
            b->value_down = depthwise_kernel(w, p + "attn.value.down_conv.weight", d.kv_kernel, in);
            b->value_norm = load_f32(w, p + "attn.value.norm.weight", {in});
          }
          b->key = load_matrix(w, p + "attn.key.proj.weight", in, d.key_dim);
          b->value = load_matrix(w, p + "attn.value.proj.weight", in, d.key_dim);
          b->output = load_matrix(w, p + "attn.output.proj.weight", hd, b->out);
          if (c.layer_scale) b->gamma = gamma_vector(w, p + "layer_scale.gamma", b->out);
          b->skip = true;
          break;
        }
      }
      in = b->out;
      blocks_.push_back(std::move(b));
    }
  }
  msfa_ = std::make_unique<Msfa>();
  auto& m = *msfa_;
  m.points = c.msfa_points();
  m.in = c.msfa_in_channels();
  m.mid = MobileNetV5Config::mid_channels(static_cast<int>(m.in), c.msfa_expansion);
  m.out = c.msfa_output_channels;
  m.pw_exp = load_matrix(w, "v.msfa.ffn.pw_exp.conv.weight", m.in, m.mid);
  m.pw_exp_bn = load_f32(w, "v.msfa.ffn.pw_exp.bn.weight", {m.mid});
  m.pw_proj = load_matrix(w, "v.msfa.ffn.pw_proj.conv.weight", m.mid, m.out);
  m.pw_proj_bn = load_f32(w, "v.msfa.ffn.pw_proj.bn.weight", {m.out});
  m.norm = load_f32(w, "v.msfa.norm.weight", {m.out});
}

MobileNetV5::~MobileNetV5() = default;

int64_t MobileNetV5::parameter_count() const { return config_.parameter_count(); }

void MobileNetV5::Block::forward(Backend& be, float eps, Map& x, Map& t0, Map& t1, Map& t2) const {
  const auto& d = def;
  const int64_t h = x.h, w = x.w;
  Map* result = &t0;
  switch (d.kind) {
    case VisionBlockKind::EdgeResidual: {
      const ConvGeometry g = geometry(h, w, in, d.kernel, d.stride);
      t1.reshape(g.out_h, g.out_w, mid);
      be.conv2d(conv_exp, nullptr, x.ptr(), g, t1.ptr());
      be.rms_norm(site + ".bn1", t1.ptr(), bn1.data(), t1.pixels(), mid, eps, t1.ptr());
      be.gelu(site + ".act1", t1.ptr(), t1.pixels() * mid, backend::GeluKind::Tanh, t1.ptr());
      t0.reshape(g.out_h, g.out_w, out);
      be.linear(conv_pwl, t1.ptr(), t1.pixels(), t0.ptr());
      be.rms_norm(site + ".bn2", t0.ptr(), bn2.data(), t0.pixels(), out, eps, t0.ptr());
      break;
    }
    case VisionBlockKind::UniversalInvertedResidual: {
      const float* src = x.ptr();
      if (d.dw_start) {
        // dw_start carries the stride only when there is no dw_mid (never the case in MobileNetV5).
        const int64_t s = d.dw_mid ? 1 : d.stride;
        const ConvGeometry g = geometry(h, w, in, d.dw_start, s);
        t2.reshape(g.out_h, g.out_w, in);
        be.depthwise_conv2d(site + ".dw_start", dw_start.data(), x.ptr(), g, t2.ptr());
        be.rms_norm(site + ".dw_start.bn", t2.ptr(), dw_start_bn.data(), t2.pixels(), in, eps, t2.ptr());
        src = t2.ptr();
      }
      const int64_t h1 = d.dw_start ? t2.h : h, w1 = d.dw_start ? t2.w : w;
      t1.reshape(h1, w1, mid);
      be.linear(pw_exp, src, h1 * w1, t1.ptr());
      be.rms_norm(site + ".pw_exp.bn", t1.ptr(), pw_exp_bn.data(), t1.pixels(), mid, eps, t1.ptr());
      be.gelu(site + ".pw_exp.act", t1.ptr(), t1.pixels() * mid, backend::GeluKind::Tanh, t1.ptr());
      Map* e = &t1;
      if (d.dw_mid) {
        const ConvGeometry g = geometry(h1, w1, mid, d.dw_mid, d.stride);
        t2.reshape(g.out_h, g.out_w, mid);
        be.depthwise_conv2d(site + ".dw_mid", dw_mid.data(), t1.ptr(), g, t2.ptr());
        be.rms_norm(site + ".dw_mid.bn", t2.ptr(), dw_mid_bn.data(), t2.pixels(), mid, eps, t2.ptr());
        be.gelu(site + ".dw_mid.act", t2.ptr(), t2.pixels() * mid, backend::GeluKind::Tanh, t2.ptr());
        e = &t2;
      }
      t0.reshape(e->h, e->w, out);
      be.linear(pw_proj, e->ptr(), e->pixels(), t0.ptr());
      be.rms_norm(site + ".pw_proj.bn", t0.ptr(), pw_proj_bn.data(), t0.pixels(), out, eps, t0.ptr());
      if (!gamma.empty()) be.scale_channels(site + ".layer_scale", t0.ptr(), gamma.data(), t0.pixels(), out);
      break;
    }
    case VisionBlockKind::MobileAttention: {
      const int64_t n = h * w, hd = int64_t(d.heads) * d.key_dim;
      Map& xn = t2;
      xn.reshape(h, w, in);
      be.rms_norm(site + ".norm", x.ptr(), norm.data(), n, in, eps, xn.ptr());
      t1.reshape(h, w, hd);  // queries
      be.linear(query, xn.ptr(), n, t1.ptr());
      // Keys and values come from the normed input, down-sampled by a strided depthwise conv + norm.
      const float* kv_src = xn.ptr();
      int64_t m = n;
      std::vector<float> down_k, down_v, keys, values;
      auto project = [&](const std::vector<float>& down, const std::vector<float>& dnorm, const backend::Weight& proj,
                         const std::string& name, std::vector<float>& scratch, std::vector<float>& result) {
        const float* src = kv_src;
        if (d.kv_stride > 1) {
          const ConvGeometry g = geometry(h, w, in, d.kv_kernel, d.kv_stride);
          m = g.out_h * g.out_w;
          scratch.resize(static_cast<size_t>(m * in));
          be.depthwise_conv2d(site + name + ".down_conv", down.data(), kv_src, g, scratch.data());
          be.rms_norm(site + name + ".norm", scratch.data(), dnorm.data(), m, in, eps, scratch.data());
          src = scratch.data();
        }
        result.resize(static_cast<size_t>(m * d.key_dim));
        be.linear(proj, src, m, result.data());
      };
      project(key_down, key_norm, key, ".attn.key", down_k, keys);
      project(value_down, value_norm, value, ".attn.value", down_v, values);
      Map& att = t2;  // xn is no longer needed
      att.reshape(h, w, hd);
      be.attention_mqa(site + ".attn", t1.ptr(), n, d.heads, keys.data(), values.data(), m, d.key_dim,
                       1.0f / std::sqrt(static_cast<float>(d.key_dim)), att.ptr());
      t0.reshape(h, w, out);
      be.linear(output, att.ptr(), n, t0.ptr());
      if (!gamma.empty()) be.scale_channels(site + ".layer_scale", t0.ptr(), gamma.data(), n, out);
      break;
    }
  }
  if (skip) be.add(site + ".residual", result->ptr(), x.ptr(), result->pixels() * out);
  std::swap(x, *result);
}

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
  const ConvGeometry g = geometry(h, w, c.in_channels, c.stem_kernel, 2);
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
      blocks_[bi]->forward(be, c.eps, x, t0, t1, t2);
      x.c = blocks_[bi]->out;
      be.observe(blocks_[bi]->site, x.ptr(), x.pixels(), x.c);
      if (tap) emit(std::string_view(blocks_[bi]->site).substr(2), x);
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
