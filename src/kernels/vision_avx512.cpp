// AVX-512 vision kernels (see vision_kernels.h).
#include "kernels/avx512_intrinsics.h"

#include <algorithm>

#include "kernels/simd_exp_x86.h"
#include "kernels/vision_kernels.h"

namespace autoneural::kernels::vision_avx512 {

namespace {

using x86::exp512;

using x86::tail_mask;


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
      // Four 16-channel accumulators at a time keep four independent FMA chains in flight.
      int64_t ch = 0;
      for (; ch + 64 <= c; ch += 64) {
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t ky = ky0; ky < ky1; ++ky)
          for (int64_t kx = kx0; kx < kx1; ++kx) {
            const float* x = a.x + ((iy0 + ky) * a.in_w + ix0 + kx) * c + ch;
            const float* w = a.w + (ky * a.k + kx) * c + ch;
            for (int j = 0; j < 4; ++j)
              acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(w + 16 * j), _mm512_loadu_ps(x + 16 * j), acc[j]);
          }
        for (int j = 0; j < 4; ++j) _mm512_storeu_ps(y + ch + 16 * j, acc[j]);
      }
      for (; ch < c; ch += 16) {
        const __mmask16 m = tail_mask(c - ch);
        __m512 acc = _mm512_setzero_ps();
        for (int64_t ky = ky0; ky < ky1; ++ky)
          for (int64_t kx = kx0; kx < kx1; ++kx) {
            const float* x = a.x + ((iy0 + ky) * a.in_w + ix0 + kx) * c + ch;
            const float* w = a.w + (ky * a.k + kx) * c + ch;
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w), _mm512_maskz_loadu_ps(m, x), acc);
          }
        _mm512_mask_storeu_ps(y + ch, m, acc);
      }
    }
  }
}

// gelu(x) = 0.5·x·(1 + tanh(u)) = x − x / (exp(2u) + 1), u = sqrt(2/π)·(x + 0.044715·x³); exp saturates
// cleanly at both ends (x for large x, 0 for very negative x).
void gelu_tanh(const float* x, float* y, int64_t n) {
  const __m512 k2 = _mm512_set1_ps(2.0f * 0.7978845608028654f), c3 = _mm512_set1_ps(0.044715f),
               one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512 u2 = _mm512_mul_ps(k2, _mm512_fmadd_ps(_mm512_mul_ps(c3, v), _mm512_mul_ps(v, v), v));
    const __m512 e = exp512(u2);
    _mm512_mask_storeu_ps(y + i, m, _mm512_sub_ps(v, _mm512_div_ps(v, _mm512_add_ps(e, one))));
  }
}

void gelu_erf(const float* x, float* y, int64_t n) { vision_scalar::gelu_erf(x, y, n); }

void mul(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

}  // namespace autoneural::kernels::vision_avx512

namespace autoneural::kernels::vision_avx512 {

namespace {

// NT tokens × 32 rows: 2·NT zmm accumulators, 2 weight loads and NT broadcasts per column.
template <int NT>
void sgemm_tile(const SgemmPanelArgs& a, int64_t t0) {
  __m512 acc[NT][2];
  const __mmask16 m0 = tail_mask(a.rows), m1 = tail_mask(a.rows - 16);
  for (int t = 0; t < NT; ++t) {
    float* y = a.y + (t0 + t) * a.ldy;
    acc[t][0] = a.accumulate ? _mm512_maskz_loadu_ps(m0, y) : _mm512_setzero_ps();
    acc[t][1] = a.accumulate && a.rows > 16 ? _mm512_maskz_loadu_ps(m1, y + 16) : _mm512_setzero_ps();
  }
  const float* x = a.x + t0 * a.ldx;
  const float* w = a.panel;
  for (int64_t c = 0; c < a.kc; ++c, w += kSgemmPanelRows) {
    const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
    for (int t = 0; t < NT; ++t) {
      const __m512 xv = _mm512_set1_ps(x[t * a.ldx + c]);
      acc[t][0] = _mm512_fmadd_ps(w0, xv, acc[t][0]);
      acc[t][1] = _mm512_fmadd_ps(w1, xv, acc[t][1]);
    }
  }
  for (int t = 0; t < NT; ++t) {
    float* y = a.y + (t0 + t) * a.ldy;
    _mm512_mask_storeu_ps(y, m0, acc[t][0]);
    if (a.rows > 16) _mm512_mask_storeu_ps(y + 16, m1, acc[t][1]);
  }
}

}  // namespace

void sgemm_panel(const SgemmPanelArgs& a) {
  using Fn = void (*)(const SgemmPanelArgs&, int64_t);
  static constexpr Fn kTiles[13] = {nullptr,        sgemm_tile<1>, sgemm_tile<2>,  sgemm_tile<3>, sgemm_tile<4>,
                                    sgemm_tile<5>,  sgemm_tile<6>, sgemm_tile<7>,  sgemm_tile<8>, sgemm_tile<9>,
                                    sgemm_tile<10>, sgemm_tile<11>, sgemm_tile<12>};
  for (int64_t t0 = 0; t0 < a.n_tok; t0 += kSgemmMaxTokens)
    kTiles[std::min<int64_t>(kSgemmMaxTokens, a.n_tok - t0)](a, t0);
}

}  // namespace autoneural::kernels::vision_avx512
