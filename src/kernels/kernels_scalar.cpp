// The scalar kernel table: plain C++ for every architecture, and the reference the SIMD tables are
// tested against. Written for clarity first; the loops are ordered so that the compiler's baseline
// auto-vectorization still makes AUTONEURAL_ISA=scalar runs of the test suite tolerable.
#include <cmath>
#include <vector>

#include "kernels/kernel_impl.h"

namespace autoneural::kernels {

namespace {

using detail::act_block;
using detail::act_scale_index;

// Integer dot product of one unpacked weight block with token t's block b.
inline int32_t block_dot(const int8_t* w, const int8_t* a, int tile) {
  int32_t s = 0;
  for (int g = 0; g < 8; ++g)
    for (int j = 0; j < 4; ++j) s += static_cast<int32_t>(w[4 * g + j]) * a[g * 4 * tile + j];
  return s;
}

// acc += (dw * da) * isum per block, blocks in order: the same per-block float step as the SIMD kernels
// (which fuse it into an FMA, hence the rounding-level differences the tests allow).
template <bool kQ4>
void gemm_q(const QGemmArgs& p) {
  const QuantizedActs& act = *p.act;
  std::vector<float> acc(static_cast<size_t>(p.n_tok));
  int8_t w[32];
  for (int64_t r = 0; r < p.rows; ++r) {
    const uint8_t* row = p.w + r * p.w_stride;
    for (auto& v : acc) v = 0.0f;
    for (int64_t b = 0; b < p.n_blocks; ++b) {
      const uint8_t* blk = row + b * (kQ4 ? kQ4_0Bytes : kQ8_0Bytes);
      if constexpr (kQ4) {
        detail::unpack_q4_0(blk, w);
      } else {
        std::memcpy(w, blk + 2, 32);
      }
      const float dw = load_fp16(blk);
      for (int64_t t = 0; t < p.n_tok; ++t) {
        const int64_t tok = p.tok0 + t;
        const int32_t isum = block_dot(w, act_block(act, tok, b), act.tile);
        acc[t] += static_cast<float>(isum) * (dw * act.d[act_scale_index(act, tok, b)]);
      }
    }
    for (int64_t t = 0; t < p.n_tok; ++t) p.y[t * p.ldy + r] = acc[t];
  }
}

void gemm_q4_0(const QGemmArgs& p) { gemm_q<true>(p); }
void gemm_q8_0(const QGemmArgs& p) { gemm_q<false>(p); }

// Float weights: each row is widened once and dotted with every token; sums in float with 8 partial
// accumulators (the compiler can vectorize this shape).
template <typename Load>
void gemm_float(const FGemmArgs& p, Load load) {
  std::vector<float> row(static_cast<size_t>(p.cols));
  for (int64_t r = 0; r < p.rows; ++r) {
    const uint8_t* src = p.w + r * p.w_stride;
    for (int64_t c = 0; c < p.cols; ++c) row[c] = load(src, c);
    for (int64_t t = 0; t < p.n_tok; ++t) {
      const float* x = p.x + t * p.ldx;
      float part[8] = {};
      int64_t c = 0;
      for (; c + 8 <= p.cols; c += 8)
        for (int j = 0; j < 8; ++j) part[j] += row[c + j] * x[c + j];
      for (; c < p.cols; ++c) part[0] += row[c] * x[c];
      p.y[t * p.ldy + r] = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    }
  }
}

void gemm_f32(const FGemmArgs& p) {
  gemm_float(p, [](const uint8_t* s, int64_t c) {
    float v;
    std::memcpy(&v, s + 4 * c, 4);
    return v;
  });
}
void gemm_f16(const FGemmArgs& p) {
  gemm_float(p, [](const uint8_t* s, int64_t c) { return load_fp16(s + 2 * c); });
}
void gemm_bf16(const FGemmArgs& p) {
  gemm_float(p, [](const uint8_t* s, int64_t c) { return bf16_to_f32(load_u16(s + 2 * c)); });
}

// ---- element-wise ------------------------------------------------------------------------------------

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  // ggml's rms_norm: squares in float, summed in double; scale in float; then the weight multiply.
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
  }
}

void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    y[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

float dot_f32(const float* a, const float* b, int64_t n) {
  double s = 0.0;  // the reference: accurate rather than fast
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

float softmax_exp(float* x, int64_t n, float max) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    s += x[i];
  }
  return static_cast<float>(s);
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}
void f16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_f32(x[i]);
}

KernelTable make_table() {
  return AUTONEURAL_KERNEL_TABLE(Isa::scalar, 1, detail::quantize_acts_scalar, rms_norm, vision_scalar,
                                 int_scalar);
}

}  // namespace

const KernelTable& scalar_kernel_table() {
  static const KernelTable table = make_table();
  return table;
}

}  // namespace autoneural::kernels
