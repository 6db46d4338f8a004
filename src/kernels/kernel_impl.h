// Helpers shared by the per-ISA kernel files (not part of the public kernel API).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/block_formats.h"
#include "kernels/dispatch.h"
#include "kernels/int_gemm_kernels.h"
#include "kernels/vision_kernels.h"

// Builds a KernelTable from the functions of the usual names visible where it is expanded (each ISA file
// defines gemm_q4_0, silu_mul, ... in its own namespace), so that the tables cannot drift apart. The
// activation quantizer, rms_norm and the vision and integer kernels' namespaces are arguments because some
// tables reuse the scalar ones.
#define AUTONEURAL_KERNEL_TABLE(isa_value, tile, quantize_fn, rms_norm_fn, vision_ns, int_ns) \
  [] {                                                                      \
    KernelTable t;                                                          \
    t.isa = isa_value;                                                      \
    t.act_tile = tile;                                                      \
    t.quantize_acts = quantize_fn;                                          \
    t.gemm_q4_0 = gemm_q4_0;                                                \
    t.gemm_q8_0 = gemm_q8_0;                                                \
    t.gemm_f32 = gemm_f32;                                                  \
    t.gemm_f16 = gemm_f16;                                                  \
    t.gemm_bf16 = gemm_bf16;                                                \
    t.rms_norm = rms_norm_fn;                                               \
    t.silu_mul = silu_mul;                                                  \
    t.add = add;                                                            \
    t.dot_f32 = dot_f32;                                                    \
    t.axpy = axpy;                                                          \
    t.softmax_exp = softmax_exp;                                            \
    t.f32_to_f16_row = f32_to_f16_row;                                      \
    t.f16_to_f32_row = f16_to_f32_row;                                      \
    t.depthwise_conv = vision_ns::depthwise_conv;                           \
    t.gelu_tanh = vision_ns::gelu_tanh;                                     \
    t.gelu_erf = vision_ns::gelu_erf;                                       \
    t.mul = vision_ns::mul;                                                 \
    t.sgemm_panel = vision_ns::sgemm_panel;                                 \
    t.int_gemm = int_ns::int_gemm;                                          \
    return t;                                                               \
  }()

namespace autoneural::kernels::detail {

// The rows of the panel after the one starting at r0 — or the first rows of the caller's next matrix —
// for prefetching while this panel computes. Returns false when nothing follows.
template <int kRows>
inline bool next_panel_rows(const QGemmArgs& p, int64_t r0, const uint8_t* next[kRows]) {
  const int64_t r1 = r0 + kRows;
  const bool has_next = r1 < p.rows || (p.next_w != nullptr && p.next_rows > 0);
  for (int r = 0; r < kRows && has_next; ++r)
    next[r] = r1 < p.rows ? p.w + std::min(r1 + r, p.rows - 1) * p.w_stride
                          : p.next_w + std::min<int64_t>(r, p.next_rows - 1) * p.w_stride;
  return has_next;
}

// The panel loop both x86 integer GEMMs share. kRows output rows at a time (padding slots repeat the last
// real row and are never stored), then either
//  - a single token group (decoding): direct(n_tok, rows, next, qs, d, corr, y, tail) streams the blocks
//    straight from the weights while prefetching the next panel (`next` is null when nothing follows);
//  - more tokens: chunks of kChunkBlocks blocks are unpacked once by pack(rows, b0, nbc) and reused by
//    micro(n_tok, nbc, qs, d, corr, y, first_chunk, tail) for every token tile of kTile.
// tail_of(nr) turns the number of real rows into what the ISA's stores take (a count or a lane mask).
template <int kRows, int kTile, int64_t kChunkBlocks, class TailOf, class Direct, class Pack, class Micro>
inline void for_each_panel(const QGemmArgs& p, TailOf tail_of, Direct direct, Pack pack, Micro micro) {
  const QuantizedActs& act = *p.act;
  for (int64_t r0 = 0; r0 < p.rows; r0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, p.rows - r0));
    const auto tail = tail_of(nr);
    const uint8_t* rows[kRows];
    for (int r = 0; r < kRows; ++r) rows[r] = p.w + (r0 + std::min(r, nr - 1)) * p.w_stride;
    if (p.n_tok <= kTile) {
      const uint8_t* next[kRows];
      const bool has_next = next_panel_rows<kRows>(p, r0, next);
      const int64_t si = p.tok0 / kTile * act.n_blocks * kTile;
      direct(static_cast<int>(p.n_tok), rows, has_next ? next : nullptr, act.qs + si * 32, act.d + si,
             act.corr + si, p.y + r0, tail);
      continue;
    }
    for (int64_t b0 = 0; b0 < p.n_blocks; b0 += kChunkBlocks) {
      const int64_t nbc = std::min<int64_t>(kChunkBlocks, p.n_blocks - b0);
      pack(rows, b0, nbc);
      for (int64_t t0 = 0; t0 < p.n_tok; t0 += kTile) {
        const int nt = static_cast<int>(std::min<int64_t>(kTile, p.n_tok - t0));
        const int64_t si = ((p.tok0 + t0) / kTile * act.n_blocks + b0) * kTile;
        micro(nt, nbc, act.qs + si * 32, act.d + si, act.corr + si, p.y + t0 * p.ldy + r0, b0 == 0, tail);
      }
    }
  }
}

// Start of token t's block b in the QuantizedActs layout (see dispatch.h); element k of that block is at
// + (k / 4) * 4 * tile + k % 4.
inline int8_t* act_block(const QuantizedActs& a, int64_t t, int64_t b) {
  const int64_t g = t / a.tile, l = t % a.tile;
  return a.qs + ((g * a.n_blocks + b) * 32 * a.tile + l * 4);
}
inline int64_t act_scale_index(const QuantizedActs& a, int64_t t, int64_t b) {
  const int64_t g = t / a.tile, l = t % a.tile;
  return (g * a.n_blocks + b) * a.tile + l;
}

// Stores one quantized 32-value block (q in natural order) for token t, block b.
inline void store_act_block(const QuantizedActs& a, int64_t t, int64_t b, const int8_t* q, float d,
                            int32_t offset) {
  int8_t* dst = act_block(a, t, b);
  int32_t sum = 0;
  for (int k = 0; k < 32; ++k) sum += q[k];
  for (int g = 0; g < 8; ++g) std::memcpy(dst + g * 4 * a.tile, q + 4 * g, 4);
  const int64_t si = act_scale_index(a, t, b);
  a.d[si] = d;
  a.corr[si] = -offset * sum;
}

// Scalar Q8_0 quantization of n_tok rows into `act`: the reference behaviour every ISA must reproduce.
inline void quantize_acts_scalar(const float* x, int64_t ldx, int64_t tok0, int64_t n_tok, int32_t offset,
                                 QuantizedActs& act) {
  int8_t q[32];
  for (int64_t i = 0; i < n_tok; ++i)
    for (int64_t b = 0; b < act.n_blocks; ++b) {
      const uint16_t dh = quantize_block_q8_0(x + i * ldx + b * 32, q);
      store_act_block(act, tok0 + i, b, q, fp16_to_f32(dh), offset);
    }
}

// Unpacks one Q4_0 block to signed values -8..7 in element order.
inline void unpack_q4_0(const uint8_t* blk, int8_t* w) {
  const uint8_t* qs = blk + 2;
  for (int j = 0; j < 16; ++j) {
    w[j] = static_cast<int8_t>((qs[j] & 0x0F) - 8);
    w[j + 16] = static_cast<int8_t>((qs[j] >> 4) - 8);
  }
}

}  // namespace autoneural::kernels::detail
