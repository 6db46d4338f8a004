// AVX-512 VNNI exact integer GEMM tile (see int_gemm_kernels.h): vpdpwssd adds 32 int16 products pairwise
// into 16 int32 lanes per instruction; a tile of 4 weight rows × up to 4 tokens keeps 16 accumulators in
// registers (int_gemm_tile.h).
#include "kernels/avx512_intrinsics.h"

#include "kernels/int_gemm_tile.h"

namespace autoneural::kernels::int_avx512 {

namespace {

struct Avx512Vnni {
  using Vec = __m512i;
  static constexpr int64_t kInputs = 32;
  static Vec zero() { return _mm512_setzero_si512(); }
  static Vec load(const int16_t* p, int64_t n) {
    const __mmask32 m = n >= 32 ? __mmask32(0xFFFFFFFFu) : static_cast<__mmask32>((uint32_t(1) << n) - 1);
    return _mm512_maskz_loadu_epi16(m, p);
  }
  static Vec madd(Vec acc, Vec x, Vec w) { return _mm512_dpwssd_epi32(acc, x, w); }
  static int64_t widen_sum(Vec v) {
    const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v));
    const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1));
    return _mm512_reduce_add_epi64(_mm512_add_epi64(lo, hi));
  }
};

}  // namespace

void int_gemm(const IntGemmArgs& a) { detail::int_gemm_tiles<Avx512Vnni, 4>(a); }

}  // namespace autoneural::kernels::int_avx512
