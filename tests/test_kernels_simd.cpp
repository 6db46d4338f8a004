// Every SIMD kernel table available on this machine against the scalar reference table, on random data
// and edge cases: activation quantization (bit-exact), integer and float matmul tiles, element-wise ops
// and fp16 conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "format/half.h"
#include "kernels/dispatch.h"
#include "kernels/ops.h"
#include "kernels/quantize.h"

namespace autoneural::kernels {
namespace {

std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::neon})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

// Runs body(table) for every supported SIMD ISA; reports a skip when there is none.
template <typename F>
void for_each_simd(F body) {
  const auto isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no SIMD kernel table on this machine";
  for (Isa isa : isas) {
    SCOPED_TRACE(isa_name(isa));
    const KernelTable& t = kernel_table(isa);
    ASSERT_EQ(t.isa, isa);
    body(t);
  }
}

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// Quantized activations in a table's layout, owning their buffers.
struct Acts {
  QuantizedActs a;
  std::vector<int8_t> qs;
  std::vector<float> d;
  std::vector<int32_t> corr;
  Acts(const KernelTable& k, const float* x, int64_t ldx, int64_t n_tok, int64_t cols, int32_t offset) {
    a.n_blocks = cols / 32;
    a.n_tok = n_tok;
    a.tile = k.act_tile;
    qs.assign(a.qs_bytes(), 0);
    d.assign(a.scale_count(), 0.0f);
    corr.assign(a.scale_count(), 0);
    a.qs = qs.data();
    a.d = d.data();
    a.corr = corr.data();
    k.quantize_acts(x, ldx, 0, n_tok, offset, a);
  }
  int8_t q(int64_t t, int64_t k) const {
    const int64_t g = t / a.tile, l = t % a.tile, b = k / 32, e = k % 32;
    return a.qs[(g * a.n_blocks + b) * 32 * a.tile + (e / 4) * 4 * a.tile + l * 4 + e % 4];
  }
  int64_t si(int64_t t, int64_t b) const { return (t / a.tile * a.n_blocks + b) * a.tile + t % a.tile; }
};

TEST(KernelsSimd, QuantizeActsBitExact) {
  for_each_simd([](const KernelTable& k) {
    const KernelTable& s = scalar_kernel_table();
    for (int64_t cols : {32, 96, 2048}) {
      for (int64_t n_tok : {1, 3, 9, 17}) {
        auto x = random_floats(static_cast<size_t>(n_tok * (cols + 5)), static_cast<uint32_t>(cols + n_tok), 3.0f);
        // Exact ties: a block whose amax is 127 has d = 1, so x*id = x.
        for (int j = 0; j < 32; ++j) x[j] = (j == 0) ? 127.0f : static_cast<float>(j) - 15.5f;
        for (int j = 32; j < 64 && j < cols; ++j) x[j] = 0.0f;  // an all-zero block
        const Acts a(k, x.data(), cols + 5, n_tok, cols, 8), r(s, x.data(), cols + 5, n_tok, cols, 8);
        for (int64_t t = 0; t < n_tok; ++t) {
          for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(a.q(t, c), r.q(t, c)) << cols << " " << t << " " << c;
          for (int64_t b = 0; b < cols / 32; ++b) {
            ASSERT_EQ(f32_to_bits(a.d[a.si(t, b)]), f32_to_bits(r.d[r.si(t, b)]));
            ASSERT_EQ(a.corr[a.si(t, b)], r.corr[r.si(t, b)]);
          }
        }
        // The scalar layout against the reference quantizer itself.
        std::vector<uint8_t> q8(row_bytes(TensorType::Q8_0, cols));
        quantize_row(TensorType::Q8_0, x.data(), q8.data(), cols);
        for (int64_t b = 0; b < cols / 32; ++b) {
          uint16_t dh;
          std::memcpy(&dh, q8.data() + b * 34, 2);
          ASSERT_EQ(r.d[r.si(0, b)], fp16_to_f32(dh));
          for (int e = 0; e < 32; ++e) ASSERT_EQ(r.q(0, b * 32 + e), static_cast<int8_t>(q8[b * 34 + 2 + e]));
        }
      }
    }
  });
}

// Random weight rows of `type` (Q4_0 / Q8_0 via the reference quantizer), with a row stride a little
// larger than a row so that kernels must honour it.
struct QWeights {
  std::vector<uint8_t> bytes;
  size_t stride;
  QWeights(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
    stride = row_bytes(type, cols) + 6;
    bytes.assign(stride * static_cast<size_t>(rows), 0xEE);
    const auto w = random_floats(static_cast<size_t>(rows * cols), seed, 0.05f);
    for (int64_t r = 0; r < rows; ++r) quantize_row(type, w.data() + r * cols, bytes.data() + r * stride, cols);
  }
};

void check_q_gemm(const KernelTable& k, TensorType type, int64_t rows, int64_t cols, int64_t n_tok) {
  SCOPED_TRACE(std::string(tensor_type_name(type)) + " rows=" + std::to_string(rows) + " cols=" +
               std::to_string(cols) + " n_tok=" + std::to_string(n_tok));
  const KernelTable& s = scalar_kernel_table();
  const QWeights w(type, rows, cols, static_cast<uint32_t>(rows * 131 + cols + n_tok));
  const auto x = random_floats(static_cast<size_t>(n_tok * cols), static_cast<uint32_t>(n_tok + 7));
  const int32_t off = type == TensorType::Q4_0 ? 8 : 128;
  const Acts ak(k, x.data(), cols, n_tok, cols, off), as(s, x.data(), cols, n_tok, cols, off);
  const int64_t ldy = rows + 3;
  std::vector<float> yk(static_cast<size_t>(n_tok * ldy), -1.0f), ys(yk.size(), -1.0f);
  QGemmArgs p;
  p.w = w.bytes.data();
  p.w_stride = w.stride;
  p.rows = rows;
  p.n_blocks = cols / 32;
  p.n_tok = n_tok;
  p.ldy = ldy;
  const auto gk = type == TensorType::Q4_0 ? k.gemm_q4_0 : k.gemm_q8_0;
  const auto gs = type == TensorType::Q4_0 ? s.gemm_q4_0 : s.gemm_q8_0;
  p.act = &ak.a;
  p.y = yk.data();
  gk(p);
  p.act = &as.a;
  p.y = ys.data();
  gs(p);
  // Bound: float accumulation over n_blocks terms, relative to the sum of the terms' magnitudes.
  std::vector<float> wrow(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(type, w.bytes.data() + r * w.stride, wrow.data(), cols);
    for (int64_t t = 0; t < n_tok; ++t) {
      double mag = 0.0;
      for (int64_t c = 0; c < cols; ++c)
        mag += std::fabs(static_cast<double>(wrow[c]) * as.q(t, c) * as.d[as.si(t, c / 32)]);
      const double tol = 4.0 * static_cast<double>(cols / 32 + 1) * 6e-8 * mag + 1e-30;
      ASSERT_NEAR(yk[t * ldy + r], ys[t * ldy + r], tol) << "r=" << r << " t=" << t;
    }
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t c = rows; c < ldy; ++c) ASSERT_EQ(yk[t * ldy + c], -1.0f) << "wrote outside the tile";
  }
}

TEST(KernelsSimd, QuantGemmMatchesScalar) {
  for_each_simd([](const KernelTable& k) {
    for (TensorType type : {TensorType::Q4_0, TensorType::Q8_0}) {
      for (int64_t cols : {32, 64, 96, 2080, 4096}) {
        for (int64_t rows : {1, 7, 16, 17, 40}) check_q_gemm(k, type, rows, cols, rows % 3 == 1 ? 1 : 5);
      }
      for (int64_t n_tok : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 70}) check_q_gemm(k, type, 33, 320, n_tok);
      check_q_gemm(k, type, 19, 8192, 3);      // more blocks than one packed chunk
      check_q_gemm(k, type, 64, 2048 + 32 * 65, 11);
    }
  });
}

TEST(KernelsSimd, QuantGemmTokenOffset) {
  // A call may start at any token group boundary (tok0 % tile == 0) and must match the full call.
  for_each_simd([](const KernelTable& k) {
    const int64_t rows = 24, cols = 256, n_tok = 3 * k.act_tile + 2;
    const QWeights w(TensorType::Q4_0, rows, cols, 5);
    const auto x = random_floats(static_cast<size_t>(n_tok * cols), 6);
    const Acts a(k, x.data(), cols, n_tok, cols, 8);
    std::vector<float> full(static_cast<size_t>(n_tok * rows)), part(full.size());
    QGemmArgs p;
    p.w = w.bytes.data();
    p.w_stride = w.stride;
    p.rows = rows;
    p.n_blocks = cols / 32;
    p.act = &a.a;
    p.n_tok = n_tok;
    p.y = full.data();
    p.ldy = rows;
    k.gemm_q4_0(p);
    for (int64_t t0 = 0; t0 < n_tok; t0 += k.act_tile) {
      p.tok0 = t0;
      p.n_tok = std::min<int64_t>(k.act_tile, n_tok - t0);
      p.y = part.data() + t0 * rows;
      k.gemm_q4_0(p);
    }
    for (size_t i = 0; i < full.size(); ++i) ASSERT_EQ(full[i], part[i]) << i;
  });
}

void check_f_gemm(const KernelTable& k, TensorType type, int64_t rows, int64_t cols, int64_t n_tok) {
  SCOPED_TRACE(std::string(tensor_type_name(type)) + " rows=" + std::to_string(rows) + " cols=" +
               std::to_string(cols) + " n_tok=" + std::to_string(n_tok));
  const KernelTable& s = scalar_kernel_table();
  const size_t stride = row_bytes(type, cols) + 4;
  std::vector<uint8_t> wb(stride * static_cast<size_t>(rows));
  const auto wf = random_floats(static_cast<size_t>(rows * cols), static_cast<uint32_t>(rows + cols));
  for (int64_t r = 0; r < rows; ++r) quantize_row(type, wf.data() + r * cols, wb.data() + r * stride, cols);
  const int64_t ldx = cols + 1;
  const auto x = random_floats(static_cast<size_t>(n_tok * ldx), 11);
  std::vector<float> yk(static_cast<size_t>(n_tok * rows)), ys(yk.size());
  FGemmArgs p;
  p.w = wb.data();
  p.w_stride = stride;
  p.rows = rows;
  p.cols = cols;
  p.x = x.data();
  p.ldx = ldx;
  p.n_tok = n_tok;
  p.ldy = rows;
  const auto pick = [&](const KernelTable& t) {
    return type == TensorType::F32 ? t.gemm_f32 : type == TensorType::F16 ? t.gemm_f16 : t.gemm_bf16;
  };
  p.y = yk.data();
  pick(k)(p);
  p.y = ys.data();
  pick(s)(p);
  std::vector<float> wrow(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(type, wb.data() + r * stride, wrow.data(), cols);
    for (int64_t t = 0; t < n_tok; ++t) {
      double mag = 0.0;
      for (int64_t c = 0; c < cols; ++c) mag += std::fabs(static_cast<double>(wrow[c]) * x[t * ldx + c]);
      const double tol = 2.0 * static_cast<double>(cols / 8 + 8) * 6e-8 * mag;
      ASSERT_NEAR(yk[t * rows + r], ys[t * rows + r], tol) << "r=" << r << " t=" << t;
    }
  }
}

TEST(KernelsSimd, FloatGemmMatchesScalar) {
  for_each_simd([](const KernelTable& k) {
    for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
      for (int64_t cols : {1, 7, 16, 33, 250, 2048}) check_f_gemm(k, type, 9, cols, 3);
      for (int64_t n_tok : {1, 2, 4, 5, 70}) check_f_gemm(k, type, 6, 100, n_tok);
      check_f_gemm(k, type, 1, 8192, 1);
    }
  });
}

// ---- element-wise ---------------------------------------------------------------------------------------

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float rel, float abs_tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(b[i])) {
      ASSERT_TRUE(std::isnan(a[i])) << i;
      continue;
    }
    if (std::isinf(b[i])) {
      ASSERT_EQ(a[i], b[i]) << i;
      continue;
    }
    ASSERT_NEAR(a[i], b[i], std::fabs(b[i]) * rel + abs_tol) << i;
  }
}

TEST(KernelsSimd, ElementwiseOpsMatchScalar) {
  for_each_simd([](const KernelTable& k) {
    const KernelTable& s = scalar_kernel_table();
    for (int64_t n : {1, 5, 8, 15, 16, 17, 64, 100, 2048, 2049}) {
      SCOPED_TRACE(n);
      auto a = random_floats(static_cast<size_t>(n), static_cast<uint32_t>(n), 4.0f);
      const auto b = random_floats(static_cast<size_t>(n), static_cast<uint32_t>(n + 1), 2.0f);
      if (n > 8) a[3] = 95.0f, a[4] = -95.0f, a[5] = 0.0f, a[6] = -1e-30f;
      std::vector<float> yk(static_cast<size_t>(n)), ys(yk.size());
      k.rms_norm(a.data(), b.data(), yk.data(), n, 1e-5f);
      s.rms_norm(a.data(), b.data(), ys.data(), n, 1e-5f);
      expect_close(yk, ys, 1e-6f, 0.0f);
      k.rms_norm(a.data(), nullptr, yk.data(), n, 1e-5f);
      s.rms_norm(a.data(), nullptr, ys.data(), n, 1e-5f);
      expect_close(yk, ys, 1e-6f, 0.0f);
      k.silu_mul(a.data(), b.data(), yk.data(), n);
      s.silu_mul(a.data(), b.data(), ys.data(), n);
      expect_close(yk, ys, 2e-6f, 1e-37f);
      k.add(a.data(), b.data(), yk.data(), n);
      s.add(a.data(), b.data(), ys.data(), n);
      expect_close(yk, ys, 0.0f, 0.0f);
      double mag = 0.0;
      for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(a[i]) * b[i]);
      EXPECT_NEAR(k.dot_f32(a.data(), b.data(), n), s.dot_f32(a.data(), b.data(), n), 1e-6 * mag);
      yk = b, ys = b;
      k.axpy(0.37f, a.data(), yk.data(), n);
      s.axpy(0.37f, a.data(), ys.data(), n);
      expect_close(yk, ys, 1e-6f, 1e-6f);
      yk = a, ys = a;
      float mx = -std::numeric_limits<float>::infinity();
      for (float v : a) mx = std::max(mx, v);
      if (n > 8) yk[7] = ys[7] = -std::numeric_limits<float>::infinity();  // a masked position
      const float sk = k.softmax_exp(yk.data(), n, mx), ss = s.softmax_exp(ys.data(), n, mx);
      expect_close(yk, ys, 2e-6f, 1e-37f);
      EXPECT_NEAR(sk, ss, 1e-5 * ss);
      if (n > 8) {
        EXPECT_EQ(yk[7], 0.0f);
      }
    }
  });
}

TEST(KernelsSimd, SiluExtremes) {
  for_each_simd([](const KernelTable& k) {
    const KernelTable& s = scalar_kernel_table();
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> g = {-200.0f, -88.0f, -87.0f, -20.0f, -1e-8f, 0.0f, 1e-8f, 20.0f,
                            88.0f,   89.0f,  200.0f, 1e30f,  -1e30f, inf,  -inf,  nan};
    std::vector<float> up(g.size(), 1.5f), yk(g.size()), ys(g.size());
    k.silu_mul(g.data(), up.data(), yk.data(), static_cast<int64_t>(g.size()));
    s.silu_mul(g.data(), up.data(), ys.data(), static_cast<int64_t>(g.size()));
    expect_close(yk, ys, 2e-6f, 1e-30f);
  });
}

TEST(Ops, SoftmaxInPlace) {
  std::vector<float> x = {1.0f, 2.0f, -std::numeric_limits<float>::infinity(), 3.0f, 1000.0f, -1000.0f};
  softmax(x.data(), 4);
  const double e1 = std::exp(-2.0), e2 = std::exp(-1.0), sum = e1 + e2 + 1.0;
  EXPECT_NEAR(x[0], e1 / sum, 1e-6);
  EXPECT_NEAR(x[1], e2 / sum, 1e-6);
  EXPECT_EQ(x[2], 0.0f);
  EXPECT_NEAR(x[3], 1.0 / sum, 1e-6);
  softmax(x.data() + 4, 2);  // large spread: no overflow
  EXPECT_FLOAT_EQ(x[4], 1.0f);
  EXPECT_EQ(x[5], 0.0f);
}

TEST(KernelsSimd, HalfRowConversions) {
  for_each_simd([](const KernelTable& k) {
    // All 65536 halves to float: exact (NaNs stay NaN).
    std::vector<uint16_t> h(65536 + 5);
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i);
    std::vector<float> fk(h.size()), fs(h.size());
    k.f16_to_f32_row(h.data(), fk.data(), static_cast<int64_t>(h.size()));
    for (size_t i = 0; i < h.size(); ++i) {
      fs[i] = fp16_to_f32(h[i]);
      if (std::isnan(fs[i])) {
        ASSERT_TRUE(std::isnan(fk[i])) << i;
      } else {
        ASSERT_EQ(f32_to_bits(fk[i]), f32_to_bits(fs[i])) << i;
      }
    }
    // Floats to halves: a sweep over every exponent with random mantissas, ties, and specials.
    std::mt19937 rng(3);
    std::vector<float> x;
    for (uint32_t e = 0; e < 256; ++e)
      for (int i = 0; i < 64; ++i) x.push_back(bits_to_f32((e << 23) | (rng() & 0x807FFFFFu)));
    for (uint32_t hb = 0; hb < 0x7C00; hb += 7) {  // exact halfway points between neighbouring halves
      const float lo = fp16_to_f32(static_cast<uint16_t>(hb)), hi = fp16_to_f32(static_cast<uint16_t>(hb + 1));
      x.push_back(static_cast<float>((static_cast<double>(lo) + hi) / 2));
      x.push_back(-x.back());
    }
    x.push_back(65520.0f);
    x.push_back(std::numeric_limits<float>::infinity());
    x.push_back(std::numeric_limits<float>::quiet_NaN());
    std::vector<uint16_t> hk(x.size());
    k.f32_to_f16_row(x.data(), hk.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const uint16_t want = f32_to_fp16(x[i]);
      if (std::isnan(x[i])) {
        ASSERT_EQ(hk[i] & 0x7C00, 0x7C00);
        ASSERT_NE(hk[i] & 0x03FF, 0);
      } else {
        ASSERT_EQ(hk[i], want) << i << " x=" << x[i];
      }
    }
  });
}

}  // namespace
}  // namespace autoneural::kernels
