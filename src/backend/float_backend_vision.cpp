// FloatBackend's vision operations (MobileNetV5): convolutions, GELU, layer scale, multi-query attention
// and resizing over channels-last feature maps. Every output element is computed by one thread with a
// fixed order of operations, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"
#include "kernels/ops.h"
#include "backend/float_backend.h"

namespace autoneural::backend {

namespace {
// Output pixels per im2col chunk: large enough for the matmul to run at full speed, small enough that the
// chunk (pixels × channels·k²) stays in L2/L3 instead of materialising a 170 MB buffer at 768².
constexpr int64_t kConvChunk = 512;
}  // namespace

void FloatBackend::conv2d(const Weight& w, const float* bias, const float* x, const ConvGeometry& g, float* y) {
  const int64_t k = g.kernel, cin = g.channels, cols = cin * k * k, cout = w.matrix.rows;
  const int64_t n_out = g.out_h * g.out_w;
  if (w.matrix.cols != cols) throw Error(w.name + ": convolution weight has " + std::to_string(w.matrix.cols) +
                                         " columns, expected " + std::to_string(cols));
  if (im2col_.size() < static_cast<size_t>(kConvChunk * cols)) im2col_.resize(static_cast<size_t>(kConvChunk * cols));
  for (int64_t p0 = 0; p0 < n_out; p0 += kConvChunk) {
    const int64_t np = std::min(kConvChunk, n_out - p0);
    // Columns in the weight's order: input channel slowest, then ky, then kx (PyTorch [O, I, kh, kw]).
    pool_.parallel_for(np, 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t p = p0 + i, oy = p / g.out_w, ox = p % g.out_w;
        float* col = im2col_.data() + i * cols;
        for (int64_t ky = 0; ky < k; ++ky) {
          const int64_t iy = oy * g.stride - g.pad_top + ky;
          for (int64_t kx = 0; kx < k; ++kx) {
            const int64_t ix = ox * g.stride - g.pad_left + kx;
            const bool inside = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
            const float* src = inside ? x + (iy * g.in_w + ix) * cin : nullptr;
            for (int64_t c = 0; c < cin; ++c) col[(c * k + ky) * k + kx] = inside ? src[c] : 0.0f;
          }
        }
      }
    });
    kernels::matmul(w.matrix, im2col_.data(), cols, np, y + p0 * cout, cout, scratch_, pool_);
  }
  if (bias) add_bias(w.name, y, bias, n_out, cout);
}

void FloatBackend::depthwise_conv2d(std::string_view, const float* kernel, const float* x, const ConvGeometry& g,
                                    float* y) {
  kernels::DwConvArgs a;
  a.x = x;
  a.in_h = g.in_h;
  a.in_w = g.in_w;
  a.c = g.channels;
  a.w = kernel;
  a.k = g.kernel;
  a.stride = g.stride;
  a.pad_top = g.pad_top;
  a.pad_left = g.pad_left;
  a.out_w = g.out_w;
  a.y = y;
  const auto& kt = kernels::active_kernels();
  pool_.parallel_for(g.out_h, 1, [&](int64_t b, int64_t e) {
    kernels::DwConvArgs part = a;
    part.oy0 = b;
    part.oy1 = e;
    kt.depthwise_conv(part);
  });
}

void FloatBackend::gelu(std::string_view, const float* x, int64_t count, GeluKind kind, float* y) {
  const auto& kt = kernels::active_kernels();
  const auto fn = kind == GeluKind::Tanh ? kt.gelu_tanh : kt.gelu_erf;
  pool_.parallel_for(count, 1 << 14, [&](int64_t b, int64_t e) { fn(x + b, y + b, e - b); });
}

void FloatBackend::scale_channels(std::string_view, float* x, const float* scale, int64_t n, int64_t dim) {
  const auto& kt = kernels::active_kernels();
  pool_.parallel_for(n, 64, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) kt.mul(x + t * dim, scale, x + t * dim, dim);
  });
}

void FloatBackend::add_bias(std::string_view, float* x, const float* bias, int64_t n, int64_t dim) {
  pool_.parallel_for(n, 64, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) kernels::add(x + t * dim, bias, x + t * dim, dim);
  });
}

void FloatBackend::attention_mqa(std::string_view, const float* q, int64_t n_q, int64_t n_head, const float* k,
                                 const float* v, int64_t n_kv, int64_t hd, float scale, float* out) {
  attention_mqa_rounded(q, n_q, n_head, k, v, n_kv, hd, scale, 0, out);
}

void FloatBackend::attention_mqa_rounded(const float* q, int64_t n_q, int64_t n_head, const float* k, const float* v,
                                         int64_t n_kv, int64_t hd, float scale, int32_t prob_levels, float* out) {
  // Per head, two matmuls on the GEMM path: scores = Q_h·Kᵀ (K [n_kv][hd] is a weight matrix of n_kv rows)
  // and out_h = P·V (Vᵀ [hd][n_kv] as the weight matrix), with a row softmax in between. K and V are
  // shared by all heads (multi-query), so Vᵀ is built once.
  std::vector<float> vt(static_cast<size_t>(hd * n_kv)), scores(static_cast<size_t>(n_q * n_kv));
  for (int64_t j = 0; j < n_kv; ++j)
    for (int64_t d = 0; d < hd; ++d) vt[d * n_kv + j] = v[j * hd + d];
  const kernels::Matrix km{TensorType::F32, n_kv, hd, reinterpret_cast<const uint8_t*>(k),
                           static_cast<size_t>(hd) * sizeof(float)};
  const kernels::Matrix vm{TensorType::F32, hd, n_kv, reinterpret_cast<const uint8_t*>(vt.data()),
                           static_cast<size_t>(n_kv) * sizeof(float)};
  const auto& kt = kernels::active_kernels();
  const int64_t ld = n_head * hd;
  for (int64_t h = 0; h < n_head; ++h) {
    kernels::matmul(km, q + h * hd, ld, n_q, scores.data(), n_kv, scratch_, pool_);
    pool_.parallel_for(n_q, 16, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        float* srow = scores.data() + r * n_kv;
        float mx = -INFINITY;
        for (int64_t j = 0; j < n_kv; ++j) mx = std::max(mx, srow[j] *= scale);
        const float inv = 1.0f / kt.softmax_exp(srow, n_kv, mx);
        if (prob_levels > 0) {
          // The probabilities as the npu backend materialises them: multiples of 1/prob_levels, at most
          // (prob_levels - 1)/prob_levels.
          const float lv = static_cast<float>(prob_levels);
          for (int64_t j = 0; j < n_kv; ++j) srow[j] = std::min(std::floor(srow[j] * inv * lv + 0.5f), lv - 1) / lv;
        } else {
          for (int64_t j = 0; j < n_kv; ++j) srow[j] *= inv;
        }
      }
    });
    kernels::matmul(vm, scores.data(), n_kv, n_q, out + h * hd, ld, scratch_, pool_);
  }
}

void FloatBackend::resize2d(std::string_view, const float* x, int64_t in_h, int64_t in_w, int64_t c, int64_t out_h,
                            int64_t out_w, ResizeKind kind, float* y) {
  pool_.parallel_for(out_h, 1, [&](int64_t b, int64_t e) {
    for (int64_t oy = b; oy < e; ++oy)
      for (int64_t ox = 0; ox < out_w; ++ox) {
        float* o = y + (oy * out_w + ox) * c;
        switch (kind) {
          case ResizeKind::Nearest: {
            const int64_t iy = oy * in_h / out_h, ix = ox * in_w / out_w;
            std::copy(x + (iy * in_w + ix) * c, x + (iy * in_w + ix + 1) * c, o);
            break;
          }
          case ResizeKind::AveragePool: {
            const int64_t ky = in_h / out_h, kx = in_w / out_w;
            std::fill(o, o + c, 0.0f);
            for (int64_t dy = 0; dy < ky; ++dy)
              for (int64_t dx = 0; dx < kx; ++dx) kernels::add(o, x + ((oy * ky + dy) * in_w + ox * kx + dx) * c, o, c);
            const float inv = 1.0f / static_cast<float>(ky * kx);
            for (int64_t ch = 0; ch < c; ++ch) o[ch] *= inv;
            break;
          }
          case ResizeKind::Bilinear: {
            // PyTorch align_corners=False: source = (dst + 0.5)·in/out − 0.5, clamped at 0.
            auto coord = [](int64_t d, int64_t in, int64_t out, int64_t& i0, int64_t& i1, float& l) {
              float s = (static_cast<float>(d) + 0.5f) * static_cast<float>(in) / static_cast<float>(out) - 0.5f;
              s = std::max(s, 0.0f);
              i0 = std::min(static_cast<int64_t>(s), in - 1);
              i1 = std::min(i0 + 1, in - 1);
              l = s - static_cast<float>(i0);
            };
            int64_t y0, y1, x0, x1;
            float ly, lx;
            coord(oy, in_h, out_h, y0, y1, ly);
            coord(ox, in_w, out_w, x0, x1, lx);
            const float* p00 = x + (y0 * in_w + x0) * c;
            const float* p01 = x + (y0 * in_w + x1) * c;
            const float* p10 = x + (y1 * in_w + x0) * c;
            const float* p11 = x + (y1 * in_w + x1) * c;
            for (int64_t ch = 0; ch < c; ++ch)
              o[ch] = (1 - ly) * ((1 - lx) * p00[ch] + lx * p01[ch]) + ly * ((1 - lx) * p10[ch] + lx * p11[ch]);
            break;
          }
        }
      }
  });
}

}  // namespace autoneural::backend
