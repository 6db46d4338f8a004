// matmul throughput for the LFM2-1.2B shapes: GMAC/s (multiply-accumulates per second) and GB/s (weight
// bytes streamed per second), per kernel table, weight type, token count and thread count.
//
//   autoneural_bench --benchmark_filter=BM_Matmul
//
// Shapes are in x out: 2048x2048 (attention projections), 2048x6144 (fused qkv-sized), 2048x8192 (ffn
// up/gate), 8192x2048 (ffn down). n_tokens = 1 is decoding (matrix-vector, bandwidth bound), 512 is
// prefill (matrix-matrix, compute bound). Decode runs come in two flavours: "hot" reuses one weight matrix
// (it stays in the 32 MB L3 when it fits), "cold" cycles through enough copies (>= 96 MB) that every call
// streams its weights from DRAM, as a real model's decode step does.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "format/half.h"
#include "format/tensor_type.h"
#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/thread_pool.h"

namespace {

using autoneural::TensorType;
namespace k = autoneural::kernels;

// Random but valid weight bytes: random codes with a small, finite fp16 scale in every block.
std::vector<uint8_t> random_weights(TensorType type, int64_t rows, int64_t cols, uint64_t seed) {
  const size_t n = autoneural::row_bytes(type, cols) * static_cast<size_t>(rows);
  std::vector<uint8_t> b(n);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i += 8) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    std::memcpy(b.data() + i, &s, std::min<size_t>(8, n - i));
  }
  const uint16_t small = autoneural::f32_to_fp16(0.01f);
  if (type == TensorType::Q4_0 || type == TensorType::Q8_0) {
    const size_t bb = type == TensorType::Q4_0 ? 18 : 34;
    for (size_t off = 0; off < n; off += bb) std::memcpy(b.data() + off, &small, 2);
  } else if (type == TensorType::F16) {
    for (size_t off = 0; off < n; off += 2) {
      uint16_t h;
      std::memcpy(&h, b.data() + off, 2);
      h = static_cast<uint16_t>(h & 0xBBFF);  // clear exponent bits: finite values below 2
      std::memcpy(b.data() + off, &h, 2);
    }
  }
  return b;
}

void BM_Matmul(benchmark::State& state, k::Isa isa, TensorType type, int64_t in, int64_t out, int64_t n_tok,
               int threads, bool cold) {
  const k::KernelTable& table = k::kernel_table(isa);
  const size_t bytes = autoneural::row_bytes(type, in) * static_cast<size_t>(out);
  const size_t copies = cold ? std::max<size_t>(2, (96u << 20) / bytes + 1) : 1;
  std::vector<std::vector<uint8_t>> w;
  for (size_t i = 0; i < copies; ++i) w.push_back(random_weights(type, out, in, i + 1));
  std::vector<float> x(static_cast<size_t>(n_tok * in)), y(static_cast<size_t>(n_tok * out));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 2001) / 1000.0f - 1.0f;
  autoneural::kernels::ThreadPool pool(threads);
  k::MatmulScratch scratch;
  k::Matrix m;
  m.type = type;
  m.rows = out;
  m.cols = in;
  m.row_stride = autoneural::row_bytes(type, in);
  size_t i = 0;
  for (auto _ : state) {
    m.data = w[i].data();
    i = (i + 1) % copies;
    k::matmul(table, m, x.data(), in, n_tok, y.data(), out, scratch, pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(in) * static_cast<double>(out) * static_cast<double>(n_tok);
  state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(bytes) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

int register_all() {
  struct Shape {
    int64_t in, out;
  };
  const Shape shapes[] = {{2048, 2048}, {2048, 6144}, {2048, 8192}, {8192, 2048}};
  for (k::Isa isa : {k::Isa::avx512, k::Isa::avx2, k::Isa::neon}) {
    if (!k::isa_supported(isa)) continue;
    for (const Shape& s : shapes) {
      for (int64_t n_tok : {1, 512}) {
        for (TensorType type : {TensorType::Q4_0, TensorType::Q8_0, TensorType::F16}) {
          if (type == TensorType::F16 && n_tok != 1) continue;
          for (int threads : {1, 2}) {
            for (bool cold : {false, true}) {
              if (cold && n_tok != 1) continue;
              const std::string name = std::string("BM_Matmul/") + k::isa_name(isa) + "/" +
                                       std::string(autoneural::tensor_type_name(type)) + "/" +
                                       std::to_string(s.in) + "x" + std::to_string(s.out) + "/tok" +
                                       std::to_string(n_tok) + "/t" + std::to_string(threads) +
                                       (n_tok == 1 ? (cold ? "/cold" : "/hot") : "");
              benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, isa, type, s.in, s.out, n_tok, threads, cold)
                  ->Unit(benchmark::kMicrosecond)
                  ->UseRealTime()
                  ->MinTime(n_tok == 1 ? 0.2 : 0.5);
            }
          }
        }
      }
    }
  }
  return 0;
}

const int registered = register_all();

}  // namespace
