// The vision kernels of every ISA against plain references written here: depthwise convolution with
// TensorFlow SAME padding (odd/even sizes, strides 1 and 2, channel counts that are not a multiple of the
// vector width), GELU (tanh and erf), element-wise multiply and the packed GEMM microkernel.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/dispatch.h"

namespace autoneural::kernels {
namespace {

std::vector<const KernelTable*> tables() {
  std::vector<const KernelTable*> out;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon})
    if (isa_supported(isa)) out.push_back(&kernel_table(isa));
  return out;
}

std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(VisionKernels, DepthwiseConvMatchesNaiveReference) {
  struct Case {
    int64_t h, w, c, k, stride;
  };
  for (const Case& cs : {Case{8, 8, 16, 3, 1}, Case{9, 7, 19, 3, 2}, Case{10, 12, 70, 5, 2}, Case{6, 6, 130, 5, 1},
                         Case{4, 4, 3, 3, 2}, Case{12, 12, 64, 3, 2}}) {
    // SAME padding as the encoder computes it.
    auto same = [](int64_t n, int64_t k, int64_t s, int64_t& before, int64_t& out) {
      if (s == 1) {
        before = (k - 1) / 2;
        out = n;
      } else {
        out = (n + s - 1) / s;
        before = std::max<int64_t>((out - 1) * s + k - n, 0) / 2;
      }
    };
    int64_t pt, pl, oh, ow;
    same(cs.h, cs.k, cs.stride, pt, oh);
    same(cs.w, cs.k, cs.stride, pl, ow);
    const auto x = random_vector(static_cast<size_t>(cs.h * cs.w * cs.c), 1);
    const auto wt = random_vector(static_cast<size_t>(cs.k * cs.k * cs.c), 2);
    std::vector<double> ref(static_cast<size_t>(oh * ow * cs.c), 0.0);
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ch = 0; ch < cs.c; ++ch)
          for (int64_t ky = 0; ky < cs.k; ++ky)
            for (int64_t kx = 0; kx < cs.k; ++kx) {
              const int64_t iy = oy * cs.stride - pt + ky, ix = ox * cs.stride - pl + kx;
              if (iy < 0 || iy >= cs.h || ix < 0 || ix >= cs.w) continue;
              ref[(oy * ow + ox) * cs.c + ch] +=
                  static_cast<double>(wt[(ky * cs.k + kx) * cs.c + ch]) * x[(iy * cs.w + ix) * cs.c + ch];
            }
    for (const KernelTable* t : tables()) {
      SCOPED_TRACE(isa_name(t->isa));
      std::vector<float> y(ref.size(), -9.0f);
      // Two row ranges, as the backend splits them across threads.
      DwConvArgs a{x.data(), cs.h, cs.w, cs.c, wt.data(), cs.k, cs.stride, pt, pl, ow, 0, oh / 2, y.data()};
      t->depthwise_conv(a);
      a.oy0 = oh / 2;
      a.oy1 = oh;
      t->depthwise_conv(a);
      // At most k² products of magnitude <= 1, each rounded: a few float ulps of k².
      for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-5 * cs.k * cs.k) << i;
    }
  }
}

TEST(VisionKernels, GeluMatchesTheFormulas) {
  std::vector<float> x = random_vector(1003, 3, -12.0f, 12.0f);
  for (float v : {0.0f, -0.0f, 1e-8f, -1e-8f, 30.0f, -30.0f, 100.0f, -100.0f}) x.push_back(v);
  for (const KernelTable* t : tables()) {
    SCOPED_TRACE(isa_name(t->isa));
    std::vector<float> yt(x.size()), ye(x.size()), ym(x.size());
    t->gelu_tanh(x.data(), yt.data(), static_cast<int64_t>(x.size()));
    t->gelu_erf(x.data(), ye.data(), static_cast<int64_t>(x.size()));
    t->mul(x.data(), x.data(), ym.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      const double tanh_ref = 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
      const double erf_ref = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      // The exp-based SIMD form loses a few ulps of |x| where the result is tiny (x − x/(e+1) cancels).
      ASSERT_NEAR(yt[i], tanh_ref, 4e-7 * std::max(1.0, std::fabs(v))) << "x=" << v;
      ASSERT_NEAR(ye[i], erf_ref, 2e-7 * std::max(1.0, std::fabs(v))) << "x=" << v;
      ASSERT_EQ(ym[i], x[i] * x[i]);
    }
  }
}

TEST(VisionKernels, PackedGemmMicrokernelMatchesReference) {
  const int64_t kc = 37, ldx = 41, ldy = 35;
  const auto panel = random_vector(static_cast<size_t>(kc * kSgemmPanelRows), 4);
  const auto x = random_vector(static_cast<size_t>(kSgemmMaxTokens * ldx), 5);
  for (const KernelTable* t : tables()) {
    SCOPED_TRACE(isa_name(t->isa));
    for (int64_t n_tok : {1, 2, 3, 7, 12})
      for (int64_t rows : {1, 16, 17, 32})
        for (bool acc : {false, true}) {
          std::vector<float> y(static_cast<size_t>(kSgemmMaxTokens * ldy), 0.5f);
          SgemmPanelArgs a{panel.data(), x.data(), ldx, n_tok, kc, y.data(), ldy, rows, acc};
          t->sgemm_panel(a);
          for (int64_t tk = 0; tk < kSgemmMaxTokens; ++tk)
            for (int64_t r = 0; r < ldy; ++r) {
              const float got = y[tk * ldy + r];
              if (tk >= n_tok || r >= rows) {
                ASSERT_EQ(got, 0.5f) << "wrote outside the tile";
                continue;
              }
              double ref = acc ? 0.5 : 0.0;
              for (int64_t c = 0; c < kc; ++c) ref += static_cast<double>(panel[c * kSgemmPanelRows + r]) * x[tk * ldx + c];
              ASSERT_NEAR(got, ref, 1e-5) << "t=" << tk << " r=" << r;
            }
        }
  }
}

}  // namespace
}  // namespace autoneural::kernels
