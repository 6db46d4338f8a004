// AVX2 + FMA vision kernels (see vision_kernels.h); same structure as vision_avx512.cpp, 8 lanes.
#include <immintrin.h>

#include <algorithm>

#include "kernels/vision_kernels.h"

namespace autoneural::kernels::vision_avx2 {

namespace {

inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-88.0f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // |n| <= 127 after the clamp, so 2^n is one normal float built from its exponent bits.
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

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
