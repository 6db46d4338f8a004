// AVX2 kernels for Q4_0 / Q8_0 weights times Q8_0-quantized activations: the portable x86 fallback.
//
// Same scheme as gemm_q_avx512.cpp (rows in 32-bit lanes, 8 per ymm; a direct path with L2 prefetch for up
// to 4 tokens, packed chunks on the stack for more; one activation dword broadcast per instruction), with
// pmaddubsw in place of vpdpbusd:
//  * Q4_0: unsigned nibbles (w + 8) x signed activations; a pair sum is at most 2*15*127 = 3810, so the
//    int16 sums of all 8 groups of a block (<= 30480) cannot overflow, and one pmaddwd per block widens
//    them; corr (-8 * sum(a)) removes the offset.
//  * Q8_0: the sign trick |w| x sign(a, w) keeps a pair below 2*128*127 = 32512, widened per group.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/kernel_impl.h"
#include "kernels/kernels_x86.h"

namespace autoneural::kernels::avx2 {

namespace {

constexpr int kRows = 8;         // rows per ymm
constexpr int kTile = kActTile;  // 4 tokens: 4 float + 4 integer accumulators of 16 ymm registers
constexpr int kChunkBlocks = 64;

struct Packed {
  alignas(32) uint8_t q[kChunkBlocks * 8 * 32];  // [block][group][row lane][4 bytes]
  alignas(32) float d[kChunkBlocks * kRows];
};

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// 16 bytes at `off` of 8 rows -> out[j] = dword j of rows 0..7 (rows q and q+4 share z[q]).
inline void load_rows_8x16(const uint8_t* const rows[kRows], size_t off, __m256i out[4]) {
  __m256i z[4];
  for (int q = 0; q < 4; ++q)
    z[q] = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(rows[q + 4] + off),
                               reinterpret_cast<const __m128i*>(rows[q] + off));
  const __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(z[0], z[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm256_unpacklo_epi64(t0, t2);
  out[1] = _mm256_unpackhi_epi64(t0, t2);
  out[2] = _mm256_unpacklo_epi64(t1, t3);
  out[3] = _mm256_unpackhi_epi64(t1, t3);
}

// fp16 scales of one block of the 8 rows, as floats (word inserts: see gemm_q_avx512.cpp).
inline __m256 load_scales(const uint8_t* const rows[kRows], size_t off) {
  __m128i v = _mm_cvtsi32_si128(load_u16(rows[0] + off));
  v = _mm_insert_epi16(v, load_u16(rows[1] + off), 1);
  v = _mm_insert_epi16(v, load_u16(rows[2] + off), 2);
  v = _mm_insert_epi16(v, load_u16(rows[3] + off), 3);
  v = _mm_insert_epi16(v, load_u16(rows[4] + off), 4);
  v = _mm_insert_epi16(v, load_u16(rows[5] + off), 5);
  v = _mm_insert_epi16(v, load_u16(rows[6] + off), 6);
  v = _mm_insert_epi16(v, load_u16(rows[7] + off), 7);
  return _mm256_cvtph_ps(v);
}

// Weight registers of one block of 8 rows: w(g) lane r = elements 4g..4g+3 of row r (Q4_0: nibbles 0..15;
// Q8_0: signed bytes). Q4_0 unpacks the high nibbles lazily to save registers (16 ymm only).
template <bool kQ4>
struct BlockRegs {
  __m256i t[kQ4 ? 4 : 8];
  BlockRegs(const uint8_t* const rows[kRows], size_t off) {
    load_rows_8x16(rows, off + 2, t);
    if constexpr (!kQ4) load_rows_8x16(rows, off + 18, t + 4);
  }
  __m256i operator()(int g) const {
    if constexpr (kQ4) {
      const __m256i low4 = _mm256_set1_epi8(0x0F);
      return g < 4 ? _mm256_and_si256(t[g], low4) : _mm256_and_si256(_mm256_srli_epi16(t[g - 4], 4), low4);
    } else {
      return t[g];
    }
  }
};

template <bool kQ4>
void pack_chunk(const uint8_t* const rows[kRows], int64_t b0, int64_t nbc, Packed& pk) {
  constexpr int kBytes = kQ4 ? kQ4_0Bytes : kQ8_0Bytes;
  for (int64_t b = 0; b < nbc; ++b) {
    const size_t off = static_cast<size_t>((b0 + b) * kBytes);
    _mm256_store_ps(pk.d + b * kRows, load_scales(rows, off));
    const BlockRegs<kQ4> w(rows, off);
    __m256i* dst = reinterpret_cast<__m256i*>(pk.q + b * 8 * 32);
    for (int g = 0; g < 8; ++g) _mm256_store_si256(dst + g, w(g));
  }
}

// acc[t] += dw * da[t] * dot(w, a[t]) for one block and T tokens (pointers offset to the block).
template <bool kQ4, int T, typename W>
inline __attribute__((always_inline)) void block_step(const W& w, const int8_t* a, const int32_t* corr,
                                                      const float* da, __m256 dw, __m256 acc[T]) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i isum[T];
  if constexpr (kQ4) {
    __m256i s16[T];
    for (int t = 0; t < T; ++t) s16[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      const __m256i wg = w(g);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t)
        s16[t] = _mm256_add_epi16(
            s16[t], _mm256_maddubs_epi16(wg, _mm256_set1_epi32(load_i32(a + g * 4 * kTile + t * 4))));
    }
    for (int t = 0; t < T; ++t)
      isum[t] = _mm256_add_epi32(_mm256_madd_epi16(s16[t], ones), _mm256_set1_epi32(corr[t]));
  } else {
    for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      const __m256i wg = w(g);
      const __m256i aw = _mm256_abs_epi8(wg);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i sa = _mm256_sign_epi8(_mm256_set1_epi32(load_i32(a + g * 4 * kTile + t * 4)), wg);
        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sa), ones));
      }
    }
  }
  for (int t = 0; t < T; ++t)
    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, _mm256_set1_ps(da[t])), acc[t]);
}

inline __m256 load_acc(const float* y, int nr) {
  if (nr == kRows) return _mm256_loadu_ps(y);
  alignas(32) float tmp[kRows] = {};
  for (int r = 0; r < nr; ++r) tmp[r] = y[r];
  return _mm256_load_ps(tmp);
}

inline void store_acc(float* y, __m256 v, int nr) {
  if (nr == kRows) {
    _mm256_storeu_ps(y, v);
    return;
  }
  alignas(32) float tmp[kRows];
  _mm256_store_ps(tmp, v);
  for (int r = 0; r < nr; ++r) y[r] = tmp[r];
}

template <bool kQ4, int T>
void microkernel(const Packed& pk, int64_t nbc, const int8_t* qs, const float* da, const int32_t* corr, float* y,
                 int64_t ldy, bool first, int nr) {
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = first ? _mm256_setzero_ps() : load_acc(y + t * ldy, nr);
  for (int64_t b = 0; b < nbc; ++b) {
    const __m256i* wq = reinterpret_cast<const __m256i*>(pk.q + b * 8 * 32);
    block_step<kQ4, T>([wq](int g) { return _mm256_load_si256(wq + g); }, qs + b * 32 * kTile, corr + b * kTile,
                       da + b * kTile, _mm256_load_ps(pk.d + b * kRows), acc);
  }
  for (int t = 0; t < T; ++t) store_acc(y + t * ldy, acc[t], nr);
}

// Direct path for one token group (decoding), with the next rows prefetched into L2 as in
// gemm_q_avx512.cpp's direct_panel.
template <bool kQ4, int T>
void direct_panel(const uint8_t* const rows[kRows], const uint8_t* const* next, int64_t n_blocks, const int8_t* qs,
                  const float* da, const int32_t* corr, float* y, int64_t ldy, int nr) {
  constexpr int kBytes = kQ4 ? kQ4_0Bytes : kQ8_0Bytes;
  const int lines = static_cast<int>((n_blocks * kBytes + 63) / 64);  // of each next row
  const int64_t total = next ? int64_t{kRows} * lines : 0;
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n_blocks; ++b) {
    for (int64_t l = b * total / n_blocks; l < (b + 1) * total / n_blocks; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(next[l / lines] + (l % lines) * 64), _MM_HINT_T1);
    const size_t off = static_cast<size_t>(b * kBytes);
    block_step<kQ4, T>(BlockRegs<kQ4>(rows, off), qs + b * 32 * kTile, corr + b * kTile, da + b * kTile,
                       load_scales(rows, off), acc);
  }
  for (int t = 0; t < T; ++t) store_acc(y + t * ldy, acc[t], nr);
}

template <bool kQ4>
void gemm(const QGemmArgs& p) {
  using MicroFn = void (*)(const Packed&, int64_t, const int8_t*, const float*, const int32_t*, float*, int64_t, bool,
                           int);
  using DirectFn = void (*)(const uint8_t* const*, const uint8_t* const*, int64_t, const int8_t*, const float*,
                            const int32_t*, float*, int64_t, int);
  static constexpr MicroFn kMicro[kTile + 1] = {nullptr, microkernel<kQ4, 1>, microkernel<kQ4, 2>,
                                                microkernel<kQ4, 3>, microkernel<kQ4, 4>};
  static constexpr DirectFn kDirect[kTile + 1] = {nullptr, direct_panel<kQ4, 1>, direct_panel<kQ4, 2>,
                                                  direct_panel<kQ4, 3>, direct_panel<kQ4, 4>};
  Packed pk;
  detail::for_each_panel<kRows, kTile, kChunkBlocks>(
      p, [](int nr) { return nr; },
      [&](int nt, const uint8_t* const* rows, const uint8_t* const* next, const int8_t* qs, const float* d,
          const int32_t* corr, float* y, int tail) {
        kDirect[nt](rows, next, p.n_blocks, qs, d, corr, y, p.ldy, tail);
      },
      [&](const uint8_t* const* rows, int64_t b0, int64_t nbc) { pack_chunk<kQ4>(rows, b0, nbc, pk); },
      [&](int nt, int64_t nbc, const int8_t* qs, const float* d, const int32_t* corr, float* y, bool first,
          int tail) { kMicro[nt](pk, nbc, qs, d, corr, y, p.ldy, first, tail); });
}

inline __m256 round_away(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
  const __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
  const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm256_add_ps(t, _mm256_and_ps(up, _mm256_or_ps(_mm256_set1_ps(1.0f), sign)));
}

}  // namespace

void gemm_q4_0(const QGemmArgs& a) { gemm<true>(a); }
void gemm_q8_0(const QGemmArgs& a) { gemm<false>(a); }

void quantize_acts(const float* x, int64_t ldx, int64_t tok0, int64_t n_tok, int32_t offset, QuantizedActs& act) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  alignas(32) int8_t q[32];
  for (int64_t i = 0; i < n_tok; ++i) {
    const float* row = x + i * ldx;
    for (int64_t b = 0; b < act.n_blocks; ++b) {
      __m256 v[4];
      for (int j = 0; j < 4; ++j) v[j] = _mm256_loadu_ps(row + b * 32 + 8 * j);
      __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                               _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
      __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
      h = _mm_max_ps(h, _mm_movehl_ps(h, h));
      h = _mm_max_ss(h, _mm_movehdup_ps(h));
      const float amax = _mm_cvtss_f32(h);
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      const __m256 vid = _mm256_set1_ps(id);
      __m256i qi[4];
      for (int j = 0; j < 4; ++j) qi[j] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[j], vid)));
      const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3]));
      _mm256_store_si256(reinterpret_cast<__m256i*>(q), _mm256_permutevar8x32_epi32(p, order));
      detail::store_act_block(act, tok0 + i, b, q, fp16_to_f32(f32_to_fp16(d)), offset);
    }
  }
}

}  // namespace autoneural::kernels::avx2
