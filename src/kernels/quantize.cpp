#include "kernels/quantize.h"

#include <cmath>
#include <string>

#include "autoneural/error.h"
#include "kernels/block_formats.h"

namespace autoneural::kernels {

namespace {

void dequantize_q4_0(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += kQ4_0Bytes, dst += kQBlock) {
    const float d = load_fp16(src);
    const uint8_t* qs = src + 2;
    for (int j = 0; j < 16; ++j) {
      dst[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
      dst[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q8_0(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += kQ8_0Bytes, dst += kQBlock) {
    const float d = load_fp16(src);
    const int8_t* qs = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < kQBlock; ++j) dst[j] = static_cast<float>(qs[j]) * d;
  }
}

// 6-bit scale and min of sub-block s (0..7) of a Q4_K super-block, packed in 12 bytes.
void q4_k_scale_min(const uint8_t* scales, int s, int& sc, int& m) {
  if (s < 4) {
    sc = scales[s] & 63;
    m = scales[s + 4] & 63;
  } else {
    sc = (scales[s + 4] & 0x0F) | ((scales[s - 4] >> 6) << 4);
    m = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
  }
}

void dequantize_q4_k(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += kQ4_KBytes, dst += kKBlock) {
    const float d = load_fp16(src);
    const float dmin = load_fp16(src + 2);
    const uint8_t* scales = src + 4;
    const uint8_t* qs = src + 16;
    for (int c = 0; c < 4; ++c) {
      int sc0, m0, sc1, m1;
      q4_k_scale_min(scales, 2 * c, sc0, m0);
      q4_k_scale_min(scales, 2 * c + 1, sc1, m1);
      // Same association as ggml: (d*sc)*q - (dmin*m).
      const float d0 = d * static_cast<float>(sc0), mn0 = dmin * static_cast<float>(m0);
      const float d1 = d * static_cast<float>(sc1), mn1 = dmin * static_cast<float>(m1);
      for (int l = 0; l < 32; ++l) {
        dst[64 * c + l] = fp_barrier(d0 * static_cast<float>(qs[32 * c + l] & 0x0F)) - mn0;
        dst[64 * c + 32 + l] = fp_barrier(d1 * static_cast<float>(qs[32 * c + l] >> 4)) - mn1;
      }
    }
  }
}

void dequantize_q6_k(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += kQ6_KBytes, dst += kKBlock) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192);
    const float d = load_fp16(src + 208);
    float* y = dst;
    for (int n = 0; n < 2; ++n, ql += 64, qh += 32, sc += 8, y += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

void quantize_q4_0(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQBlock, dst += kQ4_0Bytes) {
    // The element of largest magnitude, keeping its sign, maps to -8 (ggml's quantize_row_q4_0_ref).
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQBlock; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(dst, f32_to_fp16(d));
    for (int j = 0; j < 16; ++j) {
      // (int8_t) truncates toward zero; x*id + 8.5 lies in [0.5, 16.5] so this is floor(x*id + 8.5).
      const int q0 = static_cast<int8_t>(fp_barrier(x[j] * id) + 8.5f);
      const int q1 = static_cast<int8_t>(fp_barrier(x[j + 16] * id) + 8.5f);
      dst[2 + j] = static_cast<uint8_t>((q0 < 15 ? q0 : 15) | ((q1 < 15 ? q1 : 15) << 4));
    }
  }
}

void quantize_q8_0(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQBlock, dst += kQ8_0Bytes)
    store_u16(dst, quantize_block_q8_0(x, reinterpret_cast<int8_t*>(dst + 2)));
}

void check_blocks(TensorType type, int64_t n) {
  const int64_t be = traits(type).block_elems;
  if (n < 0 || n % be != 0)
    throw Error("row of " + std::to_string(n) + " elements is not a whole number of " +
                std::string(tensor_type_name(type)) + " blocks");
}

}  // namespace

void dequantize_row(TensorType type, const void* src_v, float* dst, int64_t n) {
  check_blocks(type, n);
  const uint8_t* src = static_cast<const uint8_t*>(src_v);
  switch (type) {
    case TensorType::F32:
      if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = load_fp16(src + 2 * i);
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
      return;
    case TensorType::Q4_0: dequantize_q4_0(src, dst, n / kQBlock); return;
    case TensorType::Q8_0: dequantize_q8_0(src, dst, n / kQBlock); return;
    case TensorType::Q4_K: dequantize_q4_k(src, dst, n / kKBlock); return;
    case TensorType::Q6_K: dequantize_q6_k(src, dst, n / kKBlock); return;
  }
  throw Error("dequantize_row: unsupported tensor type " + std::to_string(static_cast<uint32_t>(type)));
}

void quantize_row(TensorType type, const float* src, void* dst_v, int64_t n) {
  check_blocks(type, n);
  uint8_t* dst = static_cast<uint8_t*>(dst_v);
  switch (type) {
    case TensorType::F32:
      if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_fp16(src[i]));
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_bf16(src[i]));
      return;
    case TensorType::Q4_0: quantize_q4_0(src, dst, n / kQBlock); return;
    case TensorType::Q8_0: quantize_q8_0(src, dst, n / kQBlock); return;
    case TensorType::Q4_K:
    case TensorType::Q6_K:
      break;
  }
  throw Error("cannot quantize to " + std::string(tensor_type_name(type)) +
              " (supported: f32, f16, bf16, q8_0, q4_0)");
}

}  // namespace autoneural::kernels
