#include "kernels/int_gemm.h"

#include <algorithm>

#include "kernels/dispatch.h"
#include "kernels/int_gemm_kernels.h"
#include "kernels/thread_pool.h"

namespace autoneural::kernels {

namespace {

int64_t n_groups(const IntMatrix& w) { return w.mult && w.group > 0 ? w.cols / w.group : 1; }
int64_t group_len(const IntMatrix& w) { return w.mult && w.group > 0 ? w.group : w.cols; }

}  // namespace

void int_gemm_reference(const IntMatrix& w, const int16_t* x, int64_t ldx, int64_t n_tokens, int64_t* acc,
                        int64_t ldacc) {
  const int64_t ng = n_groups(w), gl = group_len(w);
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t r = 0; r < w.rows; ++r) {
      int64_t total = 0;
      for (int64_t g = 0; g < ng; ++g) {
        int64_t s = 0;
        for (int64_t k = g * gl; k < (g + 1) * gl; ++k) s += int64_t(x[t * ldx + k]) * w.codes[r * w.cols + k];
        total += s * (w.mult ? w.mult[r * ng + g] : 1);
      }
      acc[t * ldacc + r] = total;
    }
}

void int_gemm(const IntMatrix& w, const int16_t* x, int64_t ldx, int64_t n_tokens, int64_t* acc, int64_t ldacc,
              kernels::ThreadPool& pool) {
  const int64_t ng = n_groups(w), gl = group_len(w);
  // Weights narrow enough for int32 pair sums (and groups the SIMD tiles take) run on the ISA's tile kernel;
  // the rest (16-bit weights, attention on 16-bit codes, odd groups) on the scalar one, which is exact for
  // any codes and groups.
  const int64_t lane_steps = int_gemm_lane_steps(w.max_abs_code);
  const bool use_isa = w.max_abs_code <= kIntGemmMaxCode && lane_steps >= 8 &&
                       (!w.mult || (gl % kIntGemmGroupQuantum == 0 && gl / 16 <= lane_steps));
  const auto tile_kernel = use_isa ? active_kernels().int_gemm : int_scalar::int_gemm;
  // Tiles of 16 rows × 16 tokens keep a weight tile in L1 while the tokens stream past it.
  constexpr int64_t kRows = 16, kTok = 16;
  const int64_t row_tiles = (w.rows + kRows - 1) / kRows, tok_tiles = (n_tokens + kTok - 1) / kTok;
  pool.parallel_for(row_tiles * tok_tiles, 1, [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t rt = item % row_tiles, tt = item / row_tiles;
      const int64_t r0 = rt * kRows, r1 = std::min(w.rows, r0 + kRows);
      const int64_t t0 = tt * kTok, t1 = std::min(n_tokens, t0 + kTok);
      const int32_t* mult = w.mult ? w.mult + r0 * ng : nullptr;
      tile_kernel({w.codes + r0 * w.cols, w.cols, r1 - r0, w.cols, w.max_abs_code, x + t0 * ldx, ldx, t1 - t0,
                   acc + t0 * ldacc + r0, ldacc, mult, mult ? gl : 0, ng});
    }
  });
}

void int_gemm_group_sums(const IntMatrix& w, int64_t* sums) {
  const int64_t ng = n_groups(w), gl = group_len(w);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t g = 0; g < ng; ++g) {
      int64_t s = 0;
      for (int64_t k = g * gl; k < (g + 1) * gl; ++k) s += w.codes[r * w.cols + k];
      sums[r * ng + g] = s;
    }
}

}  // namespace autoneural::kernels
