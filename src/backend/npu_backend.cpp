// The npu backend: bit-true integer execution (see quant_backend.h; every formula is in
// docs/npu-numerics.md). Each operator: input codes from the float carrier (exact), integer arithmetic into
// a wide intermediate v with a known real scale s_v, then one requantize() to the output encoding.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <type_traits>
#include <unordered_map>

#include "autoneural/error.h"
#include "kernels/int_gemm.h"
#include "quant/fixed_point.h"
#include "backend/quant_backend.h"
#include "kernels/thread_pool.h"

namespace autoneural::backend {

namespace {

using quant::ActEncoding;
using quant::int128;
using quant::Multiplier;
using quant::make_multiplier;
using quant::requantize;

struct Codes {
  ActEncoding enc;
  std::vector<int16_t> c;
  const int16_t* data() const { return c.data(); }
};

constexpr double kLog2e = 1.4426950408889634;

double gelu_ref(double x, GeluKind k) {
  if (k == GeluKind::Erf) return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

class NpuBackend final : public Backend {
 public:
  NpuBackend(int n_threads, std::shared_ptr<const QuantPlan> plan) : pool_(n_threads), plan_(std::move(plan)) {}

  std::string_view name() const override { return "npu"; }
  bool batches_sequences() const override { return false; }  // dynamic ranges span a call's rows
  kernels::ThreadPool& pool() override { return pool_; }

  // ---- matmuls ------------------------------------------------------------------------------------------
  void linear(const Weight& w, const float* x, int64_t n, float* y) override {
    const std::string site = site_of_weight(w.name);
    Codes xc = codes(point_in(site), x, n * w.matrix.cols);
    matmul_out(site, plan_->weight(w.name), xc, n, nullptr, y);
  }

  void conv2d(const Weight& w, const float* bias, const float* x, const ConvGeometry& g, float* y) override {
    const std::string site = site_of_weight(w.name);
    Codes xc = codes(point_in(site), x, g.in_h * g.in_w * g.channels);
    // im2col on codes; padding is the zero point (real 0). Columns: channel slowest, then ky, kx.
    const int64_t k = g.kernel, cols = g.channels * k * k, pix = g.out_h * g.out_w;
    std::vector<int16_t> col(static_cast<size_t>(pix * cols));
    const int16_t pad = static_cast<int16_t>(xc.enc.zero);
    pool_.parallel_for(pix, 64, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t oy = p / g.out_w, ox = p % g.out_w;
        int16_t* dst = col.data() + p * cols;
        for (int64_t c = 0; c < g.channels; ++c)
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t iy = oy * g.stride - g.pad_top + ky, ix = ox * g.stride - g.pad_left + kx;
              const bool in = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
              *dst++ = in ? xc.c[(iy * g.in_w + ix) * g.channels + c] : pad;
            }
      }
    });
    Codes cc{xc.enc, std::move(col)};
    matmul_out(site, plan_->weight(w.name), cc, pix, bias, y);
  }

  // ---- element-wise and normalisation -------------------------------------------------------------------
  void rms_norm(std::string_view site, const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                float* y) override {
    Codes xc = codes(point_in(site), x, n * dim);
    const auto* g = weight ? &vector16(weight, dim) : nullptr;
    const double s_g = g ? g->enc.scale : 1.0;
    // D ≈ rms(codes)·2^15 from an exact integer square root; eps enters in code units (eps / s_x²).
    const double eps_codes = static_cast<double>(eps) / (static_cast<double>(xc.enc.scale) * xc.enc.scale);
    const uint64_t E = static_cast<uint64_t>(std::min(std::ldexp(eps_codes, 30), 4.0e18));
    std::vector<int128> v(static_cast<size_t>(n * dim));
    pool_.parallel_for(n, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int16_t* c = xc.data() + r * dim;
        int64_t S = 0;
        for (int64_t i = 0; i < dim; ++i) {
          const int64_t d = c[i] - xc.enc.zero;
          S += d * d;
        }
        const uint64_t ms = static_cast<uint64_t>((static_cast<int128>(S) << 30) / dim);
        const uint64_t D = std::max<uint64_t>(1, quant::isqrt64(std::min<uint64_t>(ms + E, ~uint64_t(0) >> 1)));
        const int128 R = (int128(1) << 62) / D;
        for (int64_t i = 0; i < dim; ++i)
          v[r * dim + i] = int128(c[i] - xc.enc.zero) * (g ? g->c[i] : 1) * R;
      }
    });
    write(site, v.data(), n * dim, std::ldexp(s_g, -47), y);
  }

  void gelu(std::string_view site, const float* x, int64_t count, GeluKind kind, float* y) override {
    Codes xc = codes(point_in(site), x, count);
    const auto [cmin, cmax] = std::minmax_element(xc.c.begin(), xc.c.end());
    // Output range: gelu over the input's range (its minimum, -0.17, lies near x = -0.75).
    double lo = 0, hi = 0;
    if (count > 0) {
      const double a = xc.enc.value(*cmin), b = xc.enc.value(*cmax);
      lo = std::min({gelu_ref(a, kind), gelu_ref(b, kind), a < -0.75 && b > -0.75 ? gelu_ref(-0.7517916, kind) : 0.0});
      hi = std::max(gelu_ref(a, kind), gelu_ref(b, kind));
    }
    const ActEncoding eo = out_encoding(site, lo, hi);
    const auto& lut = table(xc.enc, eo, [kind](double v) { return gelu_ref(v, kind); }, kind == GeluKind::Erf ? 1 : 2);
    for (int64_t i = 0; i < count; ++i) y[i] = eo.value(lut[xc.c[i] - xc.enc.qmin]);
  }

  void swiglu(std::string_view site, const float* gate, const float* up, int64_t count, float* y) override {
    Codes gc = codes(point_in(site), gate, count);
    Codes uc = codes(point_in(site, 1), up, count);
    const ActEncoding es = silu_encoding(gc.enc, plan_->act_scheme(site));
    const auto& lut = table(gc.enc, es, [](double v) { return v / (1.0 + std::exp(-v)); }, 3);
    std::vector<int128> v(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
      v[i] = int128(lut[gc.c[i] - gc.enc.qmin] - es.zero) * (uc.c[i] - uc.enc.zero);
    write(site, v.data(), count, static_cast<double>(es.scale) * uc.enc.scale, y);
  }

  void add(std::string_view site, float* acc, const float* x, int64_t count) override {
    Codes ac = codes(point_in(site), acc, count);
    Codes xc = codes(point_in(site, 1), x, count);
    // Both terms on a common fine scale s_v = max(s_a, s_x)·2^-31 with integer factors.
    const double sv = std::ldexp(std::max<double>(ac.enc.scale, xc.enc.scale), -31);
    const int64_t ka = std::llround(ac.enc.scale / sv), kx = std::llround(xc.enc.scale / sv);
    std::vector<int128> v(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
      v[i] = int128(ac.c[i] - ac.enc.zero) * ka + int128(xc.c[i] - xc.enc.zero) * kx;
    write(site, v.data(), count, sv, acc);
  }

  void scale_channels(std::string_view site, float* x, const float* scale, int64_t n, int64_t dim) override {
    Codes xc = codes(point_in(site), x, n * dim);
    const auto& g = vector16(scale, dim);
    std::vector<int128> v(static_cast<size_t>(n * dim));
    for (int64_t i = 0; i < n * dim; ++i) v[i] = int128(xc.c[i] - xc.enc.zero) * g.c[i % dim];
    write(site, v.data(), n * dim, static_cast<double>(xc.enc.scale) * g.enc.scale, x);
  }

  void add_bias(std::string_view site, float* x, const float* bias, int64_t n, int64_t dim) override {
    Codes xc = codes(point_in(site), x, n * dim);
    // The bias as an int32 at scale s_x·2^-16 (saturating, like an NPU's int32 bias).
    const double sv = std::ldexp(static_cast<double>(xc.enc.scale), -16);
    std::vector<int64_t> b(static_cast<size_t>(dim));
    for (int64_t c = 0; c < dim; ++c) b[c] = std::llround(std::clamp(bias[c] / sv, -2147483648.0, 2147483647.0));
    std::vector<int128> v(static_cast<size_t>(n * dim));
    for (int64_t i = 0; i < n * dim; ++i) v[i] = (int128(xc.c[i] - xc.enc.zero) << 16) + b[i % dim];
    write(site, v.data(), n * dim, sv, x);
  }

  void rope(std::string_view site, float* x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
            float theta) override {
    Codes xc = codes(point_in(site), x, n * n_heads * head_dim);
    const int64_t half = head_dim / 2;
    std::vector<int128> v(xc.c.size());
    for (int64_t t = 0; t < n; ++t) {
      const double pos = static_cast<double>(pos0 + t);
      for (int64_t i = 0; i < half; ++i) {
        const double a = pos * std::pow(static_cast<double>(theta), -2.0 * i / static_cast<double>(head_dim));
        const int64_t cs = std::llround(std::cos(a) * 1073741824.0), sn = std::llround(std::sin(a) * 1073741824.0);
        for (int64_t h = 0; h < n_heads; ++h) {
          const int64_t o = (t * n_heads + h) * head_dim;
          const int64_t x0 = xc.c[o + i] - xc.enc.zero, x1 = xc.c[o + i + half] - xc.enc.zero;
          v[o + i] = int128(x0) * cs - int128(x1) * sn;
          v[o + i + half] = int128(x1) * cs + int128(x0) * sn;
        }
      }
    }
    write(site, v.data(), static_cast<int64_t>(v.size()), std::ldexp(static_cast<double>(xc.enc.scale), -30), x);
  }

  // ---- convolutions ---------------------------------------------------------------------------------------
  void depthwise_conv2d(std::string_view site, const float* kernel, const float* x, const ConvGeometry& g,
                        float* y) override {
    Codes xc = codes(point_in(site), x, g.in_h * g.in_w * g.channels);
    const int64_t C = g.channels, taps = g.kernel * g.kernel;
    const auto& kq = kernel_codes(site, kernel, C, taps, true);
    std::vector<int128> v(static_cast<size_t>(g.out_h * g.out_w * C));
    pool_.parallel_for(g.out_h, 1, [&](int64_t y0, int64_t y1) {
      std::vector<int64_t> acc(static_cast<size_t>(C));
      for (int64_t oy = y0; oy < y1; ++oy)
        for (int64_t ox = 0; ox < g.out_w; ++ox) {
          std::fill(acc.begin(), acc.end(), 0);
          for (int64_t ky = 0; ky < g.kernel; ++ky) {
            const int64_t iy = oy * g.stride - g.pad_top + ky;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int64_t kx = 0; kx < g.kernel; ++kx) {
              const int64_t ix = ox * g.stride - g.pad_left + kx;
              if (ix < 0 || ix >= g.in_w) continue;
              const int16_t* xs = xc.data() + (iy * g.in_w + ix) * C;
              const int16_t* ws = kq.codes.data() + (ky * g.kernel + kx) * C;
              for (int64_t c = 0; c < C; ++c) acc[c] += int64_t(xs[c] - xc.enc.zero) * ws[c];
            }
          }
          int128* o = v.data() + (oy * g.out_w + ox) * C;
          for (int64_t c = 0; c < C; ++c) o[c] = acc[c];
        }
    });
    write_per_channel(site, v.data(), g.out_h * g.out_w, C, xc.enc.scale, kq.scales, y);
  }

  void short_conv(std::string_view site, const float* bcx, const float* kernel, int64_t l_cache, int64_t n,
                  int64_t dim, float* state, float* z) override {
    Codes in = codes(point_in(site), bcx, n * 3 * dim);
    const int64_t steps = l_cache - 1;
    const double s_bx = static_cast<double>(in.enc.scale) * in.enc.scale;
    // U = B ⊙ X of this chunk (wide), then the history [state; U] on the state grid.
    std::vector<int128> u(static_cast<size_t>(n * dim));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < dim; ++c)
        u[t * dim + c] = int128(in.c[t * 3 * dim + c] - in.enc.zero) * (in.c[t * 3 * dim + 2 * dim + c] - in.enc.zero);
    const std::string sp = point_state(site);
    ActEncoding es;
    if (const auto* r = plan_->range(sp)) {
      es = quant::encoding_for_range(r->first, r->second, plan_->act_scheme(site));
    } else {
      double lo = 0, hi = 0;
      for (int64_t i = 0; i < steps * dim; ++i) lo = std::min<double>(lo, state[i]), hi = std::max<double>(hi, state[i]);
      for (const int128& w : u) lo = std::min(lo, double(w) * s_bx), hi = std::max(hi, double(w) * s_bx);
      es = quant::encoding_for_range(static_cast<float>(lo), static_cast<float>(hi), plan_->act_scheme(site));
    }
    std::vector<int32_t> hist(static_cast<size_t>((steps + n) * dim));
    for (int64_t i = 0; i < steps * dim; ++i) hist[i] = es.code(state[i]);
    const Multiplier mu = make_multiplier(s_bx / es.scale);
    for (int64_t i = 0; i < n * dim; ++i) hist[steps * dim + i] = requantize(u[i], mu, es.zero, es.qmin, es.qmax);
    const auto& kq = kernel_codes(site, kernel, dim, l_cache, false);
    std::vector<int128> conv(static_cast<size_t>(n * dim));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < dim; ++c) {
        int64_t acc = 0;
        for (int64_t j = 0; j < l_cache; ++j) acc += int64_t(hist[(t + j) * dim + c] - es.zero) * kq.codes[c * l_cache + j];
        conv[t * dim + c] = acc;
      }
    // conv → its own grid (per-channel kernel scales), then z = C ⊙ conv.
    std::vector<float> conv_f(static_cast<size_t>(n * dim));
    write_per_channel(point_conv(site), conv.data(), n, dim, es.scale, kq.scales, conv_f.data());
    Codes cc = codes(point_conv(site), conv_f.data(), n * dim);
    std::vector<int128> v(static_cast<size_t>(n * dim));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < dim; ++c)
        v[t * dim + c] = int128(cc.c[t * dim + c] - cc.enc.zero) * (in.c[t * 3 * dim + dim + c] - in.enc.zero);
    write(site, v.data(), n * dim, static_cast<double>(cc.enc.scale) * in.enc.scale, z);
    for (int64_t i = 0; i < steps * dim; ++i) state[i] = es.value(hist[n * dim + i]);
  }

  void resize2d(std::string_view site, const float* x, int64_t in_h, int64_t in_w, int64_t c, int64_t out_h,
                int64_t out_w, ResizeKind kind, float* y) override {
    Codes xc = codes(point_in(site), x, in_h * in_w * c);
    std::vector<int128> v(static_cast<size_t>(out_h * out_w * c));
    double sv = xc.enc.scale;
    const int32_t z = xc.enc.zero;
    if (kind == ResizeKind::AveragePool) {
      if (in_h % out_h || in_w % out_w) throw Error("average pool needs divisible sizes");
      sv /= static_cast<double>((in_h / out_h) * (in_w / out_w));
    } else if (kind == ResizeKind::Bilinear) {
      sv = std::ldexp(sv, -30);
    }
    for (int64_t oy = 0; oy < out_h; ++oy)
      for (int64_t ox = 0; ox < out_w; ++ox) {
        int128* o = v.data() + (oy * out_w + ox) * c;
        if (kind == ResizeKind::Nearest) {
          const int64_t iy = oy * in_h / out_h, ix = ox * in_w / out_w;
          for (int64_t ch = 0; ch < c; ++ch) o[ch] = xc.c[(iy * in_w + ix) * c + ch] - z;
        } else if (kind == ResizeKind::AveragePool) {
          const int64_t kh = in_h / out_h, kw = in_w / out_w;
          for (int64_t ch = 0; ch < c; ++ch) {
            int64_t s = 0;
            for (int64_t dy = 0; dy < kh; ++dy)
              for (int64_t dx = 0; dx < kw; ++dx) s += xc.c[((oy * kh + dy) * in_w + ox * kw + dx) * c + ch] - z;
            o[ch] = s;
          }
        } else {
          // PyTorch align_corners=False coordinates (as the float path), weights in Q15 per axis.
          auto coord = [](int64_t d, int64_t in, int64_t out, int64_t& i0, int64_t& i1, int64_t& l) {
            float s = (static_cast<float>(d) + 0.5f) * static_cast<float>(in) / static_cast<float>(out) - 0.5f;
            s = std::max(s, 0.0f);
            i0 = std::min(static_cast<int64_t>(s), in - 1);
            i1 = std::min(i0 + 1, in - 1);
            l = std::llround((s - static_cast<float>(i0)) * 32768.0);
          };
          int64_t y0, y1, x0, x1, ly, lx;
          coord(oy, in_h, out_h, y0, y1, ly);
          coord(ox, in_w, out_w, x0, x1, lx);
          for (int64_t ch = 0; ch < c; ++ch) {
            auto at = [&](int64_t yy, int64_t xx) { return int64_t(xc.c[(yy * in_w + xx) * c + ch] - z); };
            o[ch] = int128((32768 - ly) * ((32768 - lx) * at(y0, x0) + lx * at(y0, x1))) +
                    int128(ly * ((32768 - lx) * at(y1, x0) + lx * at(y1, x1)));
          }
        }
      }
    write(site, v.data(), static_cast<int64_t>(v.size()), sv, y);
  }

  // ---- attention -------------------------------------------------------------------------------------------
  void store_kv(std::string_view site, KvLayer& cache, const AttentionShape& s, const float* k, const float* v,
                int64_t pos0, int64_t n) override {
    if (cache.k32.empty()) throw Error("the npu backend needs an f32 KV cache (16-bit codes are kept in it exactly)");
    const int64_t row = s.n_head_kv * s.head_dim, count = n * row;
    Codes kc = codes(point_key(site), k, count), vc = codes(point_value(site), v, count);
    for (int64_t i = 0; i < count; ++i) {
      cache.k32[pos0 * row + i] = kc.enc.value(kc.c[i]);
      cache.v32[pos0 * row + i] = vc.enc.value(vc.c[i]);
    }
  }

  void attention(std::string_view site, const KvLayer& cache, const AttentionShape& s, const float* q, int64_t pos0,
                 int64_t n, float* out) override {
    const int64_t hd = s.head_dim, row = s.n_head_kv * hd, n_kv = pos0 + n, group = s.n_head / s.n_head_kv;
    Codes qc = codes(point_in(site), q, n * s.n_head * hd);
    const std::string kv_site = std::string(site.substr(0, site.rfind('.'))) + ".kv";
    Codes kc = codes(point_key(kv_site), cache.k32.data(), n_kv * row);
    Codes vc = codes(point_value(kv_site), cache.v32.data(), n_kv * row);
    std::vector<int128> o(static_cast<size_t>(n * s.n_head * hd));
    std::vector<int16_t> qh(static_cast<size_t>(n * hd)), kh(static_cast<size_t>(n_kv * hd)), vt(static_cast<size_t>(hd * n_kv));
    std::vector<int128> oh(static_cast<size_t>(n * hd));
    for (int64_t kvh = 0; kvh < s.n_head_kv; ++kvh) {
      for (int64_t j = 0; j < n_kv; ++j)
        for (int64_t d = 0; d < hd; ++d) {
          kh[j * hd + d] = kc.c[j * row + kvh * hd + d];
          vt[d * n_kv + j] = vc.c[j * row + kvh * hd + d];
        }
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
        for (int64_t t = 0; t < n; ++t)
          std::copy_n(qc.data() + (t * s.n_head + h) * hd, hd, qh.data() + t * hd);
        attend(qh.data(), qc.enc, n, kh.data(), kc.enc, vt.data(), vc.enc, n_kv, hd, s.scale, pos0, oh.data());
        for (int64_t t = 0; t < n; ++t)
          std::copy_n(oh.data() + t * hd, hd, o.data() + (t * s.n_head + h) * hd);
      }
    }
    write(site, o.data(), static_cast<int64_t>(o.size()), std::ldexp(static_cast<double>(vc.enc.scale), -15), out);
  }

  void attention_mqa(std::string_view site, const float* q, int64_t n_q, int64_t n_head, const float* k,
                     const float* v, int64_t n_kv, int64_t hd, float scale, float* out) override {
    Codes qc = codes(point_in(site), q, n_q * n_head * hd);
    Codes kc = codes(point_in(site, 1), k, n_kv * hd);
    Codes vc = codes(point_in(site, 2), v, n_kv * hd);
    std::vector<int16_t> vt(static_cast<size_t>(hd * n_kv)), qh(static_cast<size_t>(n_q * hd));
    for (int64_t j = 0; j < n_kv; ++j)
      for (int64_t d = 0; d < hd; ++d) vt[d * n_kv + j] = vc.c[j * hd + d];
    std::vector<int128> o(static_cast<size_t>(n_q * n_head * hd)), oh(static_cast<size_t>(n_q * hd));
    for (int64_t h = 0; h < n_head; ++h) {
      for (int64_t t = 0; t < n_q; ++t) std::copy_n(qc.data() + (t * n_head + h) * hd, hd, qh.data() + t * hd);
      attend(qh.data(), qc.enc, n_q, kc.data(), kc.enc, vt.data(), vc.enc, n_kv, hd, scale, -1, oh.data());
      for (int64_t t = 0; t < n_q; ++t) std::copy_n(oh.data() + t * hd, hd, o.data() + (t * n_head + h) * hd);
    }
    write(site, o.data(), static_cast<int64_t>(o.size()), std::ldexp(static_cast<double>(vc.enc.scale), -15), out);
  }

 private:
  // One head: scores = (q − zq)·(k − zk) exactly, softmax in fixed point (exp2 of Q16 arguments, Q15
  // probabilities), out = P·(v − zv) with real scale s_v·2^-15. causal_pos0 < 0: no mask; otherwise query
  // t sees keys 0 .. causal_pos0 + t.
  void attend(const int16_t* q, const ActEncoding& eq, int64_t n_q, const int16_t* k, const ActEncoding& ek,
              const int16_t* vt, const ActEncoding& ev, int64_t n_kv, int64_t hd, float scale, int64_t causal_pos0,
              int128* out) {
    std::vector<int64_t> sc(static_cast<size_t>(n_q * n_kv));
    kernels::IntMatrix km{n_kv, hd, k, 32768, 0, nullptr};
    kernels::int_gemm(km, q, hd, n_q, sc.data(), n_kv, pool_);
    std::vector<int64_t> ksum(static_cast<size_t>(n_kv));
    kernels::int_gemm_group_sums(km, ksum.data());
    const Multiplier L = make_multiplier(static_cast<double>(eq.scale) * ek.scale * scale * kLog2e * 65536.0);
    std::vector<int16_t> p(static_cast<size_t>(n_q * n_kv));
    std::vector<int64_t> psum(static_cast<size_t>(n_q));
    pool_.parallel_for(n_q, 8, [&](int64_t t0, int64_t t1) {
      std::vector<int64_t> e(static_cast<size_t>(n_kv));
      for (int64_t t = t0; t < t1; ++t) {
        const int16_t* qt = q + t * hd;
        int64_t qs = 0;
        for (int64_t d = 0; d < hd; ++d) qs += qt[d];
        const int64_t len = causal_pos0 < 0 ? n_kv : std::min(n_kv, causal_pos0 + t + 1);
        int64_t* s = sc.data() + t * n_kv;
        int64_t mx = std::numeric_limits<int64_t>::min();
        for (int64_t j = 0; j < len; ++j) {
          s[j] += -int64_t(ek.zero) * qs - int64_t(eq.zero) * ksum[j] + hd * int64_t(eq.zero) * ek.zero;
          mx = std::max(mx, s[j]);
        }
        int64_t sum = 0;
        for (int64_t j = 0; j < len; ++j) {
          const int128 tq16 = quant::round_shift(int128(mx - s[j]) * L.m, L.shift);
          e[j] = quant::exp2_neg_q16(tq16 > (int128(1) << 40) ? (int64_t(1) << 40) : static_cast<int64_t>(tq16));
          sum += e[j];
        }
        int16_t* pt = p.data() + t * n_kv;
        int64_t ps = 0;
        for (int64_t j = 0; j < n_kv; ++j) {
          int64_t c = 0;
          if (j < len && sum > 0) c = std::min<int64_t>(((e[j] << 15) + sum / 2) / sum, kProbLevels - 1);
          pt[j] = static_cast<int16_t>(c);
          ps += c;
        }
        psum[t] = ps;
      }
    });
    std::vector<int64_t> o(static_cast<size_t>(n_q * hd));
    kernels::IntMatrix vm{hd, n_kv, vt, 32768, 0, nullptr};
    kernels::int_gemm(vm, p.data(), n_kv, n_q, o.data(), hd, pool_);
    for (int64_t t = 0; t < n_q; ++t)
      for (int64_t d = 0; d < hd; ++d) out[t * hd + d] = int128(o[t * hd + d]) - int128(ev.zero) * psum[t];
  }

  // W·(x − zx) (+ bias) → output codes with per-row multipliers.
  void matmul_out(const std::string& site, const quant::QuantizedMatrix& w, const Codes& x, int64_t n,
                  const float* bias, float* y) {
    const kernels::IntMatrix im = w.int_matrix();
    std::vector<int64_t> acc(static_cast<size_t>(n * w.rows));
    kernels::int_gemm(im, x.data(), w.cols, n, acc.data(), w.rows, pool_);
    auto& sums = row_sums(w);
    // Real scale per row: s_x · s_r (· 2^-15 with group multipliers).
    std::vector<double> sr(static_cast<size_t>(w.rows));
    for (int64_t r = 0; r < w.rows; ++r)
      sr[r] = static_cast<double>(x.enc.scale) * w.row_scale[r] * (w.mult.empty() ? 1.0 : 1.0 / 32768.0);
    // Biases are int32 at the accumulator's scale, as NPUs store them (saturating); 16-bit weights make that
    // scale ~2^-16 finer, so there the bias is an int64 (as W16A16 convolutions need). Folded with the
    // zero-point correction into one integer per row.
    const double bias_limit = w.scheme.bits <= 8 ? 2147483648.0 : 4.0e18;
    std::vector<int128> row_offset(static_cast<size_t>(w.rows));
    for (int64_t r = 0; r < w.rows; ++r) {
      row_offset[r] = -int128(x.enc.zero) * sums[r];
      if (bias && sr[r] > 0) row_offset[r] += std::llround(std::clamp(bias[r] / sr[r], -bias_limit, bias_limit - 1));
    }
    // The wide values are formed where they are read rather than stored (a 16-byte array the size of the
    // output would cost more than the matmul on large feature maps).
    const auto value = [&](int64_t i) { return int128(acc[i]) + row_offset[i % w.rows]; };
    write_per_channel(site, value, n, w.rows, 1.0f, sr, y);
  }

  const std::vector<int64_t>& row_sums(const quant::QuantizedMatrix& w) {
    auto& s = sums_[&w];
    if (s.empty()) {
      const kernels::IntMatrix im = w.int_matrix();
      const int64_t ng = im.mult ? w.cols / im.group : 1;
      std::vector<int64_t> g(static_cast<size_t>(w.rows * ng));
      kernels::int_gemm_group_sums(im, g.data());
      s.assign(static_cast<size_t>(w.rows), 0);
      for (int64_t r = 0; r < w.rows; ++r)
        for (int64_t j = 0; j < ng; ++j) s[r] += g[r * ng + j] * (im.mult ? im.mult[r * ng + j] : 1);
    }
    return s;
  }

  // ---- quantization points -------------------------------------------------------------------------------
  Codes codes(const std::string& p, const float* x, int64_t n) {
    Codes c{plan_->encoding(p, x, n), std::vector<int16_t>(static_cast<size_t>(n))};
    // Element-wise, so chunks give the same codes as one pass.
    pool_.parallel_for(n, 16384,
                       [&](int64_t i0, int64_t i1) { quant::to_codes(c.enc, x + i0, i1 - i0, c.c.data() + i0); });
    return c;
  }

  ActEncoding out_encoding(std::string_view site, double lo, double hi) {
    if (const auto* r = plan_->range(site)) return quant::encoding_for_range(r->first, r->second, plan_->act_scheme(site));
    return quant::encoding_for_range(static_cast<float>(lo), static_cast<float>(hi), plan_->act_scheme(site));
  }

  // v (real value v·s_v) → output codes of `site` → carrier floats.
  void write(std::string_view site, const int128* v, int64_t n, double sv, float* y) {
    double lo = 0, hi = 0;
    if (!plan_->range(site))
      for (int64_t i = 0; i < n; ++i) lo = std::min(lo, double(v[i]) * sv), hi = std::max(hi, double(v[i]) * sv);
    const ActEncoding e = out_encoding(site, lo, hi);
    const Multiplier M = make_multiplier(sv / e.scale);
    for (int64_t i = 0; i < n; ++i) y[i] = e.value(requantize(v[i], M, e.zero, e.qmin, e.qmax));
  }

  // The same with a real scale per channel (rows of `channels`): s = s_x · ch_scale[c].
  template <class Scales>
  void write_per_channel(std::string_view site, const int128* v, int64_t rows, int64_t channels, double s_x,
                         const Scales& ch_scale, float* y) {
    write_per_channel(site, [v](int64_t i) { return v[i]; }, rows, channels, s_x, ch_scale, y);
  }
  template <class Values, class Scales>
    requires std::is_invocable_r_v<int128, Values, int64_t>
  void write_per_channel(std::string_view site, const Values& v, int64_t rows, int64_t channels, double s_x,
                         const Scales& ch_scale, float* y) {
    double lo = 0, hi = 0;
    if (!plan_->range(site)) {
      // Dynamic range: per-block extremes in parallel, then combined (min/max do not depend on the order).
      constexpr int64_t kBlock = 64;
      const int64_t n_blocks = (rows + kBlock - 1) / kBlock;
      std::vector<std::pair<double, double>> part(static_cast<size_t>(n_blocks), {0.0, 0.0});
      pool_.parallel_for(n_blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
          for (int64_t r = b * kBlock; r < std::min(rows, (b + 1) * kBlock); ++r)
            for (int64_t c = 0; c < channels; ++c) {
              const double x = double(v(r * channels + c)) * s_x * ch_scale[c];
              part[b].first = std::min(part[b].first, x), part[b].second = std::max(part[b].second, x);
            }
      });
      for (const auto& [l, h] : part) lo = std::min(lo, l), hi = std::max(hi, h);
    }
    const ActEncoding e = out_encoding(site, lo, hi);
    std::vector<Multiplier> M(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) M[c] = make_multiplier(s_x * ch_scale[c] / e.scale);
    pool_.parallel_for(rows, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < channels; ++c)
          y[r * channels + c] = e.value(requantize(v(r * channels + c), M[c], e.zero, e.qmin, e.qmax));
    });
  }

  // Lookup table over every input code: out code = round(f(value(code)) / s_out) + zero, clamped.
  template <class F>
  const std::vector<int32_t>& table(const ActEncoding& in, const ActEncoding& out, F f, int fn_id) {
    const std::tuple<int, float, int32_t, int32_t, float, int32_t, int32_t> key{fn_id, in.scale, in.zero, in.qmin,
                                                                               out.scale, out.zero, out.qmax};
    // Calibrated encodings hit the same few tables every call; dynamic ones make new keys each call, so
    // the cache is bounded rather than growing with the number of decoded tokens.
    if (tables_.size() >= 512 && !tables_.count(key)) tables_.clear();
    auto& t = tables_[key];
    if (t.empty()) {
      t.resize(static_cast<size_t>(in.qmax - in.qmin + 1));
      for (int32_t c = in.qmin; c <= in.qmax; ++c) {
        const double r = std::floor(f(in.value(c)) / out.scale + 0.5) + out.zero;
        t[c - in.qmin] = static_cast<int32_t>(std::clamp<double>(r, out.qmin, out.qmax));
      }
    }
    return t;
  }

  // Parameter vectors (norm weights, layer scales) as int16 symmetric per tensor.
  const Codes& vector16(const float* v, int64_t n) {
    auto& c = vectors_[v];
    if (c.c.empty()) {
      float amax = 0;
      for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::abs(v[i]));
      c.enc = quant::encoding_for_range(-amax, amax, {16, true});
      c.c.resize(static_cast<size_t>(n));
      quant::to_codes(c.enc, v, n, c.c.data());
    }
    return c;
  }

  struct KernelCodes {
    std::vector<int16_t> codes;  // tap-major [taps][C] or [C][taps] as requested
    std::vector<double> scales;  // per channel
  };
  // Depthwise / short-conv kernel codes from the plan's tensor, or quantized here per channel.
  const KernelCodes& kernel_codes(std::string_view site, const float* kernel, int64_t channels, int64_t taps,
                                  bool tap_major) {
    auto& k = kernels_[std::string(site)];
    if (!k.codes.empty()) return k;
    const std::string tensor = kernel_tensor_of(*plan_, site);
    quant::QuantizedMatrix q;
    if (!tensor.empty() && plan_->weight(tensor).rows == channels && plan_->weight(tensor).cols == taps) {
      q = plan_->weight(tensor);
    } else {
      std::vector<float> rows(static_cast<size_t>(channels * taps));
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t t = 0; t < taps; ++t) rows[c * taps + t] = tap_major ? kernel[t * channels + c] : kernel[c * taps + t];
      q = quant::quantize_values(rows.data(), channels, taps,
                                 plan_->recipe().weights_for(tensor.empty() ? std::string(site) : tensor), false);
    }
    k.codes.resize(static_cast<size_t>(channels * taps));
    k.scales.resize(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      k.scales[c] = q.scales[c * q.n_groups()];
      for (int64_t t = 0; t < taps; ++t) (tap_major ? k.codes[t * channels + c] : k.codes[c * taps + t]) = q.codes[c * taps + t];
    }
    return k;
  }

  kernels::ThreadPool pool_;
  std::shared_ptr<const QuantPlan> plan_;
  std::unordered_map<const float*, Codes> vectors_;
  std::unordered_map<std::string, KernelCodes> kernels_;
  std::unordered_map<const quant::QuantizedMatrix*, std::vector<int64_t>> sums_;
  std::map<std::tuple<int, float, int32_t, int32_t, float, int32_t, int32_t>, std::vector<int32_t>> tables_;
};

}  // namespace

std::unique_ptr<Backend> make_npu_backend(int n_threads, std::shared_ptr<const QuantPlan> plan) {
  return std::make_unique<NpuBackend>(n_threads, std::move(plan));
}

}  // namespace autoneural::backend
