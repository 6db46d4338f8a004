// AVX-512 kernel table: float-weight matmuls and element-wise ops here, the integer (Q4_0 / Q8_0) kernels in
// gemm_q_avx512.cpp. Zen 4 and Intel cores both run these; masked loads and stores handle every tail, so
// no scalar remainder loops are needed.
#include "kernels/avx512_intrinsics.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernel_impl.h"
#include "kernels/kernels_x86.h"
#include "kernels/simd_exp_x86.h"

namespace autoneural::kernels::avx512 {

using x86::exp512;

namespace {

using x86::tail_mask;

// ---- float-weight matmul ------------------------------------------------------------------------------
// Dot-product form: an R x T tile of (row, token) accumulators, each 16 lanes wide along the columns and
// reduced once at the end. 4 x 4 keeps 16 accumulators + 8 operands in registers and gives >= 4
// independent FMA chains even for a single token (FMA latency 4, one zmm FMA per cycle). Every output uses
// the same lane-wise sequence whatever tile it lands in, so results do not depend on the partition.
struct LoadF32 {
  static __m512 load(const uint8_t* row, int64_t c, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + c);
  }
};
struct LoadF16 {
  static __m512 load(const uint8_t* row, int64_t c, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + c));
  }
};
struct LoadBF16 {
  static __m512 load(const uint8_t* row, int64_t c, __mmask16 m) {
    const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + c);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
};

template <class L, int R, int T>
void float_tile(const FGemmArgs& p, int64_t r0, int64_t t0) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const uint8_t* rows[R];
  for (int r = 0; r < R; ++r) rows[r] = p.w + (r0 + r) * p.w_stride;
  const float* xs[T];
  for (int t = 0; t < T; ++t) xs[t] = p.x + (t0 + t) * p.ldx;
  for (int64_t c = 0; c < p.cols; c += 16) {
    const __mmask16 m = tail_mask(p.cols - c);
    __m512 x[T];
    for (int t = 0; t < T; ++t) x[t] = _mm512_maskz_loadu_ps(m, xs[t] + c);
    for (int r = 0; r < R; ++r) {
      const __m512 w = L::load(rows[r], c, m);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(w, x[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) p.y[(t0 + t) * p.ldy + r0 + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <class L>
void gemm_float(const FGemmArgs& p) {
  using Fn = void (*)(const FGemmArgs&, int64_t, int64_t);
  static constexpr Fn kTiles[4][4] = {
      {float_tile<L, 1, 1>, float_tile<L, 1, 2>, float_tile<L, 1, 3>, float_tile<L, 1, 4>},
      {float_tile<L, 2, 1>, float_tile<L, 2, 2>, float_tile<L, 2, 3>, float_tile<L, 2, 4>},
      {float_tile<L, 3, 1>, float_tile<L, 3, 2>, float_tile<L, 3, 3>, float_tile<L, 3, 4>},
      {float_tile<L, 4, 1>, float_tile<L, 4, 2>, float_tile<L, 4, 3>, float_tile<L, 4, 4>}};
  for (int64_t r0 = 0; r0 < p.rows; r0 += 4) {
    const int64_t nr = std::min<int64_t>(4, p.rows - r0);
    for (int64_t t0 = 0; t0 < p.n_tok; t0 += 4) {
      const int64_t nt = std::min<int64_t>(4, p.n_tok - t0);
      kTiles[nr - 1][nt - 1](p, r0, t0);
    }
  }
}

void gemm_f32(const FGemmArgs& p) { gemm_float<LoadF32>(p); }
void gemm_f16(const FGemmArgs& p) { gemm_float<LoadF16>(p); }
void gemm_bf16(const FGemmArgs& p) { gemm_float<LoadBF16>(p); }

// ---- element-wise ------------------------------------------------------------------------------------


void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  // Squares rounded to float, then summed in double (as the scalar reference and ggml do).
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    const __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i);
    const __m512 sq = _mm512_mul_ps(v, v);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(sq)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sq), 1))));
  }
  const double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const __m512 scale = _mm512_set1_ps(1.0f / std::sqrt(mean + eps));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), scale);
    if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
    _mm512_mask_storeu_ps(y + i, m, v);
  }
}

void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 u = _mm512_maskz_loadu_ps(m, up + i);
    const __m512 s = _mm512_div_ps(g, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(s, u));
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(alpha);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m,
                          _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

float softmax_exp(float* x, int64_t n, float max) {
  const __m512 vmax = _mm512_set1_ps(max);
  __m512 s = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmax));
    _mm512_mask_storeu_ps(x + i, m, e);
    s = _mm512_mask_add_ps(s, m, s, e);
  }
  return _mm512_reduce_add_ps(s);
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(y + i, m, h);
  }
}

void f16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
  }
}

KernelTable make_table() {
  return AUTONEURAL_KERNEL_TABLE(Isa::avx512, kActTile, quantize_acts, rms_norm, vision_avx512, int_avx512);
}

}  // namespace

}  // namespace autoneural::kernels::avx512

namespace autoneural::kernels {
const KernelTable& avx512_kernel_table() {
  static const KernelTable table = avx512::make_table();
  return table;
}
}  // namespace autoneural::kernels
