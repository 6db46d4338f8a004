// AArch64 Advanced SIMD kernel table (baseline ARMv8.0-A: no dot-product extension is assumed).
//
// Integer matmul: dot-product form, activations in the plain row-per-token layout (act_tile 1). Each weight
// block is unpacked once to signed bytes and multiplied with up to four tokens: vmull/vmlal_s8 produce
// int16 sums of two products (|.| <= 2*128*127 = 32512, no overflow even for Q8_0), vpadalq_s16 widens to
// int32 and one horizontal add gives the block's exact integer dot product. The float step per block is
// the scalar reference's acc += isum * (dw * da), so results do not depend on how rows or tokens are tiled.
// rms_norm keeps the scalar reference (it runs once per token and layer).
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel_impl.h"

namespace autoneural::kernels {

namespace {

constexpr int kTok = 4;  // tokens per weight unpack: 4 x 2 int16x8 partial products stay in registers

// Signed weights of one Q4_0 / Q8_0 block: w0 = elements 0..15, w1 = elements 16..31.
template <bool kQ4>
inline void load_weights(const uint8_t* blk, int8x16_t& w0, int8x16_t& w1) {
  if constexpr (kQ4) {
    const uint8x16_t q = vld1q_u8(blk + 2);
    const int8x16_t eight = vdupq_n_s8(8);
    w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), eight);
    w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
  } else {
    w0 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 2));
    w1 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 18));
  }
}

inline int32_t block_dot(int8x16_t w0, int8x16_t w1, const int8_t* a) {
  const int8x16_t a0 = vld1q_s8(a), a1 = vld1q_s8(a + 16);
  int16x8_t p0 = vmull_s8(vget_low_s8(w0), vget_low_s8(a0));
  p0 = vmlal_high_s8(p0, w0, a0);
  int16x8_t p1 = vmull_s8(vget_low_s8(w1), vget_low_s8(a1));
  p1 = vmlal_high_s8(p1, w1, a1);
  return vaddvq_s32(vpadalq_s16(vpaddlq_s16(p0), p1));
}

template <bool kQ4>
void gemm_q(const QGemmArgs& p) {
  constexpr int kBytes = kQ4 ? kQ4_0Bytes : kQ8_0Bytes;
  const QuantizedActs& act = *p.act;  // tile 1: token t's block b is 32 contiguous bytes
  for (int64_t r = 0; r < p.rows; ++r) {
    const uint8_t* row = p.w + r * p.w_stride;
    for (int64_t t0 = 0; t0 < p.n_tok; t0 += kTok) {
      const int nt = static_cast<int>(std::min<int64_t>(kTok, p.n_tok - t0));
      float acc[kTok] = {};
      for (int64_t b = 0; b < p.n_blocks; ++b) {
        const uint8_t* blk = row + b * kBytes;
        int8x16_t w0, w1;
        load_weights<kQ4>(blk, w0, w1);
        const float dw = load_fp16(blk);
        for (int t = 0; t < nt; ++t) {
          const int64_t tok = p.tok0 + t0 + t;
          const int32_t isum = block_dot(w0, w1, detail::act_block(act, tok, b));
          acc[t] += static_cast<float>(isum) * (dw * act.d[detail::act_scale_index(act, tok, b)]);
        }
      }
      for (int t = 0; t < nt; ++t) p.y[(t0 + t) * p.ldy + r] = acc[t];
    }
  }
}

void gemm_q4_0(const QGemmArgs& p) { gemm_q<true>(p); }
void gemm_q8_0(const QGemmArgs& p) { gemm_q<false>(p); }

void quantize_acts(const float* x, int64_t ldx, int64_t tok0, int64_t n_tok, int32_t offset, QuantizedActs& act) {
  int8_t q[32];
  for (int64_t i = 0; i < n_tok; ++i) {
    const float* row = x + i * ldx;
    for (int64_t b = 0; b < act.n_blocks; ++b) {
      float32x4_t v[8];
      for (int j = 0; j < 8; ++j) v[j] = vld1q_f32(row + b * 32 + 4 * j);
      float32x4_t m = vabsq_f32(v[0]);
      for (int j = 1; j < 8; ++j) m = vmaxq_f32(m, vabsq_f32(v[j]));
      const float amax = vmaxvq_f32(m);
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      for (int j = 0; j < 8; j += 2) {
        // vcvtaq rounds to nearest with ties away from zero: exactly roundf.
        const int32x4_t q0 = vcvtaq_s32_f32(vmulq_n_f32(v[j], id));
        const int32x4_t q1 = vcvtaq_s32_f32(vmulq_n_f32(v[j + 1], id));
        vst1_s8(q + 4 * j, vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))));
      }
      detail::store_act_block(act, tok0 + i, b, q, fp16_to_f32(f32_to_fp16(d)), offset);
    }
  }
}

// ---- float-weight matmul: R x T tiles of 4-lane accumulators, scalar column tail ----------------------
struct LoadF32 {
  static float32x4_t load(const uint8_t* row, int64_t c) { return vld1q_f32(reinterpret_cast<const float*>(row) + c); }
  static float one(const uint8_t* row, int64_t c) {
    float v;
    std::memcpy(&v, row + 4 * c, 4);
    return v;
  }
};
struct LoadF16 {
  static float32x4_t load(const uint8_t* row, int64_t c) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(row) + c)));
  }
  static float one(const uint8_t* row, int64_t c) { return load_fp16(row + 2 * c); }
};
struct LoadBF16 {
  static float32x4_t load(const uint8_t* row, int64_t c) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(row) + c), 16));
  }
  static float one(const uint8_t* row, int64_t c) { return bf16_to_f32(load_u16(row + 2 * c)); }
};

template <class L, int R, int T>
void float_tile(const FGemmArgs& p, int64_t r0, int64_t t0) {
  float32x4_t acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = vdupq_n_f32(0.0f);
  const int64_t full = p.cols & ~int64_t{3};
  for (int64_t c = 0; c < full; c += 4) {
    float32x4_t x[T];
    for (int t = 0; t < T; ++t) x[t] = vld1q_f32(p.x + (t0 + t) * p.ldx + c);
    for (int r = 0; r < R; ++r) {
      const float32x4_t w = L::load(p.w + (r0 + r) * p.w_stride, c);
      for (int t = 0; t < T; ++t) acc[r][t] = vfmaq_f32(acc[r][t], w, x[t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      float s = vaddvq_f32(acc[r][t]);
      for (int64_t c = full; c < p.cols; ++c) s += L::one(p.w + (r0 + r) * p.w_stride, c) * p.x[(t0 + t) * p.ldx + c];
      p.y[(t0 + t) * p.ldy + r0 + r] = s;
    }
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
    for (int64_t t0 = 0; t0 < p.n_tok; t0 += 2) kTiles[nr - 1][std::min<int64_t>(2, p.n_tok - t0) - 1](p, r0, t0);
  }
}

void gemm_f32(const FGemmArgs& p) { gemm_float<LoadF32>(p); }
void gemm_f16(const FGemmArgs& p) { gemm_float<LoadF16>(p); }
void gemm_bf16(const FGemmArgs& p) { gemm_float<LoadBF16>(p); }

// ---- element-wise ------------------------------------------------------------------------------------

// exp as in kernels_avx2.cpp: Cody-Waite reduction, degree-7 polynomial, 2^n as two exact factors.
inline float32x4_t exp4(float32x4_t x) {
  x = vminq_f32(vdupq_n_f32(128.0f), vmaxq_f32(vdupq_n_f32(-150.0f), x));
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145751953125f));
  r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187e-06f));
  float32x4_t p = vdupq_n_f32(1.0f / 5040);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 720), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
  p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  const int32x4_t ni = vcvtq_s32_f32(n);
  const int32x4_t n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
  const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, vdupq_n_s32(127)), 23));
  const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, vdupq_n_s32(127)), 23));
  return vmulq_f32(vmulq_f32(p, s1), s2);
}

void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t g = vld1q_f32(gate + i);
    const float32x4_t s = vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), exp4(vnegq_f32(g))));
    vst1q_f32(y + i, vmulq_f32(s, vld1q_f32(up + i)));
  }
  for (; i < n; ++i) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void add(const float* a, const float* b, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(out + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
  for (; i < n; ++i) out[i] = a[i] + b[i];
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
  }
  float s = vaddvq_f32(vaddq_f32(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), alpha));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

float softmax_exp(float* x, int64_t n, float max) {
  float32x4_t s = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(max)));
    vst1q_f32(x + i, e);
    s = vaddq_f32(s, e);
  }
  float sum = vaddvq_f32(s);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  return sum;
}

// The FPCR default rounding mode is round to nearest even, as the reference conversions.
void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  for (; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}

void f16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i))));
  for (; i < n; ++i) y[i] = fp16_to_f32(x[i]);
}

// rms_norm stays the scalar reference.
KernelTable make_table() {
  return AUTONEURAL_KERNEL_TABLE(Isa::neon, 1, quantize_acts, scalar_kernel_table().rms_norm, vision_scalar,
                                 int_scalar);
}

}  // namespace

const KernelTable& neon_kernel_table() {
  static const KernelTable table = make_table();
  return table;
}

}  // namespace autoneural::kernels
