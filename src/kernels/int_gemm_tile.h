// The tile loop both x86 integer GEMM kernels share (int_gemm_avx2.cpp, int_gemm_avx512.cpp), written once
// over an ISA's vector operations:
//   Isa::Vec                       a register of int32 lanes, also holding 2·lanes int16 inputs
//   Isa::kInputs                   int16 inputs per register
//   Isa::zero()                    all lanes 0
//   Isa::load(p, n)                kInputs inputs from p, or the n < kInputs that remain followed by zeros
//   Isa::madd(acc, x, w)           acc + pairwise int16 products of x and w, in int32 lanes
//   Isa::widen_sum(v)              Σ lanes in int64
// Include only from a translation unit compiled for that ISA.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/int_gemm_kernels.h"

namespace autoneural::kernels::detail {

inline constexpr int kIntGemmTileRows = 4;

// Rows w[0..3] (padding rows repeat a real one) × kTok tokens from t0; writes the first n_rows rows of acc.
// Lanes are widened into int64 every lane_steps steps (int_gemm_kernels.h) and at the end, so the sums are
// exact.
template <class Isa, int kTok>
void int_gemm_tile(const IntGemmArgs& a, const int16_t* const w[kIntGemmTileRows], int n_rows, int64_t t0,
                   int64_t lane_steps) {
  constexpr int kRows = kIntGemmTileRows;
  int64_t total[kTok][kRows] = {};
  typename Isa::Vec acc[kTok][kRows];
  const int16_t* x[kTok];
  for (int t = 0; t < kTok; ++t) x[t] = a.x + (t0 + t) * a.ldx;
  int64_t k = 0;
  while (k < a.cols) {
    for (int t = 0; t < kTok; ++t)
      for (int r = 0; r < kRows; ++r) acc[t][r] = Isa::zero();
    const int64_t k_end = std::min(a.cols, k + Isa::kInputs * lane_steps);
    for (; k < k_end; k += Isa::kInputs) {
      const int64_t n = k_end - k;
      typename Isa::Vec wv[kRows];
      for (int r = 0; r < kRows; ++r) wv[r] = Isa::load(w[r] + k, n);
      for (int t = 0; t < kTok; ++t) {
        const typename Isa::Vec xv = Isa::load(x[t] + k, n);
        for (int r = 0; r < kRows; ++r) acc[t][r] = Isa::madd(acc[t][r], xv, wv[r]);
      }
    }
    for (int t = 0; t < kTok; ++t)
      for (int r = 0; r < kRows; ++r) total[t][r] += Isa::widen_sum(acc[t][r]);
  }
  for (int t = 0; t < kTok; ++t)
    for (int r = 0; r < n_rows; ++r) a.acc[(t0 + t) * a.ldacc + r] = total[t][r];
}

// The last `left` (< kTok + 1) tokens of a row quad, with a tile of exactly that many tokens.
template <class Isa, int kTok>
void int_gemm_tail(const IntGemmArgs& a, const int16_t* const w[kIntGemmTileRows], int n_rows, int64_t t0,
                   int64_t left, int64_t lane_steps) {
  if constexpr (kTok >= 1) {
    if (left == kTok) return int_gemm_tile<Isa, kTok>(a, w, n_rows, t0, lane_steps);
    int_gemm_tail<Isa, kTok - 1>(a, w, n_rows, t0, left, lane_steps);
  }
}

// The whole IntGemmArgs: quads of weight rows, tokens kMaxTok at a time, then one smaller tile for the rest.
template <class Isa, int kMaxTok>
void int_gemm_tiles(const IntGemmArgs& a) {
  constexpr int kRows = kIntGemmTileRows;
  const int64_t lane_steps = int_gemm_lane_steps(a.max_abs_code);
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRows) {
    const int n_rows = static_cast<int>(std::min<int64_t>(kRows, a.rows - r0));
    const int16_t* w[kRows];
    for (int r = 0; r < kRows; ++r) w[r] = a.w + (r0 + std::min(r, n_rows - 1)) * a.ldw;
    IntGemmArgs sub = a;
    sub.acc = a.acc + r0;
    int64_t t = 0;
    for (; t + kMaxTok <= a.n_tok; t += kMaxTok) int_gemm_tile<Isa, kMaxTok>(sub, w, n_rows, t, lane_steps);
    int_gemm_tail<Isa, kMaxTok - 1>(sub, w, n_rows, t, a.n_tok - t, lane_steps);
  }
}

}  // namespace autoneural::kernels::detail
