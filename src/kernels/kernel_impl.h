// Helpers shared by the per-ISA kernel files (not part of the public kernel API).
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/block_formats.h"
#include "kernels/dispatch.h"

namespace autoneural::kernels::detail {

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
