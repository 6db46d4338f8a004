// AVX2 exact integer GEMM tile (see int_gemm_kernels.h): vpmaddwd multiplies 16 int16 pairs and adds them
// pairwise into 8 int32 lanes; a tile of 4 weight rows × up to 2 tokens keeps 8 accumulators in the 16
// registers (int_gemm_tile.h).
#include <immintrin.h>

#include <cstring>

#include "kernels/int_gemm_tile.h"

namespace autoneural::kernels::int_avx2 {

namespace {

struct Avx2 {
  using Vec = __m256i;
  static constexpr int64_t kInputs = 16;
  static Vec zero() { return _mm256_setzero_si256(); }
  static Vec load(const int16_t* p, int64_t n) {
    if (n >= 16) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    alignas(32) int16_t buf[16] = {};
    std::memcpy(buf, p, static_cast<size_t>(n) * sizeof(int16_t));
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(buf));
  }
  static Vec madd(Vec acc, Vec x, Vec w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w)); }
  static int64_t widen_sum(Vec v) {
    const __m256i s = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)),
                                       _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
    const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1);
  }
};

}  // namespace

void int_gemm(const IntGemmArgs& a) { detail::int_gemm_tiles<Avx2, 2>(a); }

}  // namespace autoneural::kernels::int_avx2
