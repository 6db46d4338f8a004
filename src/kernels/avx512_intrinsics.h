// <immintrin.h> for the AVX-512 translation units.
//
// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized on its own _mm512_undefined_*() placeholders in
// masked conversions; the warning is about the header, not our code, so it is silenced here once.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

namespace autoneural::kernels::x86 {

// Lane mask for the first n of 16 floats; n <= 0 gives an empty mask (a panel's second half may be empty).
inline __mmask16 tail_mask(int64_t n) {
  if (n <= 0) return 0;
  return n >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
}

}  // namespace autoneural::kernels::x86
