// AVX2 + FMA vision kernels (see vision_kernels.h); same structure as vision_avx512.cpp, 8 lanes.
#include <immintrin.h>

#include <algorithm>

#include "kernels/simd_exp_x86.h"
#include "kernels/vision_kernels.h"

namespace autoneural::kernels::vision_avx2 {

namespace {

using x86::exp256;


}  // namespace

void depthwise_conv(const DwConvArgs& a) {
  const int64_t c = a.c;
  for (int64_t oy = a.oy0; oy < a.oy1; ++oy) {
    const int64_t ky0 = std::max<int64_t>(0, a.pad_top - oy * a.stride);
    const int64_t ky1 = std::min<int64_t>(a.k, a.in_h + a.pad_top - oy * a.stride);
    for (int64_t ox = 0; ox < a.out_w; ++ox) {
      const int64_t kx0 = std::max<int64_t>(0, a.pad_left - ox * a.stride);
      const int64_t kx1 = std::min<int64_t>(a.k, a.in_w + a.pad_left - ox * a.stride);
      float* y = a.y + (oy * a.out_w + ox) * c;
      const int64_t iy0 = oy * a.stride - a.pad_top, ix0 = ox * a.stride - a.pad_left;
      int64_t ch = 0;
      for (; ch + 32 <= c; ch += 32) {
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t ky = ky0; ky < ky1; ++ky)
          for (int64_t kx = kx0; kx < kx1; ++kx) {
            const float* x = a.x + ((iy0 + ky) * a.in_w + ix0 + kx) * c + ch;
            const float* w = a.w + (ky * a.k + kx) * c + ch;
            for (int j = 0; j < 4; ++j)
              acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(w + 8 * j), _mm256_loadu_ps(x + 8 * j), acc[j]);
          }
        for (int j = 0; j < 4; ++j) _mm256_storeu_ps(y + ch + 8 * j, acc[j]);
      }
      for (; ch < c; ++ch) {  // channel tail: the scalar reference's per-channel sum
        float acc = 0.0f;
        for (int64_t ky = ky0; ky < ky1; ++ky)
          for (int64_t kx = kx0; kx < kx1; ++kx)
            acc += a.w[(ky * a.k + kx) * c + ch] * a.x[((iy0 + ky) * a.in_w + ix0 + kx) * c + ch];
        y[ch] = acc;
      }
    }
  }
}

// gelu(x) = x − x / (exp(2u) + 1), u = sqrt(2/π)·(x + 0.044715·x³) (see vision_avx512.cpp).
void gelu_tanh(const float* x, float* y, int64_t n) {
  const __m256 k2 = _mm256_set1_ps(2.0f * 0.7978845608028654f), c3 = _mm256_set1_ps(0.044715f),
               one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 u2 = _mm256_mul_ps(k2, _mm256_fmadd_ps(_mm256_mul_ps(c3, v), _mm256_mul_ps(v, v), v));
    _mm256_storeu_ps(y + i, _mm256_sub_ps(v, _mm256_div_ps(v, _mm256_add_ps(exp256(u2), one))));
  }
  if (i < n) vision_scalar::gelu_tanh(x + i, y + i, n - i);
}

void gelu_erf(const float* x, float* y, int64_t n) { vision_scalar::gelu_erf(x, y, n); }

void mul(const float* a, const float* b, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  for (; i < n; ++i) y[i] = a[i] * b[i];
}

}  // namespace autoneural::kernels::vision_avx2

namespace autoneural::kernels::vision_avx2 {

namespace {

// NT (≤ 2) tokens × 32 rows: 4·NT ymm accumulators + 4 weight registers + a broadcast fit the 16 ymm.
template <int NT>
void sgemm_tile(const SgemmPanelArgs& a, int64_t t0) {
  __m256 acc[NT][4];
  alignas(32) float buf[kSgemmPanelRows];
  for (int t = 0; t < NT; ++t) {
    const float* y = a.y + (t0 + t) * a.ldy;
    for (int r = 0; r < kSgemmPanelRows; ++r) buf[r] = a.accumulate && r < a.rows ? y[r] : 0.0f;
    for (int j = 0; j < 4; ++j) acc[t][j] = _mm256_load_ps(buf + 8 * j);
  }
  const float* x = a.x + t0 * a.ldx;
  const float* w = a.panel;
  for (int64_t c = 0; c < a.kc; ++c, w += kSgemmPanelRows) {
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), w2 = _mm256_loadu_ps(w + 16),
                 w3 = _mm256_loadu_ps(w + 24);
    for (int t = 0; t < NT; ++t) {
      const __m256 xv = _mm256_broadcast_ss(x + t * a.ldx + c);
      acc[t][0] = _mm256_fmadd_ps(w0, xv, acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, xv, acc[t][1]);
      acc[t][2] = _mm256_fmadd_ps(w2, xv, acc[t][2]);
      acc[t][3] = _mm256_fmadd_ps(w3, xv, acc[t][3]);
    }
  }
  for (int t = 0; t < NT; ++t) {
    float* y = a.y + (t0 + t) * a.ldy;
    for (int j = 0; j < 4; ++j) _mm256_store_ps(buf + 8 * j, acc[t][j]);
    for (int64_t r = 0; r < a.rows; ++r) y[r] = buf[r];
  }
}

}  // namespace

void sgemm_panel(const SgemmPanelArgs& a) {
  for (int64_t t0 = 0; t0 < a.n_tok; t0 += 2) {
    if (a.n_tok - t0 >= 2) sgemm_tile<2>(a, t0);
    else sgemm_tile<1>(a, t0);
  }
}

}  // namespace autoneural::kernels::vision_avx2
