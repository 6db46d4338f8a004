// Element-wise and small vector kernels used by the model graphs and backends.
// (Signatures are used by src/runtime/float_backend.cpp; implementations in ops.cpp dispatch through
// the per-ISA kernel tables where it pays off, with the scalar table as reference.)
#pragma once

#include <cstdint>

namespace autoneural::kernels {

// y = x / sqrt(mean(x²) + eps) * w over n values (sum of squares accumulated in double, as ggml does).
// x and y may alias. w may be null (no weight).
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
// y = silu(gate) * up, silu(g) = g / (1 + exp(-g)). y may alias gate or up.
void silu_mul(const float* gate, const float* up, float* y, int64_t n);
// out = a + b. out may alias a or b.
void add(const float* a, const float* b, float* out, int64_t n);
// Σ a[i]·b[i]
float dot_f32(const float* a, const float* b, int64_t n);
// y += alpha · x
void axpy(float alpha, const float* x, float* y, int64_t n);
// x[i] = exp(x[i] - max) in place; returns Σ x[i] (after exponentiation).
float softmax_exp(float* x, int64_t n, float max);
// Full softmax in place: max, softmax_exp, then scaling by 1/Σ. -inf entries (masked positions) become 0;
// n must be > 0 and at least one entry finite.
void softmax(float* x, int64_t n);
// IEEE half <-> float rows (round to nearest even).
void f32_to_f16_row(const float* x, uint16_t* y, int64_t n);
void f16_to_f32_row(const uint16_t* x, float* y, int64_t n);

}  // namespace autoneural::kernels
