// Element-wise kernels: thin wrappers over the active kernel table (contracts in ops.h; the scalar
// versions in kernels_scalar.cpp are the reference).
//
// rms_norm accumulates the sum of squares in double (squares rounded to float first, as ggml does):
// hidden sizes are a few thousand, where a float sum would lose ~3 digits to a naive loop, and the norm
// runs once per token and layer, so the wider accumulator costs nothing measurable.
#include "kernels/ops.h"

#include "kernels/dispatch.h"

namespace autoneural::kernels {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  active_kernels().rms_norm(x, w, y, n, eps);
}
void silu_mul(const float* gate, const float* up, float* y, int64_t n) { active_kernels().silu_mul(gate, up, y, n); }
void add(const float* a, const float* b, float* out, int64_t n) { active_kernels().add(a, b, out, n); }
float dot_f32(const float* a, const float* b, int64_t n) { return active_kernels().dot_f32(a, b, n); }
void axpy(float alpha, const float* x, float* y, int64_t n) { active_kernels().axpy(alpha, x, y, n); }
float softmax_exp(float* x, int64_t n, float max) { return active_kernels().softmax_exp(x, n, max); }
void softmax(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  const float inv = 1.0f / active_kernels().softmax_exp(x, n, mx);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}
void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) { active_kernels().f32_to_f16_row(x, y, n); }
void f16_to_f32_row(const uint16_t* x, float* y, int64_t n) { active_kernels().f16_to_f32_row(x, y, n); }

}  // namespace autoneural::kernels
