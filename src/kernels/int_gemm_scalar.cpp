// Scalar (reference) exact integer GEMM tile (see int_gemm_kernels.h). Also NEON's, where the compiler
// vectorizes the int32 runs of int16_dot_exact.
#include "kernels/int_gemm_kernels.h"

namespace autoneural::kernels::int_scalar {

void int_gemm(const IntGemmArgs& a) {
  for (int64_t t = 0; t < a.n_tok; ++t)
    for (int64_t r = 0; r < a.rows; ++r)
      a.acc[t * a.ldacc + r] = int16_dot_exact(a.x + t * a.ldx, a.w + r * a.ldw, a.cols, a.max_abs_code);
}

}  // namespace autoneural::kernels::int_scalar
