// AVX2 + FMA + F16C kernel table: float-weight matmuls and element-wise ops here, the integer kernels in
// gemm_q_avx2.cpp. AVX2 has no masked 16-bit loads, so column tails go through a small zero-padded
// buffer, keeping every output's lane-wise operation sequence the same as in the main loop.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel_impl.h"
#include "kernels/kernels_x86.h"
#include "kernels/simd_exp_x86.h"

namespace autoneural::kernels::avx2 {

using x86::exp256;

namespace {

// ---- float-weight matmul ------------------------------------------------------------------------------
// R x T tile of 8-lane accumulators (4 x 2: 8 accumulators + 2 activation + 1 weight register of 16),
// four independent FMA chains per token.
struct LoadF32 {
  static __m256 load(const uint8_t* row, int64_t c) { return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c); }
  static float one(const uint8_t* row, int64_t c) {
    float v;
    std::memcpy(&v, row + 4 * c, 4);
    return v;
  }
};
struct LoadF16 {
  static __m256 load(const uint8_t* row, int64_t c) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * c)));
  }
  static float one(const uint8_t* row, int64_t c) { return load_fp16(row + 2 * c); }
};
struct LoadBF16 {
  static __m256 load(const uint8_t* row, int64_t c) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * c));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float one(const uint8_t* row, int64_t c) { return bf16_to_f32(load_u16(row + 2 * c)); }
};

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <class L, int R, int T>
void float_tile(const FGemmArgs& p, int64_t r0, int64_t t0) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const uint8_t* rows[R];
  for (int r = 0; r < R; ++r) rows[r] = p.w + (r0 + r) * p.w_stride;
  const float* xs[T];
  for (int t = 0; t < T; ++t) xs[t] = p.x + (t0 + t) * p.ldx;
  const int64_t full = p.cols & ~int64_t{7};
  for (int64_t c = 0; c < full; c += 8) {
    __m256 x[T];
    for (int t = 0; t < T; ++t) x[t] = _mm256_loadu_ps(xs[t] + c);
    for (int r = 0; r < R; ++r) {
      const __m256 w = L::load(rows[r], c);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(w, x[t], acc[r][t]);
    }
  }
  if (full < p.cols) {
    const int64_t n = p.cols - full;
    __m256 x[T];
    for (int t = 0; t < T; ++t) {
      alignas(32) float tmp[8] = {};
      std::memcpy(tmp, xs[t] + full, static_cast<size_t>(n) * 4);
      x[t] = _mm256_load_ps(tmp);
    }
    for (int r = 0; r < R; ++r) {
      alignas(32) float tmp[8] = {};
      for (int64_t i = 0; i < n; ++i) tmp[i] = L::one(rows[r], full + i);
      const __m256 w = _mm256_load_ps(tmp);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(w, x[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) p.y[(t0 + t) * p.ldy + r0 + r] = hsum(acc[r][t]);
}

template <class L>
void gemm_float(const FGemmArgs& p) {
  using Fn = void (*)(const FGemmArgs&, int64_t, int64_t);
  static constexpr Fn kTiles[4][2] = {{float_tile<L, 1, 1>, float_tile<L, 1, 2>},
                                      {float_tile<L, 2, 1>, float_tile<L, 2, 2>},
                                      {float_tile<L, 3, 1>, float_tile<L, 3, 2>},
                                      {float_tile<L, 4, 1>, float_tile<L, 4, 2>}};
  for (int64_t r0 = 0; r0 < p.rows; r0 += 4) {
    const int64_t nr = std::min<int64_t>(4, p.rows - r0);
    for (int64_t t0 = 0; t0 < p.n_tok; t0 += 2) {
      const int64_t nt = std::min<int64_t>(2, p.n_tok - t0);
      kTiles[nr - 1][nt - 1](p, r0, t0);
    }
  }
}

void gemm_f32(const FGemmArgs& p) { gemm_float<LoadF32>(p); }
void gemm_f16(const FGemmArgs& p) { gemm_float<LoadF16>(p); }
void gemm_bf16(const FGemmArgs& p) { gemm_float<LoadBF16>(p); }

// ---- element-wise ------------------------------------------------------------------------------------


// Runs f over n floats in 8-wide steps; the tail is staged through zero-padded buffers.
template <int kIn, typename F>
void map8(const float* const in[kIn], float* out, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v[kIn];
    for (int k = 0; k < kIn; ++k) v[k] = _mm256_loadu_ps(in[k] + i);
    _mm256_storeu_ps(out + i, f(v));
  }
  if (i < n) {
    const size_t rest = static_cast<size_t>(n - i) * 4;
    __m256 v[kIn];
    for (int k = 0; k < kIn; ++k) {
      alignas(32) float tmp[8] = {};
      std::memcpy(tmp, in[k] + i, rest);
      v[k] = _mm256_load_ps(tmp);
    }
    alignas(32) float res[8];
    _mm256_store_ps(res, f(v));
    std::memcpy(out + i, res, rest);
  }
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 sq = _mm256_mul_ps(v, v);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
  }
  alignas(32) double part[4];
  _mm256_store_pd(part, _mm256_add_pd(s0, s1));
  double sum = (part[0] + part[1]) + (part[2] + part[3]);
  for (; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  const __m256 vs = _mm256_set1_ps(scale);
  if (w) {
    const float* in[2] = {x, w};
    map8<2>(in, y, n, [&](const __m256* v) { return _mm256_mul_ps(_mm256_mul_ps(v[0], vs), v[1]); });
  } else {
    const float* in[1] = {x};
    map8<1>(in, y, n, [&](const __m256* v) { return _mm256_mul_ps(v[0], vs); });
  }
}

void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const float* in[2] = {gate, up};
  map8<2>(in, y, n, [&](const __m256* v) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), v[0]));
    return _mm256_mul_ps(_mm256_div_ps(v[0], _mm256_add_ps(one, e)), v[1]);
  });
}

void add(const float* a, const float* b, float* out, int64_t n) {
  const float* in[2] = {a, b};
  map8<2>(in, out, n, [](const __m256* v) { return _mm256_add_ps(v[0], v[1]); });
}

float dot_f32(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(alpha);
  const float* in[2] = {x, y};
  map8<2>(in, y, n, [&](const __m256* v) { return _mm256_fmadd_ps(va, v[0], v[1]); });
}

float softmax_exp(float* x, int64_t n, float max) {
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 s = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    s = _mm256_add_ps(s, e);
  }
  float sum = hsum(s);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  return sum;
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}

void f16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < n; ++i) y[i] = fp16_to_f32(x[i]);
}

KernelTable make_table() {
  return AUTONEURAL_KERNEL_TABLE(Isa::avx2, kActTile, quantize_acts, rms_norm, vision_avx2, int_avx2);
}

}  // namespace

}  // namespace autoneural::kernels::avx2

namespace autoneural::kernels {
const KernelTable& avx2_kernel_table() {
  static const KernelTable table = avx2::make_table();
  return table;
}
}  // namespace autoneural::kernels
