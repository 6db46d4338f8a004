// Quantization: fixed-point building blocks, exact integer GEMM, metrics, every sim/npu operator against
// its float counterpart, and the fixture models end to end (docs/quantization.md, docs/npu-numerics.md).
#include <cmath>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "autoneural/llm.h"
#include "format/gguf.h"
#include "kernels/dispatch.h"
#include "kernels/int_gemm.h"
#include "quant/calibration.h"
#include "quant/fixed_point.h"
#include "quant/metrics.h"
#include "backend/float_backend.h"
#include "runtime/model_impl.h"
#include "backend/quant_backend.h"
#include "kernels/thread_pool.h"
#include "test_util.h"

namespace autoneural {
namespace {

using quant::int128;

TEST(FixedPoint, RequantizeIsRoundedRealScaling) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int i = 0; i < 20000; ++i) {
    const double real = std::exp2(u(rng) * 30);
    const int64_t v = static_cast<int64_t>(u(rng) * std::min(1e12, 1e8 / real));
    const auto M = quant::make_multiplier(real);
    const int32_t got = quant::requantize(v, M, 0, -2000000000, 2000000000);
    // The multiplier carries 31 bits: |error| <= 0.5 (rounding) + |v·real|·2^-30.
    const double exact = static_cast<double>(v) * real;
    EXPECT_LE(std::abs(got - exact), 0.5 + std::abs(exact) * std::ldexp(1.0, -30) + 1e-9) << v << " * " << real;
  }
  EXPECT_EQ(quant::requantize(int128(1) << 100, quant::make_multiplier(1.0), 0, -5, 5), 5);  // saturates
  EXPECT_EQ(quant::requantize(-(int128(1) << 100), quant::make_multiplier(1.0), 0, -5, 5), -5);
  EXPECT_EQ(quant::requantize(7, quant::make_multiplier(0.5), 0, -10, 10), 4);  // 3.5 rounds up
  EXPECT_EQ(quant::requantize(-7, quant::make_multiplier(0.5), 0, -10, 10), -3);  // ties toward +inf
}

TEST(FixedPoint, IntegerSquareRootIsExact) {
  std::mt19937_64 rng(2);
  std::vector<uint64_t> xs = {0, 1, 2, 3, 4, 15, 16, 17, (uint64_t(1) << 62), ~uint64_t(0), ~uint64_t(0) - 1};
  for (int i = 0; i < 10000; ++i) xs.push_back(rng() >> (rng() % 64));
  for (uint64_t x : xs) {
    const unsigned __int128 r = quant::isqrt64(x);
    EXPECT_LE(r * r, x);
    EXPECT_GT((r + 1) * (r + 1), x);
  }
}

TEST(FixedPoint, Exp2IsAccurate) {
  // Linear interpolation of a 256-segment table: relative error < 2^-19 plus one Q30 unit of rounding.
  for (int64_t t = 0; t < 40 * 65536; t += 37) {
    const double ref = std::exp2(-t / 65536.0) * 1073741824.0;
    EXPECT_NEAR(static_cast<double>(quant::exp2_neg_q16(t)), ref, ref * std::ldexp(1.0, -19) + 1.0) << t;
  }
}

// ---- integer GEMM ---------------------------------------------------------------------------------------
struct IntGemmCase {
  int64_t rows, cols, n;
  int32_t max_code;
  int64_t group = 0;
};

// Random codes for a case, with the extremes (x = -32768, w = -m) in the first token and row that put each
// int32 lane at its bound, group multipliers as the int4/g32 schemes use them (0..65535), and the int64
// reference result.
struct IntGemmData {
  std::vector<int16_t> w, x;
  std::vector<int32_t> mult;
  kernels::IntMatrix matrix;
  std::vector<int64_t> ref;  // [n][rows]
};
IntGemmData make_int_gemm_data(const IntGemmCase& c, std::mt19937& rng) {
  const int32_t w_max = std::min(c.max_code, kernels::kIntGemmMaxCode);
  std::uniform_int_distribution<int> wd(-w_max, w_max), xd(-32768, 32767);
  IntGemmData d;
  d.w.resize(static_cast<size_t>(c.rows * c.cols));
  d.x.resize(static_cast<size_t>(c.n * c.cols));
  for (auto& v : d.w) v = static_cast<int16_t>(wd(rng));
  for (auto& v : d.x) v = static_cast<int16_t>(xd(rng));
  for (int64_t k = 0; k < c.cols; ++k) d.x[k] = -32768, d.w[k] = static_cast<int16_t>(-w_max);
  d.matrix = {c.rows, c.cols, d.w.data(), c.max_code, c.group, nullptr};
  if (c.group) {
    d.mult.resize(static_cast<size_t>(c.rows * c.cols / c.group));
    for (auto& v : d.mult) v = static_cast<int32_t>(rng() % 65536);
    d.matrix.mult = d.mult.data();
  }
  d.ref.resize(static_cast<size_t>(c.n * c.rows));
  kernels::int_gemm_reference(d.matrix, d.x.data(), c.cols, c.n, d.ref.data(), c.rows);
  return d;
}

TEST(IntGemm, ExactAgainstReferenceForAllShapes) {
  std::mt19937 rng(3);
  kernels::ThreadPool one(1), two(2);
  for (const IntGemmCase c : {IntGemmCase{1, 1, 1, 127}, IntGemmCase{7, 33, 5, 127}, IntGemmCase{16, 64, 17, 7, 32},
                              IntGemmCase{5, 256, 3, 8, 128}, IntGemmCase{9, 4096, 2, 127},
                              IntGemmCase{3, 100, 4, 32768}, IntGemmCase{33, 96, 40, 127, 32}}) {
    const IntGemmData d = make_int_gemm_data(c, rng);
    std::vector<int64_t> a1(d.ref.size()), a2(d.ref.size());
    kernels::int_gemm(d.matrix, d.x.data(), c.cols, c.n, a1.data(), c.rows, one);
    kernels::int_gemm(d.matrix, d.x.data(), c.cols, c.n, a2.data(), c.rows, two);
    EXPECT_EQ(a1, d.ref) << c.rows << "x" << c.cols;
    EXPECT_EQ(a2, d.ref) << c.rows << "x" << c.cols;
  }
  // The reference itself on a hand-computed case: [1 2; 3 4]·[5 6] with groups of 1 and multipliers 2, 3.
  const int16_t w[] = {1, 2, 3, 4}, x[] = {5, 6};
  const int32_t mult[] = {2, 3, 2, 3};
  int64_t acc[2];
  kernels::int_gemm_reference({2, 2, w, 4, 1, mult}, x, 2, 1, acc, 2);
  EXPECT_EQ(acc[0], 2 * 5 + 3 * 12);
  EXPECT_EQ(acc[1], 2 * 15 + 3 * 24);
}

// Every ISA's tile kernel (KernelTable::int_gemm) against the int64 reference, per channel and with group
// multipliers, including weights as wide as the contract allows (lanes widened every step) and inputs long
// enough to widen several times.
TEST(IntGemm, EveryIsaTileKernelIsExact) {
  std::mt19937 rng(5);
  const IntGemmCase cases[] = {{1, 1, 1, 127},        {5, 31, 3, 127},       {4, 32, 4, 127},
                               {9, 33, 7, 8},         {6, 8300, 5, 127},     {3, 2000, 2, 1000},
                               {7, 100, 6, kernels::kIntGemmMaxCode},       {13, 65, 9, 4095},
                               {16, 64, 17, 7, 32},   {5, 256, 3, 8, 128},   {9, 96, 5, 127, 32},
                               {6, 8192, 1, 8, 64},   {3, 64, 2, 127, 64}};
  for (const IntGemmCase& c : cases) {
    const IntGemmData d = make_int_gemm_data(c, rng);
    const int64_t n_groups = c.group ? c.cols / c.group : 1;
    const int32_t* m = c.group ? d.mult.data() : nullptr;
    for (const kernels::Isa isa : {kernels::Isa::scalar, kernels::Isa::avx2, kernels::Isa::avx512, kernels::Isa::neon}) {
      if (!kernels::isa_supported(isa)) continue;
      // A padded output (ldacc > rows) must keep its padding: the kernel writes only real rows.
      const int64_t ldacc = c.rows + 3;
      std::vector<int64_t> out(static_cast<size_t>(c.n * ldacc), -7);
      kernels::kernel_table(isa).int_gemm({d.w.data(), c.cols, c.rows, c.cols, c.max_code, d.x.data(), c.cols, c.n,
                                           out.data(), ldacc, m, c.group, n_groups});
      for (int64_t t = 0; t < c.n; ++t)
        for (int64_t r = 0; r < ldacc; ++r)
          ASSERT_EQ(out[t * ldacc + r], r < c.rows ? d.ref[t * c.rows + r] : -7)
              << kernels::isa_name(isa) << " " << c.rows << "x" << c.cols << " group " << c.group << " t=" << t
              << " r=" << r;
    }
  }
}

// ---- metrics ----------------------------------------------------------------------------------------------
TEST(QuantMetrics, KnownSignalToNoise) {
  std::mt19937 rng(4);
  std::normal_distribution<double> nd;
  const int n = 4096;
  std::vector<float> ref(n), noise(n), q(n);
  double sp = 0, np = 0;
  for (int i = 0; i < n; ++i) ref[i] = static_cast<float>(std::sin(i * 0.01) * 3), sp += double(ref[i]) * ref[i];
  for (int i = 0; i < n; ++i) noise[i] = static_cast<float>(nd(rng)), np += double(noise[i]) * noise[i];
  for (double db : {20.0, 40.0}) {
    // Noise energy scaled to signal / 10^(db/10) exactly (up to float rounding of the sum).
    const double k = std::sqrt(sp / np / std::pow(10.0, db / 10));
    quant::ErrorStats s;
    for (int i = 0; i < n; ++i) q[i] = static_cast<float>(ref[i] + k * noise[i]);
    s.add(ref.data(), q.data(), n);
    EXPECT_NEAR(s.sqnr_db(), db, 1e-3);
    EXPECT_NEAR(s.rms_pct(), 100 * std::pow(10.0, -db / 20), 1e-3);
    quant::ErrorStats a, b;  // chunked = one shot
    a.add(ref.data(), q.data(), 1000);
    b.add(ref.data() + 1000, q.data() + 1000, n - 1000);
    a.merge(b);
    EXPECT_NEAR(a.sqnr_db(), s.sqnr_db(), 1e-9);
  }
  quant::LogitStats ls;
  const float l1[] = {1, 2, 3}, l2[] = {3, 2, 1};
  ls.add(l1, l1, 1, 3);
  EXPECT_NEAR(ls.mean_kl(), 0, 1e-12);
  ls.add(l1, l2, 1, 3);
  // KL(p‖q) for p = softmax(1,2,3), q = softmax(3,2,1): Σ p (l1 - l2) since the normalisers are equal.
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double kl = (std::exp(1.0) * -2 + std::exp(3.0) * 2) / z;
  EXPECT_NEAR(ls.kl_sum, kl, 1e-9);
  EXPECT_EQ(ls.top1_agree, 1);
}

// ---- operators: sim and npu against float -------------------------------------------------------------------
// Bound: with 16-bit weights and activations each rounding adds noise of step/√12 with step = range/65535;
// for the Gaussian-like data below range ≈ 10σ, so one rounding costs ~4e-5 of the signal's RMS and an
// operator with up to five roundings (inputs, weights, intermediate, output) ~1e-4. 1e-3 leaves room for
// the nonlinear operators' slopes; a broken formula gives errors of order 1.
constexpr double kOpBound = 1e-3;

class QuantOps : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(5);
    std::normal_distribution<float> nd;
    format::GgufWriter w;
    auto add = [&](const std::string& name, std::vector<int64_t> ne, float scale) {
      int64_t n = 1;
      for (auto d : ne) n *= d;
      std::vector<float> v(static_cast<size_t>(n));
      for (auto& x : v) x = nd(rng) * scale;
      w.add_tensor(name, TensorType::F32, ne, v.data(), v.size() * sizeof(float));
      tensors[name] = v;
    };
    add("lin.weight", {64, 48}, 0.1f);
    add("conv.weight", {3, 3, 8, 16}, 0.2f);
    add("dw.conv.weight", {3, 3, 1, 24}, 0.3f);
    add("sc.conv.weight", {3, 32}, 0.5f);
    w.set("general.architecture", format::GgufValue::make_string("test"));
    w.write(dir.file("w.gguf"));
    source = format::WeightSource::open(dir.file("w.gguf"), nullptr);
  }
  std::unique_ptr<backend::Backend> make(backend::BackendKind k, const std::string& recipe = "w16a16") {
    auto plan = std::make_shared<backend::QuantPlan>(quant::recipe_by_name(recipe),
                                                     std::vector<std::shared_ptr<const format::WeightSource>>{source},
                                                     backend::ActRanges{});
    return k == backend::BackendKind::Sim ? backend::make_sim_backend(2, plan) : backend::make_npu_backend(2, plan);
  }
  static std::vector<float> randn(size_t n, float scale, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd;
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng) * scale;
    return v;
  }
  backend::Weight weight(const std::string& name, int64_t rows, int64_t cols) {
    return {name, {TensorType::F32, rows, cols, reinterpret_cast<const uint8_t*>(source->find(name)->data),
                   static_cast<size_t>(cols) * 4}};
  }
  // Runs `op` on float, sim and npu backends and checks both quantized results against float.
  template <class Op>
  void check(const char* what, Op op, double bound = kOpBound) {
    backend::FloatBackend fb(2);
    const auto ref = op(static_cast<backend::Backend&>(fb));
    for (auto k : {backend::BackendKind::Sim, backend::BackendKind::Npu}) {
      auto be = make(k);
      const auto got = op(*be);
      ASSERT_EQ(got.size(), ref.size());
      EXPECT_LT(quant::rms_pct(ref.data(), got.data(), static_cast<int64_t>(ref.size())) / 100, bound)
          << what << " on " << backend::backend_kind_name(k);
    }
  }
  test::TempDir dir;
  std::map<std::string, std::vector<float>> tensors;
  std::shared_ptr<format::WeightSource> source;
};

TEST_F(QuantOps, EveryOperatorMatchesFloatWithinTheBitWidthBound) {
  const auto x = randn(10 * 64, 1.0f, 11), x2 = randn(10 * 64, 0.7f, 12);
  check("linear", [&](backend::Backend& be) {
    std::vector<float> y(10 * 48);
    be.linear(weight("lin.weight", 48, 64), x.data(), 10, y.data());
    return y;
  });
  const auto img = randn(12 * 12 * 8, 1.0f, 13);
  const backend::ConvGeometry g{12, 12, 8, 3, 2, 0, 0, 6, 6};
  check("conv2d", [&](backend::Backend& be) {
    std::vector<float> y(36 * 16), bias(16, 0.05f);
    be.conv2d(weight("conv.weight", 16, 72), bias.data(), img.data(), g, y.data());
    return y;
  });
  const auto map = randn(10 * 10 * 24, 1.0f, 14);
  check("depthwise_conv2d", [&](backend::Backend& be) {
    std::vector<float> k(9 * 24), y(10 * 10 * 24);
    const auto& t = tensors["dw.conv.weight"];
    for (int c = 0; c < 24; ++c)
      for (int j = 0; j < 9; ++j) k[j * 24 + c] = t[c * 9 + j];
    be.depthwise_conv2d("dw", k.data(), map.data(), {10, 10, 24, 3, 1, 1, 1, 10, 10}, y.data());
    return y;
  });
  check("rms_norm", [&](backend::Backend& be) {
    std::vector<float> y(x.size()), gamma = randn(64, 0.5f, 15);
    be.rms_norm("n", x.data(), gamma.data(), 10, 64, 1e-6f, y.data());
    return y;
  });
  for (auto kind : {backend::GeluKind::Tanh, backend::GeluKind::Erf})
    check("gelu", [&](backend::Backend& be) {
      std::vector<float> y(x.size());
      be.gelu("g", x.data(), static_cast<int64_t>(x.size()), kind, y.data());
      return y;
    });
  check("swiglu", [&](backend::Backend& be) {
    std::vector<float> y(x.size());
    be.swiglu("s", x.data(), x2.data(), static_cast<int64_t>(x.size()), y.data());
    return y;
  });
  check("add", [&](backend::Backend& be) {
    std::vector<float> acc = x;
    be.add("a", acc.data(), x2.data(), static_cast<int64_t>(acc.size()));
    return acc;
  });
  check("scale_channels+add_bias", [&](backend::Backend& be) {
    std::vector<float> v = x, s = randn(64, 1.0f, 16), b = randn(64, 0.3f, 17);
    be.scale_channels("ls", v.data(), s.data(), 10, 64);
    be.add_bias("b", v.data(), b.data(), 10, 64);
    return v;
  });
  check("rope", [&](backend::Backend& be) {
    std::vector<float> v = x;
    be.rope("r", v.data(), 5, 2, 64, 7, 10000.0f);
    return v;
  });
  for (auto kind : {backend::ResizeKind::Nearest, backend::ResizeKind::AveragePool, backend::ResizeKind::Bilinear})
    check("resize2d", [&](backend::Backend& be) {
      const int64_t oh = kind == backend::ResizeKind::Nearest ? 20 : kind == backend::ResizeKind::AveragePool ? 5 : 7;
      std::vector<float> y(static_cast<size_t>(oh * oh * 24));
      be.resize2d("rs", map.data(), 10, 10, 24, oh, oh, kind, y.data());
      return y;
    });
  check("attention_mqa", [&](backend::Backend& be) {
    const auto q = randn(16 * 4 * 32, 1.0f, 18), k = randn(8 * 32, 1.0f, 19), v = randn(8 * 32, 1.0f, 20);
    std::vector<float> y(q.size());
    be.attention_mqa("mqa", q.data(), 16, 4, k.data(), v.data(), 8, 32, 1.0f / std::sqrt(32.0f), y.data());
    return y;
  });
  check("short_conv", [&](backend::Backend& be) {
    const auto bcx = randn(6 * 3 * 32, 1.0f, 21);
    std::vector<float> k(32 * 3), state(2 * 32, 0.0f), z(6 * 32);
    const auto& t = tensors["sc.conv.weight"];
    std::copy(t.begin(), t.end(), k.begin());
    be.short_conv("sc", bcx.data(), k.data(), 3, 4, 32, state.data(), z.data());          // a chunk of 4
    be.short_conv("sc", bcx.data() + 4 * 96, k.data(), 3, 2, 32, state.data(), z.data() + 4 * 32);  // then 2 more
    return z;
  });
  check("store_kv+attention", [&](backend::Backend& be) {
    const backend::StateShape shape{.n_layers = 1, .is_attention = {true}, .hidden = 64, .conv_steps = 2,
                                    .n_head_kv = 2, .head_dim = 16, .n_ctx = 16,
                                    .cache_type = backend::CacheType::F32};
    backend::SequenceState st(shape);
    const backend::AttentionShape as{4, 2, 16, 16, 0.25f};
    const auto q = randn(6 * 4 * 16, 1.0f, 22), k = randn(6 * 2 * 16, 1.0f, 23), v = randn(6 * 2 * 16, 1.0f, 24);
    std::vector<float> y(q.size());
    be.store_kv("blk.0.kv", st.kv(0), as, k.data(), v.data(), 0, 6);
    be.attention("blk.0.attn", st.kv(0), as, q.data(), 0, 6, y.data());
    return y;
  });
}

// ---- fixture models ------------------------------------------------------------------------------------------
std::vector<float> fixture_pixels(const Model& m, const std::string& image) {
  return m.preprocess_image(Image::load(test::fixture("vision/mnv5-tiny/images/" + image)));
}

std::shared_ptr<Model> load_with(const std::string& path, const std::string& backend, const std::string& recipe,
                                 const std::string& calib = "", int threads = 2) {
  ModelOptions o;
  o.n_threads = threads;
  o.backend = backend;
  o.recipe = recipe;
  o.calibration = calib;
  return Model::load(path, o);
}

class QuantFixtures : public ::testing::Test {
 protected:
  // A failure here must fail every test of the suite (gtest would report them as skipped after an
  // ASSERT in SetUpTestSuite), so it is kept and asserted in SetUp.
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const auto r = test::run_cli("calibrate -m " + test::quote(vision()) + " --images " +
                                 test::quote(test::fixture("vision/mnv5-tiny/images")) + " --out " + test::quote(vcalib()));
    if (r.exit_code != 0) setup_error_ = "vision calibration failed:\n" + r.out;
    std::ofstream(dir_->file("prompts.txt")) << "The quick brown fox jumps over the lazy dog.\nHello world, 1 2 3.\n";
    const auto r2 = test::run_cli("calibrate -m " + test::quote(text()) + " --prompts " + test::quote(dir_->file("prompts.txt")) +
                                  " --out " + test::quote(tcalib()));
    if (r2.exit_code != 0) setup_error_ += "text calibration failed:\n" + r2.out;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
  static void TearDownTestSuite() { delete dir_; }
  static std::string vision() { return test::fixture("vision/mnv5-tiny/hf"); }
  static std::string text() { return test::lfm2_tiny("model-f32.gguf"); }
  static std::string vcalib() { return dir_->file("vision-calib.json"); }
  static std::string tcalib() { return dir_->file("text-calib.json"); }

  static std::vector<float> encode(const std::shared_ptr<Model>& m, const std::string& image) {
    const auto px = fixture_pixels(*m, image);
    const int s = m->vision_info().image_size;
    return m->encode_pixels(px, s, s, VisionStage::Connector).rows;
  }
  static std::vector<float> logits(const std::shared_ptr<Model>& m) {
    Session s(m, {64, 16, CacheType::F32});
    return s.decode(m->tokenize("The quick brown fox jumps over", true, true), true);
  }
  static test::TempDir* dir_;
  static std::string setup_error_;
};
test::TempDir* QuantFixtures::dir_ = nullptr;
std::string QuantFixtures::setup_error_;

// The quantized backends keep 16-bit codes in the KV cache, which only f32 holds exactly: a session asked
// for f16 holds f32 under sim and npu, and reports what it holds.
TEST_F(QuantFixtures, QuantizedBackendsHoldAnF32Cache) {
  for (const char* backend : {"float", "sim", "npu"}) {
    const bool quantized = std::string(backend) != "float";
    Session s(load_with(text(), backend, quantized ? "w8a16" : ""), {16, 8, CacheType::F16});
    EXPECT_EQ(s.memory().cache_type, quantized ? CacheType::F32 : CacheType::F16) << backend;
  }
}

TEST_F(QuantFixtures, EncoderSqnrOrdersTheRecipesAndW16IsNearFloat) {
  const auto ref = encode(load_with(vision(), "float", ""), "newspaper.jpg");
  std::map<std::string, double> sqnr;
  for (const char* r : {"w8a16", "w8a8", "w4a16", "w16a16"})
    sqnr[r] = quant::sqnr_db(ref.data(), encode(load_with(vision(), "npu", r, vcalib()), "newspaper.jpg").data(),
                             static_cast<int64_t>(ref.size()));
  EXPECT_GT(sqnr["w8a16"], sqnr["w8a8"]);
  EXPECT_GT(sqnr["w8a16"], sqnr["w4a16"]);
  // w16a16 within 1e-3 relative (RMS) of float: SQNR above 60 dB.
  EXPECT_GT(sqnr["w16a16"], 60.0);
}

TEST_F(QuantFixtures, SimAndNpuAgree) {
  for (const char* image : {"newspaper.jpg", "cockpit.png"}) {
    const auto sim = encode(load_with(vision(), "sim", "w8a16", vcalib()), image);
    const auto npu = encode(load_with(vision(), "npu", "w8a16", vcalib()), image);
    EXPECT_GE(quant::sqnr_db(sim.data(), npu.data(), static_cast<int64_t>(sim.size())), 50.0) << image;
  }
  const auto sim = logits(load_with(text(), "sim", "autoneural", tcalib()));
  const auto npu = logits(load_with(text(), "npu", "autoneural", tcalib()));
  EXPECT_GE(quant::sqnr_db(sim.data(), npu.data(), static_cast<int64_t>(sim.size())), 50.0);
  const auto ref = logits(load_with(text(), "float", ""));
  const auto w16 = logits(load_with(text(), "npu", "w16a16", tcalib()));
  EXPECT_LT(quant::rms_pct(ref.data(), w16.data(), static_cast<int64_t>(ref.size())) / 100, 1e-3);
}

TEST_F(QuantFixtures, NpuIsDeterministicAcrossThreads) {
  EXPECT_EQ(encode(load_with(vision(), "npu", "w8a16", vcalib(), 1), "cockpit.png"),
            encode(load_with(vision(), "npu", "w8a16", vcalib(), 2), "cockpit.png"));
  EXPECT_EQ(logits(load_with(text(), "npu", "autoneural", tcalib(), 1)),
            logits(load_with(text(), "npu", "autoneural", tcalib(), 2)));
}

TEST_F(QuantFixtures, NpuIsIdenticalWithTheScalarPathForced) {
  test::TempDir d;
  const std::string common = "logits -m " + test::quote(text()) + " --backend npu --recipe autoneural --calib " +
                             test::quote(tcalib()) + " --prompt-file " + test::quote(dir_->file("prompts.txt"));
  const auto a = test::run_cli(common + " --out " + test::quote(d.file("a.npy")));
  const auto b = test::run_cli(common + " --out " + test::quote(d.file("b.npy")), "AUTONEURAL_ISA=scalar");
  ASSERT_EQ(a.exit_code, 0) << a.out;
  ASSERT_EQ(b.exit_code, 0) << b.out;
  EXPECT_EQ(test::npy_f32(d.file("a.npy")), test::npy_f32(d.file("b.npy")));
  const auto v1 = test::run_cli("encode -m " + test::quote(vision()) + " --image " +
                                test::quote(test::fixture("vision/mnv5-tiny/images/cockpit.png")) + " --backend npu --recipe w8a16 --out " +
                                test::quote(d.file("v1.npy")));
  const auto v2 = test::run_cli("encode -m " + test::quote(vision()) + " --image " +
                                    test::quote(test::fixture("vision/mnv5-tiny/images/cockpit.png")) +
                                    " --backend npu --recipe w8a16 --out " + test::quote(d.file("v2.npy")),
                                "AUTONEURAL_ISA=scalar");
  ASSERT_EQ(v1.exit_code, 0) << v1.out;
  ASSERT_EQ(v2.exit_code, 0) << v2.out;
  EXPECT_EQ(test::npy_f32(d.file("v1.npy")), test::npy_f32(d.file("v2.npy")));
}

TEST_F(QuantFixtures, QuantizedFileRoundTripsWithTheSameOutputs) {
  const std::string out = dir_->file("q.gguf");
  const auto r = test::run_cli("quantize " + test::quote(text()) + " " + test::quote(out) + " --recipe autoneural --calib " +
                               test::quote(tcalib()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto before = logits(load_with(text(), "npu", "autoneural", tcalib()));
  EXPECT_EQ(logits(load_with(out, "npu", "")), before);
  EXPECT_EQ(logits(load_with(out, "sim", "")), logits(load_with(text(), "sim", "autoneural", tcalib())));
  // The language model's matrices are llama.cpp Q4_0 (group 32 = one Q4_0 block).
  const auto g = format::GgufFile::open(out);
  EXPECT_EQ(static_cast<uint32_t>(g.find_tensor("blk.0.ffn_up.weight")->type), static_cast<uint32_t>(TensorType::Q4_0));
  // And the float backend reads it as an ordinary Q4_0 model.
  EXPECT_EQ(logits(load_with(out, "float", "")).size(), before.size());
}

TEST_F(QuantFixtures, VisionLanguageModelQuantizesMergedOrAsAPair) {
  test::TempDir d;
  const std::string vlm = test::fixture("vlm/autoneural-tiny");
  auto q = [&](const std::string& f) { return test::quote(d.file(f)); };
  ASSERT_EQ(test::run_cli("convert " + test::quote(vlm + "/hf") + " " + q("t.gguf") + " --mmproj " + q("v.gguf") + " --type f32").exit_code, 0);
  auto r = test::run_cli("quantize " + q("t.gguf") + " " + q("merged.gguf") + " --mmproj " + q("v.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = test::run_cli("quantize " + q("t.gguf") + " " + q("tq.gguf") + " --mmproj " + q("v.gguf") + " --mmproj-out " + q("vq.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string args = " --backend npu --prompt-file " + test::quote(vlm + "/ref/one_image.prompt.txt") + " --image " +
                           test::quote(test::fixture("vision/mnv5-tiny/images/cockpit.png"));
  for (const auto& [model, out] : std::vector<std::pair<std::string, std::string>>{
           {q("t.gguf") + " --mmproj " + q("v.gguf") + " --recipe autoneural", "mem.npy"},
           {q("merged.gguf"), "merged.npy"},
           {q("tq.gguf") + " --mmproj " + q("vq.gguf"), "pair.npy"}}) {
    r = test::run_cli("logits -m " + model + args + " --out " + q(out));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  const auto mem = test::npy_f32(d.file("mem.npy"));
  EXPECT_EQ(test::npy_f32(d.file("merged.npy")), mem);
  EXPECT_EQ(test::npy_f32(d.file("pair.npy")), mem);
}

TEST_F(QuantFixtures, BadInputsAreClearErrors) {
  test::TempDir d;
  auto r = test::run_cli("calibrate -m " + test::quote(vision()) + " --images " + test::quote(d.path()) + " --out " + test::quote(d.file("c.json")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("holds no images"), std::string::npos) << r.out;
  std::ofstream(d.file("broken.png")) << "not a png";
  r = test::run_cli("calibrate -m " + test::quote(vision()) + " --images " + test::quote(d.path()) + " --out " + test::quote(d.file("c.json")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("broken.png"), std::string::npos) << r.out;
  r = test::run_cli("logits -m " + test::quote(text()) + " --backend npu --calib " + test::quote(vcalib()) +
                    " --prompt-file " + test::quote(dir_->file("prompts.txt")) + " --out " + test::quote(d.file("l.npy")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("recorded on another model"), std::string::npos) << r.out;
  r = test::run_cli("quantize " + test::quote(text()) + " " + test::quote(d.file("q.gguf")) + " --recipe w3a5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("unknown quantization recipe 'w3a5'"), std::string::npos) << r.out;
  std::ofstream(d.file("bad.json")) << "{\"format\": \"something else\"}";
  r = test::run_cli("logits -m " + test::quote(text()) + " --backend sim --calib " + test::quote(d.file("bad.json")) +
                    " --prompt-file " + test::quote(dir_->file("prompts.txt")) + " --out " + test::quote(d.file("l.npy")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("not an autoneural calibration file"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(d.file("q.gguf")));
}

TEST_F(QuantFixtures, ReportWritesRecordsAndAPlot) {
  test::TempDir d;
  const auto r = test::run_cli("quant-report -m " + test::quote(vision()) + " --images " +
                               test::quote(test::fixture("vision/mnv5-tiny/images")) + " --recipes w8a16,w4a16 --out " +
                               test::quote(d.file("r.json")) + " --plot " + test::quote(d.file("p.svg")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(format::read_text_file(d.file("r.json")));
  ASSERT_TRUE(j.is_array());
  std::map<std::string, double> enc;
  for (const auto& rec : j) {
    ASSERT_TRUE(rec.contains("recipe") && rec.contains("tensor") && rec.contains("sqnr_db") && rec.contains("rms_pct"));
    if (rec["tensor"] == "encoder_output") {
      enc[rec["recipe"]] = rec["sqnr_db"];
      // rms_pct and sqnr_db describe the same error.
      EXPECT_NEAR(rec["rms_pct"].get<double>(), 100 * std::pow(10.0, -rec["sqnr_db"].get<double>() / 20), 1e-6);
    }
  }
  EXPECT_GT(enc.at("w8a16"), enc.at("w4a16"));
  const std::string svg = format::read_text_file(d.file("p.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("w4a16"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
}

}  // namespace
}  // namespace autoneural

namespace autoneural {
namespace {

TEST(Perplexity, MatchesTheChunkedNllComputedHere) {
  test::TempDir d;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the quick brown fox jumps over the lazy dog " + std::to_string(i) + ". ";
  std::ofstream(d.file("t.txt")) << text;
  const std::string m = test::lfm2_tiny("model-f32.gguf");
  const auto r = test::run_cli("perplexity -m " + test::quote(m) + " -f " + test::quote(d.file("t.txt")) + " -c 32 --chunks 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  // The same measurement from the library: chunks of BOS + 31 tokens, positions 16..30 predicting the next.
  auto model = Model::load(m, {});
  const auto tokens = model->tokenize(text, false, false);
  double nll = 0;
  int count = 0;
  for (int c = 0; c < 3; ++c) {
    std::vector<int32_t> chunk{model->bos()};
    chunk.insert(chunk.end(), tokens.begin() + c * 31, tokens.begin() + (c + 1) * 31);
    Session s(model, {32, 8, CacheType::F32});
    const auto logits = s.decode(chunk, true);
    for (int i = 16; i < 31; ++i) nll += quant::token_nll(logits.data() + i * model->info().n_vocab, model->info().n_vocab, chunk[i + 1]), ++count;
  }
  EXPECT_EQ(j["tokens"].get<int>(), count);
  EXPECT_NEAR(j["ppl"].get<double>(), std::exp(nll / count), 1e-4 * std::exp(nll / count));
  const auto bad = test::run_cli("perplexity -m " + test::quote(m) + " -f " + test::quote(d.file("t.txt")) + " -c 100000");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("use a smaller -c"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace autoneural

namespace autoneural::quant {
namespace {

// Found by fuzz_json: a "format" (or "version") of another JSON type escaped Calibration::parse as a
// nlohmann type_error instead of the reader's own error.
TEST(CalibrationFile, FieldsOfAnotherTypeAreClearErrors) {
  test::expect_error([] { Calibration::parse(R"({"format": 7, "version": 1})", "c.json"); },
                     "c.json is not an autoneural calibration file");
  test::expect_error([] { Calibration::parse(R"({"format": ["autoneural-calibration"]})", "c.json"); },
                     "c.json is not an autoneural calibration file");
  test::expect_error([] { Calibration::parse(R"({"format": "autoneural-calibration", "version": "1"})", "c.json"); },
                     "c.json: unsupported calibration version");
  test::expect_error([] { Calibration::parse(R"({"format": "autoneural-calibration"})", "c.json"); },
                     "c.json: unsupported calibration version");
  // The same for integer fields given as huge floats (UBSan, also found by fuzz_json).
  test::expect_error(
      [] {
        Calibration::parse(R"({"format": "autoneural-calibration", "version": 1, "fingerprint": "f", "images": 1e300,
                               "tensors": {}})", "c.json");
      },
      "c.json: malformed calibration file (field 'images' must be an integer");
  const Calibration c = Calibration::parse(
      R"({"format": "autoneural-calibration", "version": 1, "fingerprint": "f", "tensors": {}})", "c.json");
  EXPECT_EQ(c.fingerprint, "f");
}

}  // namespace
}  // namespace autoneural::quant
