// AVX-512 VNNI kernels for Q4_0 / Q8_0 weights times Q8_0-quantized activations.
//
// Layout trick: one zmm holds 16 output rows, each 32-bit lane four consecutive weights of one row. A
// vpdpbusd of that register with four activation bytes of one token broadcast to all lanes advances the
// dot products of 16 rows at once, so the per-block float scaling (isum * d_w * d_a) is done for 16 rows
// by one convert + multiply + FMA, and each unpacked weight register is reused for every token of the
// tile. The weights are used in place from the mmap'd file, so every block of 16 rows is transposed into
// that lane order on the fly (16 loads, an in-lane 4x4 dword transpose, nibble masks):
//  * up to 8 tokens (decoding, kTile): the registers are used at once ("direct" path), with the rows that
//    come next prefetched into L2 so that two cores keep DRAM busy;
//  * more tokens (prefill): a chunk of 16 rows x kChunkBlocks blocks is packed into a stack buffer that
//    stays in L1/L2 while every 8-token tile runs over it, so the transpose is amortized over all tokens.
//
// vpdpbusd multiplies unsigned by signed bytes, so weights enter as w + offset (Q4_0's raw nibbles 0..15 =
// w + 8; Q8_0's bytes xor 0x80 = w + 128) and the accumulator starts at QuantizedActs::corr = -offset*sum(a),
// which makes every block's integer sum exact. Each output lane only ever sees its own row, so results do
// not depend on how rows or tokens are grouped into tiles (padding rows repeat the last real row), and the
// two paths compute identical values.
#include "kernels/avx512_intrinsics.h"

#include <algorithm>
#include <cstring>

#include "kernels/kernel_impl.h"
#include "kernels/kernels_x86.h"

namespace autoneural::kernels::avx512 {

namespace {

constexpr int kRows = 16;           // rows per zmm (one per 32-bit lane)
constexpr int kTile = kActTile;     // tokens per microkernel call: 8 int + 8 float accumulators
constexpr int kChunkBlocks = 64;    // 2048 weights per row: 32 KiB packed + 4 KiB scales on the stack
// Decoding prefetches the next 128 blocks of its 16 rows (36-68 KiB) while working on the current ones:
// about the amount of DRAM traffic that has to be in flight to keep two cores streaming (measured: 64
// blocks gave ~10% less bandwidth, 32 blocks ~20% less).
constexpr int kPrefetchBlocks = 128;

struct Packed {
  alignas(64) uint8_t q[kChunkBlocks * 8 * 64];  // [block][group g][row lane][4 bytes]
  alignas(64) float d[kChunkBlocks * kRows];      // [block][row lane]
};

// acc += dot4(w, broadcast of the 4 signed bytes at p) per lane. GCC does not fold the broadcast into
// vpdpbusd's memory operand by itself; the separate vpbroadcastd would cost an extra µop per instruction.
inline __attribute__((always_inline)) __m512i dpbusd_bcast(__m512i acc, __m512i w, const int8_t* p) {
  __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*reinterpret_cast<const int32_t*>(p)));
  return acc;
}

// Transposes 16 rows x 4 dwords: z[q] holds rows q, q+4, q+8, q+12 in its 128-bit lanes; out[j] gets
// dword j of rows 0..15 in order (an in-lane 4x4 transpose does it because of that row placement).
inline void transpose_16x4(const __m512i z[4], __m512i out[4]) {
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]);
  const __m512i t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]);
  const __m512i t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm512_unpacklo_epi64(t0, t2);
  out[1] = _mm512_unpackhi_epi64(t0, t2);
  out[2] = _mm512_unpacklo_epi64(t1, t3);
  out[3] = _mm512_unpackhi_epi64(t1, t3);
}

// Loads 16 bytes at `off` of each of the 16 rows and transposes them into 4 dword-per-row registers.
inline void load_rows_16x16(const uint8_t* const rows[kRows], size_t off, __m512i out[4]) {
  __m512i z[4];
  for (int q = 0; q < 4; ++q) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[q] + off)));
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[q + 4] + off)), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[q + 8] + off)), 2);
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[q + 12] + off)), 3);
    z[q] = v;
  }
  transpose_16x4(z, out);
}

// fp16 scales of one block of the 16 rows, as floats. Word inserts from memory: a 16-lane gather stalls
// Zen 4 for tens of cycles, and scalar stores to a buffer reloaded as a vector cost twice as much.
inline __attribute__((always_inline)) __m512 load_scales(const uint8_t* const rows[kRows], size_t off) {
  __m128i lo = _mm_cvtsi32_si128(load_u16(rows[0] + off)), hi = _mm_cvtsi32_si128(load_u16(rows[8] + off));
  lo = _mm_insert_epi16(lo, load_u16(rows[1] + off), 1);
  hi = _mm_insert_epi16(hi, load_u16(rows[9] + off), 1);
  lo = _mm_insert_epi16(lo, load_u16(rows[2] + off), 2);
  hi = _mm_insert_epi16(hi, load_u16(rows[10] + off), 2);
  lo = _mm_insert_epi16(lo, load_u16(rows[3] + off), 3);
  hi = _mm_insert_epi16(hi, load_u16(rows[11] + off), 3);
  lo = _mm_insert_epi16(lo, load_u16(rows[4] + off), 4);
  hi = _mm_insert_epi16(hi, load_u16(rows[12] + off), 4);
  lo = _mm_insert_epi16(lo, load_u16(rows[5] + off), 5);
  hi = _mm_insert_epi16(hi, load_u16(rows[13] + off), 5);
  lo = _mm_insert_epi16(lo, load_u16(rows[6] + off), 6);
  hi = _mm_insert_epi16(hi, load_u16(rows[14] + off), 6);
  lo = _mm_insert_epi16(lo, load_u16(rows[7] + off), 7);
  hi = _mm_insert_epi16(hi, load_u16(rows[15] + off), 7);
  return _mm512_cvtph_ps(_mm256_set_m128i(hi, lo));
}

// Software prefetch of the next chunk's 16 row segments (`lines` cache lines each), spread over the
// current chunk's blocks: call with part = 0 .. parts-1. Sixteen concurrent row streams per thread are
// more than the hardware prefetchers follow, and decoding is bound by how many DRAM lines are in flight.
// Into L2, not L1: prefetching into the 32 KiB L1 evicts the lines in use and halved the measured decode
// bandwidth.
inline void prefetch_part(const uint8_t* const next[kRows], int lines, int part, int parts) {
  const int total = kRows * lines;
  const int l0 = part * total / parts, l1 = (part + 1) * total / parts;
  for (int l = l0; l < l1; ++l)
    _mm_prefetch(reinterpret_cast<const char*>(next[l / lines] + (l % lines) * 64), _MM_HINT_T1);
}

// The 8 weight registers of one block of 16 rows: w[g] lane r = elements 4g..4g+3 of row r, as w + offset.
template <bool kQ4>
inline __attribute__((always_inline)) void load_block(const uint8_t* const rows[kRows], size_t off, __m512i w[8]) {
  __m512i t[4];
  load_rows_16x16(rows, off + 2, t);
  if constexpr (kQ4) {
    // qs byte 4j+i holds element 4j+i (low nibble) and element 16+4j+i (high nibble).
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int j = 0; j < 4; ++j) {
      w[j] = _mm512_and_si512(t[j], low4);
      w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(t[j], 4), low4);
    }
  } else {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int j = 0; j < 4; ++j) w[j] = _mm512_xor_si512(t[j], flip);
    load_rows_16x16(rows, off + 18, t);
    for (int j = 0; j < 4; ++j) w[j + 4] = _mm512_xor_si512(t[j], flip);
  }
}

template <bool kQ4>
void pack_chunk(const uint8_t* const rows[kRows], int64_t b0, int64_t nbc, Packed& pk) {
  constexpr int kBytes = kQ4 ? kQ4_0Bytes : kQ8_0Bytes;
  for (int64_t b = 0; b < nbc; ++b) {
    const size_t off = static_cast<size_t>((b0 + b) * kBytes);
    _mm512_store_ps(pk.d + b * kRows, load_scales(rows, off));
    __m512i w[8];
    load_block<kQ4>(rows, off, w);
    __m512i* dst = reinterpret_cast<__m512i*>(pk.q + b * 8 * 64);
    for (int g = 0; g < 8; ++g) _mm512_store_si512(dst + g, w[g]);
  }
}

// acc[t] += dw * da[t] * (dot(w, a[t]) + corr[t]) for one block and T tokens of an activation group
// (a, da, corr already offset to the block). `w(g)` yields weight register g, so the same code runs on
// freshly unpacked registers and on a packed buffer. With few tokens, a block's 8 dependent vpdpbusd
// would be the critical path, so they are split over two accumulators (integer sums: still exact).
template <int T, typename W>
inline __attribute__((always_inline)) void block_step(W w, const int8_t* a, const int32_t* corr, const float* da,
                                                      __m512 dw, __m512 acc[T]) {
  constexpr bool kSplit = T <= 4;
  __m512i s0[T], s1[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    s0[t] = _mm512_set1_epi32(corr[t]);
    s1[t] = _mm512_setzero_si512();
  }
#pragma GCC unroll 8
  for (int g = 0; g < 8; ++g) {
    const __m512i wg = w(g);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const int8_t* av = a + g * 4 * kTile + t * 4;
      if (kSplit && (g & 1)) {
        s1[t] = dpbusd_bcast(s1[t], wg, av);
      } else {
        s0[t] = dpbusd_bcast(s0[t], wg, av);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    const __m512i isum = kSplit ? _mm512_add_epi32(s0[t], s1[t]) : s0[t];
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, _mm512_set1_ps(da[t])), acc[t]);
  }
}

// Packed path: y[t][0..15] (+)= the chunk's blocks, T <= kTile tokens of one activation group.
template <int T>
void microkernel(const Packed& pk, int64_t nbc, const int8_t* qs, const float* da, const int32_t* corr, float* y,
                 int64_t ldy, bool first, __mmask16 mask) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, y + t * ldy);
  for (int64_t b = 0; b < nbc; ++b) {
    const __m512i* wq = reinterpret_cast<const __m512i*>(pk.q + b * 8 * 64);
    block_step<T>([wq](int g) { return _mm512_load_si512(wq + g); }, qs + b * 32 * kTile, corr + b * kTile,
                  da + b * kTile, _mm512_load_ps(pk.d + b * kRows), acc);
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, acc[t]);
}

// Direct path for a single token group (decoding): each block is unpacked into registers and used at
// once, without the round trip through the packed buffer. Covers all n_blocks of 16 rows; `next` are the
// rows the caller will process next (prefetched during the last chunk), or null.
template <bool kQ4, int T>
void direct_panel(const uint8_t* const rows[kRows], const uint8_t* const* next, int64_t n_blocks, const int8_t* qs,
                  const float* da, const int32_t* corr, float* y, int64_t ldy, __mmask16 mask) {
  constexpr int kBytes = kQ4 ? kQ4_0Bytes : kQ8_0Bytes;
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b0 = 0; b0 < n_blocks; b0 += kPrefetchBlocks) {
    const int64_t nbc = std::min<int64_t>(kPrefetchBlocks, n_blocks - b0);
    // What to prefetch while this chunk runs: the same rows' next chunk, else the next panel's first.
    const uint8_t* pf[kRows];
    int pf_lines = 0;
    if (b0 + kPrefetchBlocks < n_blocks) {
      const int64_t nb2 = std::min<int64_t>(kPrefetchBlocks, n_blocks - b0 - kPrefetchBlocks);
      for (int r = 0; r < kRows; ++r) pf[r] = rows[r] + (b0 + kPrefetchBlocks) * kBytes;
      pf_lines = static_cast<int>((nb2 * kBytes + 63) / 64);
    } else if (next != nullptr) {
      for (int r = 0; r < kRows; ++r) pf[r] = next[r];
      pf_lines = static_cast<int>((std::min<int64_t>(kPrefetchBlocks, n_blocks) * kBytes + 63) / 64);
    }
    for (int64_t b = 0; b < nbc; ++b) {
      if (pf_lines) prefetch_part(pf, pf_lines, static_cast<int>(b), static_cast<int>(nbc));
      const size_t off = static_cast<size_t>((b0 + b) * kBytes);
      __m512i w[8];
      load_block<kQ4>(rows, off, w);
      const int64_t ab = b0 + b;
      block_step<T>([&w](int g) { return w[g]; }, qs + ab * 32 * kTile, corr + ab * kTile, da + ab * kTile,
                    load_scales(rows, off), acc);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, acc[t]);
}

using MicroFn = void (*)(const Packed&, int64_t, const int8_t*, const float*, const int32_t*, float*, int64_t, bool,
                         __mmask16);
constexpr MicroFn kMicro[kTile + 1] = {nullptr,         microkernel<1>, microkernel<2>, microkernel<3>, microkernel<4>,
                                       microkernel<5>, microkernel<6>, microkernel<7>, microkernel<8>};

template <bool kQ4>
void gemm(const QGemmArgs& p) {
  using DirectFn = void (*)(const uint8_t* const*, const uint8_t* const*, int64_t, const int8_t*, const float*,
                            const int32_t*, float*, int64_t, __mmask16);
  static constexpr DirectFn kDirect[kTile + 1] = {
      nullptr,              direct_panel<kQ4, 1>, direct_panel<kQ4, 2>, direct_panel<kQ4, 3>, direct_panel<kQ4, 4>,
      direct_panel<kQ4, 5>, direct_panel<kQ4, 6>, direct_panel<kQ4, 7>, direct_panel<kQ4, 8>};
  Packed pk;
  detail::for_each_panel<kRows, kTile, kChunkBlocks>(
      p, [](int nr) { return static_cast<__mmask16>((1u << nr) - 1); },
      [&](int nt, const uint8_t* const* rows, const uint8_t* const* next, const int8_t* qs, const float* d,
          const int32_t* corr, float* y, __mmask16 tail) {
        kDirect[nt](rows, next, p.n_blocks, qs, d, corr, y, p.ldy, tail);
      },
      [&](const uint8_t* const* rows, int64_t b0, int64_t nbc) { pack_chunk<kQ4>(rows, b0, nbc, pk); },
      [&](int nt, int64_t nbc, const int8_t* qs, const float* d, const int32_t* corr, float* y, bool first,
          __mmask16 tail) { kMicro[nt](pk, nbc, qs, d, corr, y, p.ldy, first, tail); });
}

// Round half away from zero (roundf) of values well inside the int32 range.
inline __m512 round_away(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 frac = _mm512_abs_ps(_mm512_sub_ps(v, t));  // exact
  const __mmask16 up = _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f), _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
  return _mm512_mask_add_ps(t, up, t, one);
}

}  // namespace

void gemm_q4_0(const QGemmArgs& a) { gemm<true>(a); }
void gemm_q8_0(const QGemmArgs& a) { gemm<false>(a); }

void quantize_acts(const float* x, int64_t ldx, int64_t tok0, int64_t n_tok, int32_t offset, QuantizedActs& act) {
  alignas(64) int8_t q[32];
  for (int64_t i = 0; i < n_tok; ++i) {
    const float* row = x + i * ldx;
    for (int64_t b = 0; b < act.n_blocks; ++b) {
      const __m512 v0 = _mm512_loadu_ps(row + b * 32), v1 = _mm512_loadu_ps(row + b * 32 + 16);
      // max is exact and order-independent, so this equals the scalar amax (NaN aside).
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      const __m512 vid = _mm512_set1_ps(id);
      const __m512i q0 = _mm512_cvttps_epi32(round_away(_mm512_mul_ps(v0, vid)));
      const __m512i q1 = _mm512_cvttps_epi32(round_away(_mm512_mul_ps(v1, vid)));
      _mm_store_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(q0));
      _mm_store_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtepi32_epi8(q1));
      detail::store_act_block(act, tok0 + i, b, q, fp16_to_f32(f32_to_fp16(d)), offset);
    }
  }
}

}  // namespace autoneural::kernels::avx512
