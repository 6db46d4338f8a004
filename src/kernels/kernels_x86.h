// Entry points shared between the x86 kernel translation units of one ISA (each *_avx2.cpp / *_avx512.cpp
// file is compiled with its own target flags; these are only called through that ISA's KernelTable).
#pragma once

#include "kernels/dispatch.h"

namespace autoneural::kernels::avx512 {
// Tokens interleaved in QuantizedActs for the AVX-512 integer kernels (the microkernel's token tile).
inline constexpr int kActTile = 8;
void quantize_acts(const float* x, int64_t ldx, int64_t tok0, int64_t n_tok, int32_t offset, QuantizedActs& act);
void gemm_q4_0(const QGemmArgs& a);
void gemm_q8_0(const QGemmArgs& a);
}  // namespace autoneural::kernels::avx512

namespace autoneural::kernels::avx2 {
inline constexpr int kActTile = 4;
void quantize_acts(const float* x, int64_t ldx, int64_t tok0, int64_t n_tok, int32_t offset, QuantizedActs& act);
void gemm_q4_0(const QGemmArgs& a);
void gemm_q8_0(const QGemmArgs& a);
}  // namespace autoneural::kernels::avx2
