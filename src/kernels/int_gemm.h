// Exact integer matrix products for the npu backend: int16 activation codes × integer weight codes.
//
//   acc[t][r] = Σ_g mult[r][g] · Σ_{k in group g} x[t][k] · w[r][k]      (mult = 1 without groups)
//
// The sums are exact (int32 partial sums only over chunks too short to overflow, then int64), so the result
// is the same for every instruction set, blocking and thread count: bit-true by construction.
#pragma once

#include <cstdint>

namespace autoneural::kernels {

class ThreadPool;

// Weights: one int16 code per weight (int4/int8 values sign-extended), row-major [rows][cols], row = output
// feature, |code| <= max_abs_code. Optional group-wise multipliers (0..65535) of `group` consecutive inputs.
struct IntMatrix {
  int64_t rows = 0, cols = 0;
  const int16_t* codes = nullptr;
  int32_t max_abs_code = 127;
  int64_t group = 0;              // 0 (or cols): one group per row
  const int32_t* mult = nullptr;  // rows × (cols / group), or nullptr
};

// x: int16 codes, token t at x + t·ldx; acc[t·ldacc + r].
void int_gemm(const IntMatrix& w, const int16_t* x, int64_t ldx, int64_t n_tokens, int64_t* acc, int64_t ldacc,
              kernels::ThreadPool& pool);
// Plain int64 loops: the reference the fast path is tested against.
void int_gemm_reference(const IntMatrix& w, const int16_t* x, int64_t ldx, int64_t n_tokens, int64_t* acc,
                        int64_t ldacc);
// Σ_k w[r][k] per row and group (rows × n_groups), for zero-point corrections.
void int_gemm_group_sums(const IntMatrix& w, int64_t* sums);

}  // namespace autoneural::kernels
