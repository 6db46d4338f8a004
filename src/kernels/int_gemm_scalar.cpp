// Scalar (reference) exact integer GEMM tile (see int_gemm_kernels.h). Also NEON's, where the compiler
// vectorizes the int32 runs of int16_dot_exact, and int_gemm()'s for what the SIMD tiles do not take: it is
// exact beyond the table contract too (codes up to 32768, any group dividing cols).
#include "kernels/int_gemm_kernels.h"

namespace autoneural::kernels::int_scalar {

void int_gemm(const IntGemmArgs& a) {
  const int64_t group = a.mult ? a.group : a.cols, n_groups = a.mult ? a.cols / a.group : 1;
  for (int64_t t = 0; t < a.n_tok; ++t)
    for (int64_t r = 0; r < a.rows; ++r) {
      int64_t total = 0;
      for (int64_t g = 0; g < n_groups; ++g) {
        const int64_t s = int16_dot_exact(a.x + t * a.ldx + g * group, a.w + r * a.ldw + g * group, group,
                                          a.max_abs_code);
        total += a.mult ? s * a.mult[r * a.ld_mult + g] : s;
      }
      a.acc[t * a.ldacc + r] = total;
    }
}

}  // namespace autoneural::kernels::int_scalar
