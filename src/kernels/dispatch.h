// The one place where a SIMD instruction set is chosen.
//
// Every hot kernel exists once per ISA (kernels_scalar.cpp, *_avx2.cpp, *_avx512.cpp, *_neon.cpp) and is
// reached through a KernelTable of plain function pointers. active_isa() picks the best table the CPU
// supports, once; AUTONEURAL_ISA=scalar|avx2|avx512|neon forces a lower one (CI runs the suite with
// scalar). The scalar table is the reference that every SIMD table is tested against
// (tests/test_kernels*.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace autoneural::kernels {

enum class Isa { scalar, avx2, avx512, neon };

const char* isa_name(Isa isa);
// Whether this build and this CPU can run `isa`'s kernels.
bool isa_supported(Isa isa);
// The best supported ISA, lowered by AUTONEURAL_ISA if set. Computed once; an unknown or unsupported
// request falls back to the best supported ISA.
Isa active_isa();

// ---- quantized activations --------------------------------------------------------------------------
// Activations for the integer matmul kernels: each token row quantized to Q8_0 blocks exactly as ggml's
// reference quantizer does (d = amax/127 rounded to fp16, q = roundf(x/d)), stored token-interleaved so that
// a microkernel working on `tile` tokens reads them with constant offsets from one pointer:
//
//   token t = tile*G + l (group G, lane l), block b, element k = 4*g + j of the block (g < 8, j < 4):
//     qs  [G*n_blocks*32*tile + b*32*tile + g*4*tile + l*4 + j]
//     d   [G*n_blocks*tile + b*tile + l]       (the fp16-rounded block scale, as float)
//     corr[G*n_blocks*tile + b*tile + l]       (-offset * sum of the block's 32 q's)
//
// corr lets kernels that feed the weights to an unsigned-by-signed dot product instruction (vpdpbusd,
// pmaddubsw) as w + offset (offset 8 for Q4_0's nibbles, 128 for Q8_0) undo the offset exactly:
// dot(w + offset, a) + corr == dot(w, a). tile == 1 is the plain row-per-token layout. Lanes of a partial
// last group (tokens >= n_tok) are never written and never read: kernels only touch tokens < n_tok.
struct QuantizedActs {
  int8_t* qs = nullptr;
  float* d = nullptr;
  int32_t* corr = nullptr;
  int64_t n_blocks = 0;  // 32-element blocks per token
  int64_t n_tok = 0;
  int tile = 1;

  int64_t groups() const { return (n_tok + tile - 1) / tile; }
  size_t qs_bytes() const { return static_cast<size_t>(groups() * tile * n_blocks * 32); }
  size_t scale_count() const { return static_cast<size_t>(groups() * tile * n_blocks); }
};

// One tile of an integer matmul: y[t*ldy + r] = sum_b dw[r][b] * d[t][b] * dot(q_w[r][b], q_a[t][b])
// for r < rows, t < n_tok, where tokens are tok0 .. tok0+n_tok-1 of `act` and tok0 % act->tile == 0.
// Weights: `rows` rows of n_blocks Q4_0 or Q8_0 blocks, row r at w + r*w_stride.
struct QGemmArgs {
  const uint8_t* w = nullptr;
  size_t w_stride = 0;
  int64_t rows = 0;
  int64_t n_blocks = 0;
  const QuantizedActs* act = nullptr;
  int64_t tok0 = 0;
  int64_t n_tok = 0;
  float* y = nullptr;
  int64_t ldy = 0;
  // Optional hint: the rows (same stride) this thread will process after this call, for prefetching.
  const uint8_t* next_w = nullptr;
  int64_t next_rows = 0;
};

// One tile of a float matmul: y[t*ldy + r] = sum_c W[r][c] * x[t*ldx + c], W stored as F32, F16 or BF16
// (the function decides), row r at w + r*w_stride.
struct FGemmArgs {
  const uint8_t* w = nullptr;
  size_t w_stride = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  const float* x = nullptr;
  int64_t ldx = 0;
  int64_t n_tok = 0;
  float* y = nullptr;
  int64_t ldy = 0;
};

// Depthwise 2-D convolution over a channels-last map, output rows oy0..oy1-1 (all out_w columns):
//   y[(oy*out_w + ox)*c + ch] = sum_{ky,kx} w[(ky*k + kx)*c + ch] * x[(iy*in_w + ix)*c + ch],
//   iy = oy*stride - pad_top + ky, ix = ox*stride - pad_left + kx, taps outside the input read zero.
// y points at output row 0 (the kernel writes only rows oy0..oy1-1).
struct DwConvArgs {
  const float* x = nullptr;
  int64_t in_h = 0, in_w = 0, c = 0;
  const float* w = nullptr;
  int64_t k = 1, stride = 1, pad_top = 0, pad_left = 0;
  int64_t out_w = 0;
  int64_t oy0 = 0, oy1 = 0;
  float* y = nullptr;
};

// Packed float GEMM microkernel for many tokens (vision feature maps, long prefills): a panel holds 32
// weight rows transposed, panel[c*32 + r] = W[r0 + r][c0 + c] for c < kc, so that one vector load gives a
// column slice of 32 rows. For t < n_tok (at most kSgemmMaxTokens), r < rows (at most 32):
//   y[t*ldy + r] = (accumulate ? y[t*ldy + r] : 0) + Σ_{c<kc} panel[c*32 + r] · x[t*ldx + c]
// summed in increasing c, so a result does not depend on how the caller tiles tokens or rows.
inline constexpr int kSgemmPanelRows = 32;
inline constexpr int kSgemmMaxTokens = 12;
struct SgemmPanelArgs {
  const float* panel = nullptr;
  const float* x = nullptr;
  int64_t ldx = 0, n_tok = 0, kc = 0;
  float* y = nullptr;
  int64_t ldy = 0, rows = 0;
  bool accumulate = false;
};

// Exact integer GEMM tile for the npu backend (int_gemm.h): for r < rows, t < n_tok
//   acc[t*ldacc + r] = Σ_g mult[r*ld_mult + g] · Σ_{k in group g} x[t*ldx + k] · w[r*ldw + k]
// exactly, in int64 (without mult: one group, multiplier 1), for any int16 x and |w| <= max_abs_code <=
// kIntGemmMaxCode, so that a pair of products plus a partial sum fits the int32 lanes of multiply-add-pairs
// instructions until the kernel widens them (int_gemm_kernels.h). With mult, group is a multiple of
// kIntGemmGroupQuantum dividing cols, and group / 16 <= int_gemm_lane_steps(max_abs_code).
inline constexpr int32_t kIntGemmMaxCode = 32767;
inline constexpr int64_t kIntGemmGroupQuantum = 32;
struct IntGemmArgs {
  const int16_t* w = nullptr;
  int64_t ldw = 0, rows = 0, cols = 0;
  int32_t max_abs_code = 127;
  const int16_t* x = nullptr;
  int64_t ldx = 0, n_tok = 0;
  int64_t* acc = nullptr;
  int64_t ldacc = 0;
  const int32_t* mult = nullptr;  // optional group multipliers
  int64_t group = 0, ld_mult = 0;
};

struct KernelTable {
  Isa isa = Isa::scalar;
  // Token interleave of the QuantizedActs this table's integer kernels read (see above).
  int act_tile = 1;

  // Quantizes n_tok float rows (row i at x + i*ldx, act.n_blocks*32 values each) into tokens
  // tok0 .. tok0+n_tok-1 of `act` (buffers already sized), corr computed with `offset`. Bit-exact across
  // ISAs.
  void (*quantize_acts)(const float* x, int64_t ldx, int64_t tok0, int64_t n_tok, int32_t offset,
                        QuantizedActs& act) = nullptr;
  void (*gemm_q4_0)(const QGemmArgs& a) = nullptr;
  void (*gemm_q8_0)(const QGemmArgs& a) = nullptr;
  void (*gemm_f32)(const FGemmArgs& a) = nullptr;
  void (*gemm_f16)(const FGemmArgs& a) = nullptr;
  void (*gemm_bf16)(const FGemmArgs& a) = nullptr;

  // Element-wise kernels behind ops.h (same contracts).
  void (*rms_norm)(const float* x, const float* w, float* y, int64_t n, float eps) = nullptr;
  void (*silu_mul)(const float* gate, const float* up, float* y, int64_t n) = nullptr;
  void (*add)(const float* a, const float* b, float* out, int64_t n) = nullptr;
  float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
  void (*axpy)(float alpha, const float* x, float* y, int64_t n) = nullptr;
  float (*softmax_exp)(float* x, int64_t n, float max) = nullptr;
  void (*f32_to_f16_row)(const float* x, uint16_t* y, int64_t n) = nullptr;
  void (*f16_to_f32_row)(const uint16_t* x, float* y, int64_t n) = nullptr;

  // Vision kernels (MobileNetV5).
  void (*depthwise_conv)(const DwConvArgs& a) = nullptr;
  // y = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))); y may alias x.
  void (*gelu_tanh)(const float* x, float* y, int64_t n) = nullptr;
  // y = 0.5·x·(1 + erf(x/√2)); y may alias x.
  void (*gelu_erf)(const float* x, float* y, int64_t n) = nullptr;
  // y = a ⊙ b; y may alias a or b.
  void (*mul)(const float* a, const float* b, float* y, int64_t n) = nullptr;
  void (*sgemm_panel)(const SgemmPanelArgs& a) = nullptr;

  // Integer kernels of the npu backend.
  void (*int_gemm)(const IntGemmArgs& a) = nullptr;
};

// The table for `isa`; for an ISA this machine or build lacks, the best supported one below it (check
// .isa). Never null.
const KernelTable& kernel_table(Isa isa);
// kernel_table(active_isa()).
const KernelTable& active_kernels();

// Per-ISA tables, each defined in its own translation unit (only those compiled for this architecture
// exist; dispatch.cpp references them under the matching AUTONEURAL_X86 / AUTONEURAL_ARM64 guards).
const KernelTable& scalar_kernel_table();
const KernelTable& avx2_kernel_table();
const KernelTable& avx512_kernel_table();
const KernelTable& neon_kernel_table();

}  // namespace autoneural::kernels
