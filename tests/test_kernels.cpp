// Reference quantizers, dequantizers and fp16/bf16 conversions (kernels/quantize.h, format/half.h) on
// hand-computed cases, plus the ISA dispatch basics. SIMD-versus-scalar checks: test_kernels_simd.cpp;
// matmul: test_kernels_matmul.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "autoneural/error.h"
#include "format/half.h"
#include "kernels/dispatch.h"
#include "kernels/quantize.h"

namespace autoneural::kernels {
namespace {

uint16_t u16_at(const std::vector<uint8_t>& b, size_t off) {
  uint16_t v;
  std::memcpy(&v, b.data() + off, 2);
  return v;
}

std::vector<uint8_t> quantize(TensorType t, const std::vector<float>& x) {
  std::vector<uint8_t> out(row_bytes(t, static_cast<int64_t>(x.size())));
  quantize_row(t, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> dequantize(TensorType t, const std::vector<uint8_t>& b, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(t, b.data(), out.data(), n);
  return out;
}

// ---- Q8_0 ---------------------------------------------------------------------------------------------

TEST(Q8_0, TiesRoundHalfAwayFromZero) {
  // amax = 127 makes d = 1 and 1/d = 1 exactly, so x*id is x and the ties are exact.
  std::vector<float> x(32, 0.0f);
  const float vals[] = {127.0f, -127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.4999999f, -1.4999999f, 3.5f, -0.0f, 126.5f};
  const int8_t want[] = {127, -127, 3, -3, 1, -1, 1, -1, 4, 0, 127};
  std::copy(std::begin(vals), std::end(vals), x.begin());
  const auto q = quantize(TensorType::Q8_0, x);
  ASSERT_EQ(q.size(), 34u);
  EXPECT_EQ(u16_at(q, 0), 0x3C00);  // fp16(1.0)
  for (size_t i = 0; i < std::size(want); ++i) EXPECT_EQ(static_cast<int8_t>(q[2 + i]), want[i]) << i;
  for (size_t i = std::size(want); i < 32; ++i) EXPECT_EQ(q[2 + i], 0) << i;
}

TEST(Q8_0, ScaleTwo) {
  // amax = 254: d = 2, id = 0.5.
  std::vector<float> x(32, 0.0f);
  x[0] = 254.0f, x[1] = 5.0f, x[2] = -5.0f, x[3] = 3.0f, x[4] = 1.0f, x[5] = -1.0f, x[6] = 0.999f;
  const auto q = quantize(TensorType::Q8_0, x);
  EXPECT_EQ(u16_at(q, 0), 0x4000);  // fp16(2.0)
  const int8_t want[] = {127, 3, -3, 2, 1, -1, 0};
  for (size_t i = 0; i < std::size(want); ++i) EXPECT_EQ(static_cast<int8_t>(q[2 + i]), want[i]) << i;
}

TEST(Q8_0, ZerosAndAllEqual) {
  const auto z = quantize(TensorType::Q8_0, std::vector<float>(64, 0.0f));
  for (uint8_t b : z) EXPECT_EQ(b, 0);
  const auto q = quantize(TensorType::Q8_0, std::vector<float>(32, -3.0f));
  EXPECT_EQ(u16_at(q, 0), f32_to_fp16(3.0f / 127.0f));
  for (int i = 0; i < 32; ++i) EXPECT_EQ(static_cast<int8_t>(q[2 + i]), -127);
  const auto back = dequantize(TensorType::Q8_0, q, 32);
  for (float v : back) EXPECT_NEAR(v, -3.0f, 3.0f * 1e-3f);
}

// ---- Q4_0 ---------------------------------------------------------------------------------------------

TEST(Q4_0, NegativeMax) {
  // max = -8 (largest magnitude, sign kept): d = -8 / -8 = 1; q = min(15, (int8)(x + 8.5)).
  std::vector<float> x(32, 0.0f);
  const float vals[] = {-8.0f, 4.0f, -4.0f, 0.0f, 7.0f, 3.5f, -0.5f, -0.6f, 6.49f};
  const int want[] = {0, 12, 4, 8, 15, 12, 8, 7, 14};
  std::copy(std::begin(vals), std::end(vals), x.begin());
  x[16] = 7.9f;   // high nibble of byte 0: 16.4 -> 16 -> clamped 15
  x[17] = -7.0f;  // high nibble of byte 1: 1.5 -> 1
  const auto q = quantize(TensorType::Q4_0, x);
  ASSERT_EQ(q.size(), 18u);
  EXPECT_EQ(u16_at(q, 0), 0x3C00);
  for (size_t i = 0; i < std::size(want); ++i) EXPECT_EQ(q[2 + i] & 0x0F, want[i]) << i;
  EXPECT_EQ(q[2] >> 4, 15);
  EXPECT_EQ(q[3] >> 4, 1);
  EXPECT_EQ(q[2 + 10] >> 4, 8);  // zeros quantize to 8
  const auto back = dequantize(TensorType::Q4_0, q, 32);
  EXPECT_EQ(back[0], -8.0f);
  EXPECT_EQ(back[1], 4.0f);
  EXPECT_EQ(back[6], 0.0f);
  EXPECT_EQ(back[7], -1.0f);
  EXPECT_EQ(back[16], 7.0f);
  EXPECT_EQ(back[17], -7.0f);
}

TEST(Q4_0, PositiveMaxClipsTheOtherEnd) {
  std::vector<float> x(32, 0.0f);
  x[5] = 8.0f;   // max: d = -1, id = -1
  x[6] = -8.0f;  // |x| ties with the max but comes later: not chosen; 8 + 8.5 -> 16 -> clamped to 15
  x[7] = 2.0f;   // -2 + 8.5 = 6.5 -> 6
  const auto q = quantize(TensorType::Q4_0, x);
  EXPECT_EQ(u16_at(q, 0), 0xBC00);  // fp16(-1.0)
  EXPECT_EQ(q[2 + 5] & 0x0F, 0);
  EXPECT_EQ(q[2 + 6] & 0x0F, 15);
  EXPECT_EQ(q[2 + 7] & 0x0F, 6);
  const auto back = dequantize(TensorType::Q4_0, q, 32);
  EXPECT_EQ(back[5], 8.0f);
  EXPECT_EQ(back[6], -7.0f);
  EXPECT_EQ(back[7], 2.0f);
}

TEST(Q4_0, FirstOfEqualMagnitudesWins) {
  std::vector<float> a(32, 0.0f), b(32, 0.0f);
  a[0] = -3.0f, a[1] = 3.0f;
  b[0] = 3.0f, b[1] = -3.0f;
  EXPECT_EQ(u16_at(quantize(TensorType::Q4_0, a), 0), f32_to_fp16(0.375f));
  EXPECT_EQ(u16_at(quantize(TensorType::Q4_0, b), 0), f32_to_fp16(-0.375f));
}

TEST(Q4_0, ZerosAndAllEqual) {
  const auto z = quantize(TensorType::Q4_0, std::vector<float>(32, 0.0f));
  EXPECT_EQ(u16_at(z, 0), 0x8000);  // d = 0.0f / -8 = -0.0, as in ggml
  for (int i = 0; i < 16; ++i) EXPECT_EQ(z[2 + i], 0x88);
  const auto q = quantize(TensorType::Q4_0, std::vector<float>(32, 2.0f));
  EXPECT_EQ(u16_at(q, 0), f32_to_fp16(-0.25f));
  for (int i = 0; i < 16; ++i) EXPECT_EQ(q[2 + i], 0x00);  // all map to -8 * d = 2
  for (float v : dequantize(TensorType::Q4_0, q, 32)) EXPECT_EQ(v, 2.0f);
}

TEST(Quantize, RoundTripErrorBounds) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(4096);
  for (auto& v : x) v = nd(rng) * (rng() % 4 == 0 ? 10.0f : 1.0f);
  for (TensorType t : {TensorType::Q8_0, TensorType::Q4_0}) {
    const auto back = dequantize(t, quantize(t, x), 4096);
    for (size_t b = 0; b < x.size() / 32; ++b) {
      float amax = 0.0f;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      // Half a quantization step (a full one where Q4_0 clips +8|d| to +7|d|), plus fp16 rounding of d
      // (relative 2^-11) times the largest code.
      const float step = t == TensorType::Q8_0 ? amax / 127.0f : amax / 8.0f;
      const float bound = (t == TensorType::Q8_0 ? 0.5f : 1.0f) * step + amax * 1e-3f;
      for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(back[b * 32 + j] - x[b * 32 + j]), bound) << b << " " << j;
    }
  }
  for (TensorType t : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
    const auto back = dequantize(t, quantize(t, x), 4096);
    const float rel = t == TensorType::F32 ? 0.0f : t == TensorType::F16 ? 1.0f / 2048 : 1.0f / 256;
    for (size_t i = 0; i < x.size(); ++i) ASSERT_LE(std::fabs(back[i] - x[i]), std::fabs(x[i]) * rel) << i;
  }
}

TEST(Quantize, RejectsBadInput) {
  std::vector<float> x(64, 1.0f);
  std::vector<uint8_t> out(1024);
  EXPECT_THROW(quantize_row(TensorType::Q4_K, x.data(), out.data(), 256), Error);
  EXPECT_THROW(quantize_row(TensorType::Q8_0, x.data(), out.data(), 31), Error);
  EXPECT_THROW(dequantize_row(TensorType::Q6_K, out.data(), x.data(), 32), Error);
}

// ---- K-quants -----------------------------------------------------------------------------------------

TEST(Q4_K, HandBuiltBlock) {
  const int sc[8] = {1, 2, 3, 4, 5, 17, 40, 63};
  const int mn[8] = {0, 1, 2, 3, 33, 5, 6, 63};
  std::vector<uint8_t> blk(144, 0);
  const uint16_t d = f32_to_fp16(0.5f), dmin = f32_to_fp16(0.25f);
  std::memcpy(blk.data(), &d, 2);
  std::memcpy(blk.data() + 2, &dmin, 2);
  uint8_t* s = blk.data() + 4;
  for (int i = 0; i < 4; ++i) {  // 6-bit packing: low 4 sub-blocks direct, high 4 split across bytes
    s[i] = static_cast<uint8_t>(sc[i] | ((sc[i + 4] >> 4) << 6));
    s[i + 4] = static_cast<uint8_t>(mn[i] | ((mn[i + 4] >> 4) << 6));
    s[i + 8] = static_cast<uint8_t>((sc[i + 4] & 0x0F) | ((mn[i + 4] & 0x0F) << 4));
  }
  for (int i = 0; i < 128; ++i) blk[16 + i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
  const auto y = dequantize(TensorType::Q4_K, blk, 256);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      const float lo = 0.5f * sc[2 * c] * static_cast<float>(l % 16) - 0.25f * mn[2 * c];
      const float hi = 0.5f * sc[2 * c + 1] * static_cast<float>(15 - l % 16) - 0.25f * mn[2 * c + 1];
      EXPECT_FLOAT_EQ(y[64 * c + l], lo) << c << " " << l;
      EXPECT_FLOAT_EQ(y[64 * c + 32 + l], hi) << c << " " << l;
    }
}

TEST(Q6_K, HandBuiltBlock) {
  int q[256];
  for (int i = 0; i < 256; ++i) q[i] = (i * 7 + 3) % 64;
  int8_t scales[16];
  for (int i = 0; i < 16; ++i) scales[i] = static_cast<int8_t>((i - 8) * 3 + (i == 15 ? 100 : 0));
  std::vector<uint8_t> blk(210, 0);
  // Encode: element 128n + 32k + l (k = 0..3) uses ql[64n + l + 32*(k&1)] nibble (k>>1) and qh[32n + l]
  // bits 2k..2k+1, scale scales[8n + l/16 + 2k].
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) {
        const int v = q[128 * n + 32 * k + l];
        uint8_t& ql = blk[64 * n + l + 32 * (k & 1)];
        ql = static_cast<uint8_t>(ql | ((v & 0x0F) << (4 * (k >> 1))));
        uint8_t& qh = blk[128 + 32 * n + l];
        qh = static_cast<uint8_t>(qh | ((v >> 4) << (2 * k)));
      }
  std::memcpy(blk.data() + 192, scales, 16);
  const uint16_t d = f32_to_fp16(0.25f);
  std::memcpy(blk.data() + 208, &d, 2);
  const auto y = dequantize(TensorType::Q6_K, blk, 256);
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) {
        const int i = 128 * n + 32 * k + l;
        EXPECT_FLOAT_EQ(y[i], 0.25f * scales[8 * n + l / 16 + 2 * k] * static_cast<float>(q[i] - 32)) << i;
      }
}

// ---- fp16 / bf16 ----------------------------------------------------------------------------------------

float f(uint32_t bits) { return bits_to_f32(bits); }

TEST(Half, F32ToF16Specials) {
  EXPECT_EQ(f32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_fp16(65519.996f), 0x7BFF);  // just below the rounding boundary
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7C00);    // ties to even -> overflow to inf
  EXPECT_EQ(f32_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(f32_to_fp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(f32_to_fp16(1e10f), 0x7C00);
  const uint16_t nan = f32_to_fp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  EXPECT_NE(f32_to_fp16(f(0x7F800001u)) & 0x03FF, 0);  // signalling NaN stays NaN
  // Ties to even among normals: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1p-11f), 0x3C00);
  EXPECT_EQ(f32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3C02);
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01);
  // Subnormals: steps of 2^-24, ties to even.
  EXPECT_EQ(f32_to_fp16(0x1p-24f), 0x0001);
  EXPECT_EQ(f32_to_fp16(0x1p-25f), 0x0000);
  EXPECT_EQ(f32_to_fp16(3 * 0x1p-25f), 0x0002);
  EXPECT_EQ(f32_to_fp16(0x1p-25f + 0x1p-40f), 0x0001);
  EXPECT_EQ(f32_to_fp16(-5 * 0x1p-24f), 0x8005);
  EXPECT_EQ(f32_to_fp16(0x1p-14f), 0x0400);                // smallest normal
  EXPECT_EQ(f32_to_fp16(0x1p-14f - 0x1p-25f), 0x0400);     // halfway below it rounds up (even)
  EXPECT_EQ(f32_to_fp16(1e-30f), 0x0000);
}

TEST(Half, F16ToF32Specials) {
  EXPECT_EQ(fp16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f32_to_bits(fp16_to_f32(0x8000)), 0x80000000u);
  EXPECT_EQ(fp16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(fp16_to_f32(0x03FF), 1023 * 0x1p-24f);
  EXPECT_EQ(fp16_to_f32(0x7BFF), 65504.0f);
  EXPECT_TRUE(std::isinf(fp16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isinf(fp16_to_f32(0xFC00)) && fp16_to_f32(0xFC00) < 0);
  EXPECT_TRUE(std::isnan(fp16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(fp16_to_f32(0x7C01)));
  // Every finite half survives the round trip exactly.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00) continue;
    ASSERT_EQ(f32_to_fp16(fp16_to_f32(static_cast<uint16_t>(h))), h) << h;
  }
}

TEST(BFloat16, Conversions) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(f(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(f(0x3F818000u)), 0x3F82);  // tie -> even (up)
  EXPECT_EQ(f32_to_bf16(f(0x3F808001u)), 0x3F81);
  EXPECT_EQ(f32_to_bf16(f(0x7F7FFFFFu)), 0x7F80);  // FLT_MAX rounds to inf
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(f(0x7F800001u)), 0x7FC0);  // signalling NaN -> quiet NaN
  EXPECT_EQ(f32_to_bf16(f(0xFFC00001u)), 0xFFC0);
  EXPECT_EQ(f32_to_bf16(f(0x00008000u)), 0x0000);  // subnormal tie -> even
  EXPECT_EQ(f32_to_bf16(f(0x00018000u)), 0x0002);
  EXPECT_EQ(f32_to_bits(bf16_to_f32(0xC040)), 0xC0400000u);
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC0)));
}

// ---- dispatch -------------------------------------------------------------------------------------------

TEST(Dispatch, NamesAndFallbacks) {
  EXPECT_STREQ(isa_name(Isa::scalar), "scalar");
  EXPECT_STREQ(isa_name(Isa::avx2), "avx2");
  EXPECT_STREQ(isa_name(Isa::avx512), "avx512");
  EXPECT_STREQ(isa_name(Isa::neon), "neon");
  EXPECT_TRUE(isa_supported(Isa::scalar));
  EXPECT_TRUE(isa_supported(active_isa()));
  EXPECT_EQ(active_kernels().isa, active_isa());
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon}) {
    const KernelTable& t = kernel_table(isa);  // never fails, even for an ISA this machine lacks
    EXPECT_TRUE(isa_supported(t.isa));
    if (isa_supported(isa)) {
      EXPECT_EQ(t.isa, isa);
    }
    EXPECT_NE(t.gemm_q4_0, nullptr);
    EXPECT_NE(t.quantize_acts, nullptr);
    EXPECT_NE(t.f16_to_f32_row, nullptr);
  }
  const char* env = std::getenv("AUTONEURAL_ISA");
  if (env != nullptr && std::string(env) == "scalar") {
    EXPECT_EQ(active_isa(), Isa::scalar);
  }
}

}  // namespace
}  // namespace autoneural::kernels
