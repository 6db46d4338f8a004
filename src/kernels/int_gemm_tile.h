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

// The weight rows of one tile: w[0..3] and their group multipliers (padding rows repeat a real one).
struct IntGemmRows {
  const int16_t* w[kIntGemmTileRows];
  const int32_t* mult[kIntGemmTileRows];
  int n_rows;
};

// rows × kTok tokens from t0; writes the first n_rows rows of acc. Lanes are widened into int64 (and
// multiplied by the group's multiplier) every `span` inputs — a group, or lane_steps steps without groups
// (int_gemm_kernels.h) — and at the end, so the sums are exact.
template <class Isa, int kTok>
void int_gemm_tile(const IntGemmArgs& a, const IntGemmRows& rows, int64_t t0, int64_t span) {
  constexpr int kRows = kIntGemmTileRows;
  int64_t total[kTok][kRows] = {};
  typename Isa::Vec acc[kTok][kRows];
  const int16_t* x[kTok];
  for (int t = 0; t < kTok; ++t) x[t] = a.x + (t0 + t) * a.ldx;
  int64_t k = 0;
  for (int64_t g = 0; k < a.cols; ++g) {
    for (int t = 0; t < kTok; ++t)
      for (int r = 0; r < kRows; ++r) acc[t][r] = Isa::zero();
    const int64_t k_end = std::min(a.cols, k + span);
    for (; k < k_end; k += Isa::kInputs) {
      const int64_t n = k_end - k;
      typename Isa::Vec wv[kRows];
      for (int r = 0; r < kRows; ++r) wv[r] = Isa::load(rows.w[r] + k, n);
      for (int t = 0; t < kTok; ++t) {
        const typename Isa::Vec xv = Isa::load(x[t] + k, n);
        for (int r = 0; r < kRows; ++r) acc[t][r] = Isa::madd(acc[t][r], xv, wv[r]);
      }
    }
    for (int t = 0; t < kTok; ++t)
      for (int r = 0; r < kRows; ++r) {
        const int64_t s = Isa::widen_sum(acc[t][r]);
        total[t][r] += a.mult ? s * rows.mult[r][g] : s;
      }
  }
  for (int t = 0; t < kTok; ++t)
    for (int r = 0; r < rows.n_rows; ++r) a.acc[(t0 + t) * a.ldacc + r] = total[t][r];
}

// The last `left` (< kTok + 1) tokens of a row quad, with a tile of exactly that many tokens.
template <class Isa, int kTok>
void int_gemm_tail(const IntGemmArgs& a, const IntGemmRows& rows, int64_t t0, int64_t left, int64_t span) {
  if constexpr (kTok >= 1) {
    if (left == kTok) return int_gemm_tile<Isa, kTok>(a, rows, t0, span);
    int_gemm_tail<Isa, kTok - 1>(a, rows, t0, left, span);
  }
}

// The whole IntGemmArgs: quads of weight rows, tokens kMaxTok at a time, then one smaller tile for the rest.
template <class Isa, int kMaxTok>
void int_gemm_tiles(const IntGemmArgs& a) {
  constexpr int kRows = kIntGemmTileRows;
  const int64_t span = a.mult ? a.group : Isa::kInputs * int_gemm_lane_steps(a.max_abs_code);
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRows) {
    IntGemmRows rows{};
    rows.n_rows = static_cast<int>(std::min<int64_t>(kRows, a.rows - r0));
    for (int r = 0; r < kRows; ++r) {
      const int64_t row = r0 + std::min(r, rows.n_rows - 1);
      rows.w[r] = a.w + row * a.ldw;
      rows.mult[r] = a.mult ? a.mult + row * a.ld_mult : nullptr;
    }
    IntGemmArgs sub = a;
    sub.acc = a.acc + r0;
    int64_t t = 0;
    for (; t + kMaxTok <= a.n_tok; t += kMaxTok) int_gemm_tile<Isa, kMaxTok>(sub, rows, t, span);
    int_gemm_tail<Isa, kMaxTok - 1>(sub, rows, t, a.n_tok - t, span);
  }
}

}  // namespace autoneural::kernels::detail
