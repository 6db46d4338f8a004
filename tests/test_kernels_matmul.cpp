// matmul() for every weight type and every kernel table on this machine: against matmul_reference()
// within float-accumulation bounds, and bit-identical for any number of threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "format/half.h"
#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"
#include "kernels/thread_pool.h"

namespace autoneural::kernels {
namespace {

std::vector<Isa> all_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

struct TestMatrix {
  std::vector<uint8_t> bytes;
  Matrix m;
};

// Random weights of any supported type. K-quant blocks are random bytes with sane fp16 scales.
TestMatrix make_matrix(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
  TestMatrix t;
  const size_t rb = row_bytes(type, cols);
  t.bytes.resize(rb * static_cast<size_t>(rows));
  std::mt19937 rng(seed);
  if (type == TensorType::Q4_K || type == TensorType::Q6_K) {
    for (auto& b : t.bytes) b = static_cast<uint8_t>(rng());
    const size_t bb = type == TensorType::Q4_K ? 144 : 210;
    for (size_t off = 0; off < t.bytes.size(); off += bb) {
      if (type == TensorType::Q4_K) {
        const uint16_t d = f32_to_fp16(0.002f + 0.001f * static_cast<float>(rng() % 8));
        const uint16_t dmin = f32_to_fp16(0.001f * static_cast<float>(rng() % 8));
        std::memcpy(t.bytes.data() + off, &d, 2);
        std::memcpy(t.bytes.data() + off + 2, &dmin, 2);
      } else {
        const uint16_t d = f32_to_fp16(0.0001f * static_cast<float>(1 + rng() % 8));
        std::memcpy(t.bytes.data() + off + 208, &d, 2);
      }
    }
  } else {
    std::normal_distribution<float> nd(0.0f, 0.05f);
    std::vector<float> w(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : w) v = nd(rng);
      quantize_row(type, w.data(), t.bytes.data() + r * rb, cols);
    }
  }
  t.m.type = type;
  t.m.rows = rows;
  t.m.cols = cols;
  t.m.data = t.bytes.data();
  t.m.row_stride = rb;
  return t;
}

void check_matmul(TensorType type, int64_t rows, int64_t cols, int64_t n_tok) {
  SCOPED_TRACE(std::string(tensor_type_name(type)) + " rows=" + std::to_string(rows) + " cols=" +
               std::to_string(cols) + " n_tok=" + std::to_string(n_tok));
  const TestMatrix w = make_matrix(type, rows, cols, static_cast<uint32_t>(rows * 7 + cols + n_tok));
  std::mt19937 rng(static_cast<uint32_t>(n_tok));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t ldx = cols + 3, ldy = rows + 2;
  std::vector<float> x(static_cast<size_t>(n_tok * ldx));
  for (auto& v : x) v = nd(rng);
  std::vector<float> ref(static_cast<size_t>(n_tok * ldy));
  matmul_reference(w.m, x.data(), ldx, n_tok, ref.data(), ldy);

  // Magnitude of each dot product's terms (with the activations as the kernels see them).
  const bool q8 = type == TensorType::Q4_0 || type == TensorType::Q8_0;
  std::vector<float> acts(x.size()), wrow(static_cast<size_t>(cols));
  std::vector<uint8_t> qa(row_bytes(TensorType::Q8_0, cols));
  for (int64_t t = 0; t < n_tok; ++t) {
    if (q8) {
      quantize_row(TensorType::Q8_0, x.data() + t * ldx, qa.data(), cols);
      dequantize_row(TensorType::Q8_0, qa.data(), acts.data() + t * ldx, cols);
    } else {
      std::copy(x.begin() + t * ldx, x.begin() + t * ldx + cols, acts.begin() + t * ldx);
    }
  }
  std::vector<double> mag(ref.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(type, w.bytes.data() + r * w.m.row_stride, wrow.data(), cols);
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t c = 0; c < cols; ++c)
        mag[t * ldy + r] += std::fabs(static_cast<double>(wrow[c]) * acts[t * ldx + c]);
  }
  const double terms = q8 ? static_cast<double>(cols / 32 + 1) : static_cast<double>(cols / 8 + 8);

  kernels::ThreadPool pool1(1), pool2(2), pool3(3);
  MatmulScratch scratch;
  for (Isa isa : all_isas()) {
    SCOPED_TRACE(isa_name(isa));
    const KernelTable& k = kernel_table(isa);
    std::vector<float> y1(ref.size(), -7.0f), y2(ref.size(), -7.0f), y3(ref.size(), -7.0f);
    matmul(k, w.m, x.data(), ldx, n_tok, y1.data(), ldy, scratch, pool1);
    matmul(k, w.m, x.data(), ldx, n_tok, y2.data(), ldy, scratch, pool2);
    matmul(k, w.m, x.data(), ldx, n_tok, y3.data(), ldy, scratch, pool3);
    for (int64_t t = 0; t < n_tok; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        const size_t i = static_cast<size_t>(t * ldy + r);
        ASSERT_NEAR(y1[i], ref[i], 4.0 * terms * 6e-8 * mag[i] + 1e-30) << "r=" << r << " t=" << t;
        ASSERT_EQ(f32_to_bits(y1[i]), f32_to_bits(y2[i])) << "thread count changed the result, r=" << r << " t=" << t;
        ASSERT_EQ(f32_to_bits(y1[i]), f32_to_bits(y3[i])) << "thread count changed the result, r=" << r << " t=" << t;
      }
      for (int64_t r = rows; r < ldy; ++r) ASSERT_EQ(y2[t * ldy + r], -7.0f) << "wrote past the rows";
    }
  }
}

TEST(Matmul, QuantizedMatchesReference) {
  for (TensorType type : {TensorType::Q4_0, TensorType::Q8_0}) {
    check_matmul(type, 1, 32, 1);
    check_matmul(type, 129, 96, 3);
    check_matmul(type, 200, 2048, 1);
    check_matmul(type, 77, 2048 + 64, 9);
    check_matmul(type, 300, 512, 70);
    check_matmul(type, 40, 8192, 2);
  }
}

TEST(Matmul, FloatMatchesReference) {
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
    check_matmul(type, 1, 1, 1);
    check_matmul(type, 70, 13, 3);
    check_matmul(type, 129, 2048, 1);
    check_matmul(type, 33, 300, 17);
    // Enough tokens for the packed-panel path (partial panels, several column slices, partial token tiles).
    check_matmul(type, 70, 600, 261);
    check_matmul(type, 33, 96, 300);
  }
}

TEST(Matmul, KQuantsMatchReference) {
  for (TensorType type : {TensorType::Q4_K, TensorType::Q6_K}) {
    check_matmul(type, 1, 256, 1);
    check_matmul(type, 70, 512, 5);
    check_matmul(type, 33, 2048, 1);
  }
}

TEST(Matmul, RowStrideAndZeroSizes) {
  // A matrix view over every other row of a larger tensor (row_stride = 2 rows).
  TestMatrix w = make_matrix(TensorType::Q4_0, 64, 256, 9);
  Matrix half = w.m;
  half.rows = 32;
  half.row_stride = 2 * w.m.row_stride;
  std::vector<float> x(256, 0.5f), y(32), yref(32);
  kernels::ThreadPool pool(2);
  MatmulScratch scratch;
  matmul(half, x.data(), 256, 1, y.data(), 32, scratch, pool);
  matmul_reference(half, x.data(), 256, 1, yref.data(), 32);
  for (int r = 0; r < 32; ++r) EXPECT_NEAR(y[r], yref[r], 1e-4f * (1.0f + std::fabs(yref[r])));
  matmul(half, x.data(), 256, 0, y.data(), 32, scratch, pool);  // no tokens: nothing to do, no crash
}

}  // namespace
}  // namespace autoneural::kernels
