// Exact integer GEMM tile kernels of the npu backend (KernelTable::int_gemm), per kernel table, weight
// scheme and token count, one thread: GMAC/s.
//
//   autoneural_bench --benchmark_filter=BM_IntGemm
//
// Schemes: int8 per channel (codes up to 127, no groups, the W8A16 encoder) and int4/g32 (codes up to 8,
// a multiplier per 32 inputs, the W4A16 language model). 2048x2048 is an LFM2-1.2B attention projection;
// tok1 is decoding, tok64 a prefill chunk or a row of feature-map pixels.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"

namespace {

namespace k = autoneural::kernels;

void BM_IntGemm(benchmark::State& state, k::Isa isa, int32_t max_code, int64_t group, int64_t in, int64_t out,
                int64_t n_tok) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> wd(-max_code, max_code), xd(-32768, 32767);
  std::vector<int16_t> w(static_cast<size_t>(in * out)), x(static_cast<size_t>(in * n_tok));
  for (auto& v : w) v = static_cast<int16_t>(wd(rng));
  for (auto& v : x) v = static_cast<int16_t>(xd(rng));
  const int64_t n_groups = group ? in / group : 1;
  std::vector<int32_t> mult(static_cast<size_t>(out * n_groups));
  for (auto& v : mult) v = static_cast<int32_t>(rng() % 65536);
  std::vector<int64_t> acc(static_cast<size_t>(out * n_tok));
  const k::IntGemmArgs args{w.data(), in,  out, in, max_code, x.data(), in, n_tok, acc.data(), out,
                            group ? mult.data() : nullptr, group, n_groups};
  const k::KernelTable& table = k::kernel_table(isa);
  for (auto _ : state) {
    table.int_gemm(args);
    benchmark::DoNotOptimize(acc.data());
  }
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(in * out * n_tok) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

int register_all() {
  struct Scheme {
    const char* name;
    int32_t max_code;
    int64_t group;
  };
  for (k::Isa isa : {k::Isa::scalar, k::Isa::avx2, k::Isa::avx512, k::Isa::neon}) {
    if (!k::isa_supported(isa)) continue;
    for (const Scheme s : {Scheme{"int8", 127, 0}, Scheme{"int4g32", 8, 32}})
      for (int64_t n_tok : {1, 64}) {
        const std::string name = std::string("BM_IntGemm/") + k::isa_name(isa) + "/" + s.name + "/2048x2048/tok" +
                                 std::to_string(n_tok);
        benchmark::RegisterBenchmark(name.c_str(), BM_IntGemm, isa, s.max_code, s.group, 2048, 2048, n_tok)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime()
            ->MinTime(0.3);
      }
  }
  return 0;
}

const int registered = register_all();

}  // namespace
