// The sim backend: fake quantization in float (see quant_backend.h).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "autoneural/error.h"
#include "backend/float_backend.h"
#include "backend/quant_backend.h"

namespace autoneural::backend {

BackendKind parse_backend_kind(std::string_view name) {
  if (name == "float") return BackendKind::Float;
  if (name == "sim") return BackendKind::Sim;
  if (name == "npu") return BackendKind::Npu;
  throw Error("unknown backend '" + std::string(name) + "' (available: float, sim, npu)");
}

const char* backend_kind_name(BackendKind k) {
  switch (k) {
    case BackendKind::Float: return "float";
    case BackendKind::Sim: return "sim";
    case BackendKind::Npu: return "npu";
  }
  return "float";
}

std::string site_of_weight(std::string_view name) {
  constexpr std::string_view kSuffix = ".weight";
  if (name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix)
    name.remove_suffix(kSuffix.size());
  return std::string(name);
}

std::string kernel_tensor_of(const QuantPlan& plan, std::string_view site) {
  for (const char* suffix : {".conv.weight", ".weight"}) {
    std::string name = std::string(site) + suffix;
    if (plan.has_tensor(name)) return name;
  }
  return {};
}

quant::ActEncoding silu_encoding(const quant::ActEncoding& in, const quant::ActScheme& scheme) {
  const float hi = std::max(in.value(in.qmax), 0.0f);
  return quant::encoding_for_range(-0.2785f, hi, scheme);
}

void short_conv_history(const float* bcx, const float* state, int64_t steps, int64_t n, int64_t dim,
                        std::vector<float>& hist) {
  hist.resize(static_cast<size_t>((steps + n) * dim));
  std::copy(state, state + steps * dim, hist.begin());
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < dim; ++c) hist[(steps + t) * dim + c] = bcx[t * 3 * dim + c] * bcx[t * 3 * dim + 2 * dim + c];
}

void short_conv_window(const std::vector<float>& hist, const float* kernel, int64_t l_cache, int64_t n, int64_t dim,
                       float* conv) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < dim; ++c) {
      float acc = 0;
      for (int64_t j = 0; j < l_cache; ++j) acc += kernel[c * l_cache + j] * hist[(t + j) * dim + c];
      conv[t * dim + c] = acc;
    }
}

namespace {

class SimBackend final : public Backend {
 public:
  SimBackend(int n_threads, std::shared_ptr<const QuantPlan> plan) : float_(n_threads), plan_(std::move(plan)) {}

  std::string_view name() const override { return "sim"; }
  bool batches_sequences() const override { return false; }  // dynamic ranges span a call's rows
  kernels::ThreadPool& pool() override { return float_.pool(); }

  void linear(const Weight& w, const float* x, int64_t n, float* y) override {
    const std::string site = site_of_weight(w.name);
    const float* xq = input(point_in(site), x, n * w.matrix.cols, in_);
    float_.linear(dequantized(w), xq, n, y);
    output(site, y, n * w.matrix.rows);
  }

  void rms_norm(std::string_view site, const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                float* y) override {
    const float* xq = input(point_in(site), x, n * dim, in_);
    float_.rms_norm(site, xq, weight ? vector16(weight, dim) : nullptr, n, dim, eps, y);
    output(site, y, n * dim);
  }

  void swiglu(std::string_view site, const float* gate, const float* up, int64_t count, float* y) override {
    const auto eg = plan_->encoding(point_in(site), gate, count);
    const auto es = silu_encoding(eg, plan_->act_scheme(site));
    const float* uq = input(point_in(site, 1), up, count, in1_);
    for (int64_t i = 0; i < count; ++i) {
      const float g = eg.fake(gate[i]);
      y[i] = es.fake(g / (1.0f + std::exp(-g))) * uq[i];
    }
    output(site, y, count);
  }

  void add(std::string_view site, float* acc, const float* x, int64_t count) override {
    const auto ea = plan_->encoding(point_in(site), acc, count);
    const float* xq = input(point_in(site, 1), x, count, in1_);
    for (int64_t i = 0; i < count; ++i) acc[i] = ea.fake(acc[i]) + xq[i];
    output(site, acc, count);
  }

  void rope(std::string_view site, float* x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
            float theta) override {
    requantize_in_place(point_in(site), x, n * n_heads * head_dim);
    float_.rope(site, x, n, n_heads, head_dim, pos0, theta);
    output(site, x, n * n_heads * head_dim);
  }

  void short_conv(std::string_view site, const float* bcx, const float* kernel, int64_t l_cache, int64_t n,
                  int64_t dim, float* state, float* z) override {
    const float* in = input(point_in(site), bcx, n * 3 * dim, in_);
    const int64_t steps = l_cache - 1;
    // History: saved U's then this chunk's, all on the state grid.
    std::vector<float> hist;
    short_conv_history(in, state, steps, n, dim, hist);
    const std::string sp = point_state(site);
    const auto eu = plan_->encoding(sp, hist.data(), static_cast<int64_t>(hist.size()));
    quant::fake_quantize(eu, hist.data(), static_cast<int64_t>(hist.size()), hist.data());
    const float* k = kernel_values(site, kernel, dim, l_cache, false);
    std::vector<float> conv(static_cast<size_t>(n * dim));
    short_conv_window(hist, k, l_cache, n, dim, conv.data());
    const auto ec = plan_->encoding(point_conv(site), conv.data(), n * dim);
    for (int64_t i = 0; i < n * dim; ++i) {
      const int64_t t = i / dim, c = i % dim;
      z[i] = ec.fake(conv[i]) * in[t * 3 * dim + dim + c];
    }
    output(site, z, n * dim);
    std::copy(hist.end() - steps * dim, hist.end(), state);
  }

  void store_kv(std::string_view site, KvLayer& cache, const AttentionShape& s, const float* k, const float* v,
                int64_t pos0, int64_t n) override {
    if (cache.k32.empty()) throw Error("the sim backend needs an f32 KV cache");
    const int64_t count = n * s.n_head_kv * s.head_dim;
    const float* kq = input(point_key(site), k, count, in_);
    const float* vq = input(point_value(site), v, count, in1_);
    float_.store_kv(site, cache, s, kq, vq, pos0, n);
  }

  void attention(std::string_view site, const KvLayer& cache, const AttentionShape& s, const float* q, int64_t pos0,
                 int64_t n, float* out) override {
    const float* qq = input(point_in(site), q, n * s.n_head * s.head_dim, in_);
    float_.attention_rounded(cache, s, qq, pos0, n, kProbLevels, out);
    output(site, out, n * s.n_head * s.head_dim);
  }

  void conv2d(const Weight& w, const float* bias, const float* x, const ConvGeometry& g, float* y) override {
    const std::string site = site_of_weight(w.name);
    const float* xq = input(point_in(site), x, g.in_h * g.in_w * g.channels, in_);
    float_.conv2d(dequantized(w), bias, xq, g, y);
    output(site, y, g.out_h * g.out_w * w.matrix.rows);
  }

  void depthwise_conv2d(std::string_view site, const float* kernel, const float* x, const ConvGeometry& g,
                        float* y) override {
    const float* xq = input(point_in(site), x, g.in_h * g.in_w * g.channels, in_);
    const float* k = kernel_values(site, kernel, g.channels, g.kernel * g.kernel, true);
    float_.depthwise_conv2d(site, k, xq, g, y);
    output(site, y, g.out_h * g.out_w * g.channels);
  }

  void gelu(std::string_view site, const float* x, int64_t count, GeluKind kind, float* y) override {
    const float* xq = input(point_in(site), x, count, in_);
    float_.gelu(site, xq, count, kind, y);
    output(site, y, count);
  }

  void scale_channels(std::string_view site, float* x, const float* scale, int64_t n, int64_t dim) override {
    requantize_in_place(point_in(site), x, n * dim);
    float_.scale_channels(site, x, vector16(scale, dim), n, dim);
    output(site, x, n * dim);
  }

  void add_bias(std::string_view site, float* x, const float* bias, int64_t n, int64_t dim) override {
    requantize_in_place(point_in(site), x, n * dim);
    float_.add_bias(site, x, bias, n, dim);
    output(site, x, n * dim);
  }

  void attention_mqa(std::string_view site, const float* q, int64_t n_q, int64_t n_head, const float* k,
                     const float* v, int64_t n_kv, int64_t head_dim, float scale, float* out) override {
    const float* qq = input(point_in(site), q, n_q * n_head * head_dim, in_);
    const float* kq = input(point_in(site, 1), k, n_kv * head_dim, in1_);
    const float* vq = input(point_in(site, 2), v, n_kv * head_dim, in2_);
    float_.attention_mqa_rounded(qq, n_q, n_head, kq, vq, n_kv, head_dim, scale, kProbLevels, out);
    output(site, out, n_q * n_head * head_dim);
  }

  void resize2d(std::string_view site, const float* x, int64_t in_h, int64_t in_w, int64_t channels, int64_t out_h,
                int64_t out_w, ResizeKind kind, float* y) override {
    const float* xq = input(point_in(site), x, in_h * in_w * channels, in_);
    float_.resize2d(site, xq, in_h, in_w, channels, out_h, out_w, kind, y);
    output(site, y, out_h * out_w * channels);
  }

 private:
  const float* input(const std::string& p, const float* x, int64_t n, std::vector<float>& buf) {
    if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
    quant::fake_quantize(plan_->encoding(p, x, n), x, n, buf.data());
    return buf.data();
  }
  void requantize_in_place(const std::string& p, float* x, int64_t n) {
    quant::fake_quantize(plan_->encoding(p, x, n), x, n, x);
  }
  void output(std::string_view site, float* y, int64_t n) {
    const std::string p(site);
    quant::fake_quantize(plan_->encoding(p, y, n), y, n, y);
  }

  // The weight as F32 values of its integer grid.
  Weight dequantized(const Weight& w) {
    const auto& v = plan_->dequantized(w.name);
    Weight d{w.name, {TensorType::F32, w.matrix.rows, w.matrix.cols, reinterpret_cast<const uint8_t*>(v.data()),
                      static_cast<size_t>(w.matrix.cols) * sizeof(float)}};
    return d;
  }

  // Per-tensor int16 symmetric copy of a parameter vector (norm weights, layer scales), as the npu uses.
  const float* vector16(const float* v, int64_t n) {
    auto& cached = vectors_[v];
    if (cached.empty()) {
      float amax = 0;
      for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::abs(v[i]));
      const auto e = quant::encoding_for_range(-amax, amax, {16, true});
      cached.resize(static_cast<size_t>(n));
      quant::fake_quantize(e, v, n, cached.data());
    }
    return cached.data();
  }

  // A depthwise / short-conv kernel on its weight grid: from the plan's tensor when the model has it
  // (exact for quantized files), else quantized here per channel. tap_major: the Backend's [taps][C]
  // layout, otherwise [C][taps].
  const float* kernel_values(std::string_view site, const float* kernel, int64_t channels, int64_t taps,
                             bool tap_major) {
    auto& cached = kernels_[std::string(site)];
    if (!cached.empty()) return cached.data();
    const std::string tensor = kernel_tensor_of(*plan_, site);
    std::vector<float> per_channel(static_cast<size_t>(channels * taps));
    if (!tensor.empty() && plan_->weight(tensor).rows == channels && plan_->weight(tensor).cols == taps) {
      per_channel = plan_->dequantized(tensor);
    } else {
      std::vector<float> rows(static_cast<size_t>(channels * taps));
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t t = 0; t < taps; ++t) rows[c * taps + t] = tap_major ? kernel[t * channels + c] : kernel[c * taps + t];
      quant::quantize_values(rows.data(), channels, taps, plan_->recipe().weights_for(tensor.empty() ? std::string(site) : tensor), false)
          .dequantize(per_channel.data());
    }
    cached.resize(per_channel.size());
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t t = 0; t < taps; ++t)
        (tap_major ? cached[t * channels + c] : cached[c * taps + t]) = per_channel[c * taps + t];
    return cached.data();
  }

  FloatBackend float_;
  std::shared_ptr<const QuantPlan> plan_;
  std::vector<float> in_, in1_, in2_;
  std::unordered_map<const float*, std::vector<float>> vectors_;
  std::unordered_map<std::string, std::vector<float>> kernels_;
};

}  // namespace

std::unique_ptr<Backend> make_sim_backend(int n_threads, std::shared_ptr<const QuantPlan> plan) {
  return std::make_unique<SimBackend>(n_threads, std::move(plan));
}

}  // namespace autoneural::backend
