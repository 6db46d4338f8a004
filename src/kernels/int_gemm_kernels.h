// The exact integer GEMM tile of each ISA (KernelTable::int_gemm, contract in dispatch.h): int16 activation
// codes times int16 weight codes, summed exactly into int64. Each ISA's function lives in its own namespace
// and file (int_gemm_scalar.cpp, int_gemm_avx2.cpp, int_gemm_avx512.cpp); NEON takes the scalar one, which
// the compiler vectorizes.
//
// Why the SIMD kernels are exact: a multiply-add-pairs instruction (vpmaddwd / vpdpwssd) adds two int16
// products into an int32 lane. With |x| <= 32768 and |w| <= m <= 32767 one pair is at most 2·32768·m < 2^31,
// so a lane may take int_gemm_lane_steps(m) pairs before it must be widened into int64 — the kernels widen
// exactly that often (for 8-bit weights every 257 steps, i.e. 8224 inputs at 32 per step: almost never).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/dispatch.h"

namespace autoneural::kernels {

// How many pair sums one int32 lane can accumulate without overflow (>= 1 for m <= kIntGemmMaxCode).
inline int64_t int_gemm_lane_steps(int32_t max_abs_code) {
  const int64_t pair = int64_t(2) * 32768 * std::max<int32_t>(max_abs_code, 1);
  return std::max<int64_t>(1, (int64_t(1) << 31) / pair - 1);
}

// Exact dot product of n int16 pairs: int32 partial sums over runs short enough not to overflow (the
// compiler turns them into multiply-add-pairs instructions), int64 across runs.
inline int64_t int16_dot_exact(const int16_t* a, const int16_t* b, int64_t n, int32_t max_abs_code) {
  const int64_t run = 2 * int_gemm_lane_steps(max_abs_code);  // single products: twice the pair count
  int64_t total = 0;
  if (run >= 8) {
    for (int64_t k0 = 0; k0 < n; k0 += run) {
      const int64_t k1 = std::min(n, k0 + run);
      int32_t s = 0;
      for (int64_t k = k0; k < k1; ++k) s += int32_t(a[k]) * int32_t(b[k]);
      total += s;
    }
  } else {
    for (int64_t k = 0; k < n; ++k) total += int64_t(a[k]) * b[k];
  }
  return total;
}

namespace int_scalar {
void int_gemm(const IntGemmArgs& a);
}
namespace int_avx2 {
void int_gemm(const IntGemmArgs& a);
}
namespace int_avx512 {
void int_gemm(const IntGemmArgs& a);
}

}  // namespace autoneural::kernels
