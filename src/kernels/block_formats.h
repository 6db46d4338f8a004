// Byte layouts of the ggml block formats the kernels read (architecture-reference §6.2), shared by the
// reference quantizers and every ISA's kernels. Blocks are read from unaligned addresses (18- and 34-byte
// blocks in an mmap'd file), so fields are accessed through memcpy rather than through structs.
#pragma once

#include <cstdint>
#include <cstring>

#include "format/half.h"

namespace autoneural::kernels {

inline constexpr int kQ4_0Bytes = 18;  // fp16 d, 16 bytes of nibbles
inline constexpr int kQ8_0Bytes = 34;  // fp16 d, 32 int8
inline constexpr int kQ4_KBytes = 144;
inline constexpr int kQ6_KBytes = 210;
inline constexpr int kQBlock = 32;   // elements per Q4_0 / Q8_0 block
inline constexpr int kKBlock = 256;  // elements per K-quant super-block

inline uint16_t load_u16(const void* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void store_u16(void* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline float load_fp16(const void* p) { return fp16_to_f32(load_u16(p)); }

// Returns v unchanged but hides it from the optimizer, so that `fp_barrier(a*b) + c` is never contracted
// into a fused multiply-add (GCC contracts across statements by default on FMA targets such as AArch64);
// ggml's reference quantizers round the product before the addition.
inline float fp_barrier(float v) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__("" : "+x"(v));
#elif defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  volatile float t = v;
  v = t;
#endif
  return v;
}

// Q8_0 quantization of one 32-value block, exactly as ggml's quantize_row_q8_0_ref:
// d = amax/127, id = d ? 1/d : 0, q = roundf(x*id) (half away from zero); the stored scale is fp16(d).
// Returns the fp16 bits of d.
inline uint16_t quantize_block_q8_0(const float* x, int8_t* q) {
  float amax = 0.0f;
  for (int j = 0; j < kQBlock; ++j) {
    const float a = __builtin_fabsf(x[j]);
    amax = amax > a ? amax : a;  // ggml's MAX(amax, |x|), NaN behaviour included
  }
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQBlock; ++j) q[j] = static_cast<int8_t>(__builtin_roundf(x[j] * id));
  return f32_to_fp16(d);
}

}  // namespace autoneural::kernels
