// Scalar reference of the vision kernels (see vision_kernels.h); the SIMD versions are tested against these.
#include <cmath>

#include "kernels/vision_kernels.h"

namespace autoneural::kernels::vision_scalar {

void depthwise_conv(const DwConvArgs& a) {
  const int64_t c = a.c;
  for (int64_t oy = a.oy0; oy < a.oy1; ++oy)
    for (int64_t ox = 0; ox < a.out_w; ++ox) {
      float* y = a.y + (oy * a.out_w + ox) * c;
      for (int64_t ch = 0; ch < c; ++ch) y[ch] = 0.0f;
      for (int64_t ky = 0; ky < a.k; ++ky) {
        const int64_t iy = oy * a.stride - a.pad_top + ky;
        if (iy < 0 || iy >= a.in_h) continue;
        for (int64_t kx = 0; kx < a.k; ++kx) {
          const int64_t ix = ox * a.stride - a.pad_left + kx;
          if (ix < 0 || ix >= a.in_w) continue;
          const float* x = a.x + (iy * a.in_w + ix) * c;
          const float* w = a.w + (ky * a.k + kx) * c;
          for (int64_t ch = 0; ch < c; ++ch) y[ch] += w[ch] * x[ch];
        }
      }
    }
}

void gelu_tanh(const float* x, float* y, int64_t n) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
  }
}

void gelu_erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.7071067811865476f));
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

}  // namespace autoneural::kernels::vision_scalar

namespace autoneural::kernels::vision_scalar {

void sgemm_panel(const SgemmPanelArgs& a) {
  for (int64_t t = 0; t < a.n_tok; ++t) {
    float acc[kSgemmPanelRows];
    float* y = a.y + t * a.ldy;
    for (int64_t r = 0; r < kSgemmPanelRows; ++r) acc[r] = a.accumulate && r < a.rows ? y[r] : 0.0f;
    const float* x = a.x + t * a.ldx;
    for (int64_t c = 0; c < a.kc; ++c) {
      const float* w = a.panel + c * kSgemmPanelRows;
      for (int64_t r = 0; r < kSgemmPanelRows; ++r) acc[r] = std::fma(w[r], x[c], acc[r]);
    }
    for (int64_t r = 0; r < a.rows; ++r) y[r] = acc[r];
  }
}

}  // namespace autoneural::kernels::vision_scalar
