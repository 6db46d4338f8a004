// matmul(): activation quantization, work partitioning and dispatch to the active kernel table.
//
// Partitioning: output rows are cut into chunks that threads claim dynamically (an atomic counter local to
// the call); a chunk is computed for all tokens with complete dot products. Every kernel computes each
// (row, token) output with the same sequence of operations whatever rows and tokens share its tile, so
// results depend neither on the thread count nor on which thread ran which chunk. Dynamic claiming matters
// for decoding: two cores rarely get equal DRAM bandwidth, and a static half/half split left one of them
// idle for ~5% of every token.
#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "autoneural/error.h"
#include "kernels/dispatch.h"
#include "kernels/quantize.h"
#include "kernels/thread_pool.h"

namespace autoneural::kernels {

uint8_t* MatmulScratch::reserve(size_t n) {
  if (bytes.size() < n) bytes.resize(n);
  return bytes.data();
}

namespace {

constexpr size_t kAlign = 64;

size_t align_up(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

// Splits [0, n) into chunks of `grain` and gives each thread a contiguous, balanced run of chunks;
// fn(thread, begin, end) is called once per thread that has work.
template <typename Fn>
void split_rows(kernels::ThreadPool& pool, int64_t n, int64_t grain, Fn&& fn) {
  const int64_t chunks = (n + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<int64_t>(pool.size(), chunks));
  if (threads <= 1) {
    fn(0, int64_t{0}, n);
    return;
  }
  pool.run([&](int t, int) {
    if (t >= threads) return;
    const int64_t per = chunks / threads, extra = chunks % threads;
    const int64_t c0 = t * per + std::min<int64_t>(t, extra);
    const int64_t c1 = c0 + per + (t < extra ? 1 : 0);
    const int64_t b = c0 * grain, e = std::min(n, c1 * grain);
    if (b < e) fn(t, b, e);
  });
}

// Runs fn(thread, begin, end, next_begin, next_end) over chunks of `chunk` rows of [0, n), claimed
// dynamically; [next_begin, next_end) is the chunk the same thread will run next (empty if none), so that
// kernels can prefetch it.
template <typename Fn>
void for_each_chunk(kernels::ThreadPool& pool, int64_t n, int64_t chunk, Fn&& fn) {
  const int64_t chunks = (n + chunk - 1) / chunk;
  const auto range = [&](int64_t c, int64_t& b, int64_t& e) {
    b = c < chunks ? c * chunk : n;
    e = c < chunks ? std::min(n, b + chunk) : n;
  };
  if (pool.size() == 1 || chunks == 1) {
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t b, e, nb, ne;
      range(c, b, e);
      range(c + 1, nb, ne);
      fn(0, b, e, nb, ne);
    }
    return;
  }
  std::atomic<int64_t> counter{0};
  pool.run([&](int t, int) {
    int64_t c = counter.fetch_add(1, std::memory_order_relaxed);
    while (c < chunks) {
      const int64_t c_next = counter.fetch_add(1, std::memory_order_relaxed);  // claimed before running c
      int64_t b, e, nb, ne;
      range(c, b, e);
      range(c_next, nb, ne);
      fn(t, b, e, nb, ne);
      c = c_next;
    }
  });
}

constexpr int64_t kPackedMinTokens = 256;

void check_matrix(const Matrix& w) {
  const auto& tr = traits(w.type);
  if (w.cols <= 0 || w.cols % tr.block_elems != 0)
    throw Error("matmul: " + std::to_string(w.cols) + " columns is not a whole number of " +
                std::string(tr.name) + " blocks");
}

size_t stride_of(const Matrix& w) { return w.row_stride ? w.row_stride : row_bytes(w.type, w.cols); }

void matmul_quantized(const KernelTable& k, const Matrix& w, const float* x, int64_t ldx, int64_t n_tok,
                      float* y, int64_t ldy, MatmulScratch& scratch, kernels::ThreadPool& pool) {
  QuantizedActs act;
  act.n_blocks = w.cols / 32;
  act.n_tok = n_tok;
  act.tile = k.act_tile;
  const size_t qs_bytes = align_up(act.qs_bytes());
  const size_t sc_bytes = align_up(act.scale_count() * sizeof(float));
  uint8_t* raw = scratch.reserve(qs_bytes + 2 * sc_bytes + kAlign);
  uint8_t* base = raw + (kAlign - reinterpret_cast<uintptr_t>(raw) % kAlign) % kAlign;
  act.qs = reinterpret_cast<int8_t*>(base);
  act.d = reinterpret_cast<float*>(base + qs_bytes);
  act.corr = reinterpret_cast<int32_t*>(base + qs_bytes + sc_bytes);

  const int32_t offset = w.type == TensorType::Q4_0 ? 8 : 128;
  // Quantizing is per token, so splitting tokens across threads changes nothing in the result.
  split_rows(pool, n_tok, std::max<int64_t>(1, 8192 / w.cols), [&](int, int64_t t0, int64_t t1) {
    k.quantize_acts(x + t0 * ldx, ldx, t0, t1 - t0, offset, act);
  });

  const auto gemm = w.type == TensorType::Q4_0 ? k.gemm_q4_0 : k.gemm_q8_0;
  const size_t stride = stride_of(w);
  // 64-row chunks: a multiple of every kernel's row tile, small enough to balance two to eight threads,
  // large enough (72 KiB of Q4_0 at 2048 columns) that claiming one costs nothing.
  for_each_chunk(pool, w.rows, 64, [&](int, int64_t r0, int64_t r1, int64_t n0, int64_t n1) {
    QGemmArgs a;
    a.w = w.data + r0 * stride;
    a.next_w = n1 > n0 ? w.data + n0 * stride : nullptr;
    a.next_rows = n1 - n0;
    a.w_stride = stride;
    a.rows = r1 - r0;
    a.n_blocks = act.n_blocks;
    a.act = &act;
    a.tok0 = 0;
    a.n_tok = n_tok;
    a.y = y + r0;
    a.ldy = ldy;
    gemm(a);
  });
}

// Many tokens (vision feature maps): the weights are converted once into float panels of 32 rows stored
// column-major (see SgemmPanelArgs), then work items of (96 tokens × 256 rows) are computed panel by panel
// in 256-column slices, so the slice of weights being used stays in L2 while it is reused for 8 token
// tiles. Every output element is summed in the same column order whoever computes it: the result does not
// depend on the thread count.
void matmul_packed(const KernelTable& k, const Matrix& w, const float* x, int64_t ldx, int64_t n_tok, float* y,
                   int64_t ldy, MatmulScratch& scratch, kernels::ThreadPool& pool) {
  constexpr int64_t P = kSgemmPanelRows, kTokChunk = 96, kPanelGroup = 8, kColSlice = 256;
  const int64_t K = w.cols, n_panels = (w.rows + P - 1) / P;
  const size_t panel_floats = static_cast<size_t>(K * P);
  uint8_t* raw = scratch.reserve(panel_floats * static_cast<size_t>(n_panels) * sizeof(float) + kAlign);
  float* packed = reinterpret_cast<float*>(raw + (kAlign - reinterpret_cast<uintptr_t>(raw) % kAlign) % kAlign);
  const size_t stride = stride_of(w);
  pool.parallel_for(n_panels, 1, [&](int64_t p0, int64_t p1) {
    // 32 rows dequantized side by side, then written column by column: the reads walk 32 cache lines
    // that stay in L1 for 16 columns, the writes are sequential.
    std::vector<float> rows(static_cast<size_t>(P * K));
    for (int64_t p = p0; p < p1; ++p) {
      float* panel = packed + static_cast<size_t>(p) * panel_floats;
      for (int64_t r = 0; r < P; ++r) {
        const int64_t src = p * P + r;
        float* dst = rows.data() + r * K;
        if (src < w.rows) dequantize_row(w.type, w.data + src * stride, dst, K);
        else std::fill(dst, dst + K, 0.0f);
      }
      for (int64_t c = 0; c < K; ++c)
        for (int64_t r = 0; r < P; ++r) panel[c * P + r] = rows[r * K + c];
    }
  });
  const int64_t tok_chunks = (n_tok + kTokChunk - 1) / kTokChunk, groups = (n_panels + kPanelGroup - 1) / kPanelGroup;
  const int64_t items = tok_chunks * groups;
  std::atomic<int64_t> next{0};
  pool.run([&](int, int) {
    for (int64_t it = next.fetch_add(1); it < items; it = next.fetch_add(1)) {
      const int64_t t0 = (it % tok_chunks) * kTokChunk, t1 = std::min(n_tok, t0 + kTokChunk);
      const int64_t g0 = (it / tok_chunks) * kPanelGroup, g1 = std::min(n_panels, g0 + kPanelGroup);
      for (int64_t c0 = 0; c0 < K; c0 += kColSlice) {
        const int64_t kc = std::min(kColSlice, K - c0);
        for (int64_t p = g0; p < g1; ++p) {
          SgemmPanelArgs a;
          a.panel = packed + static_cast<size_t>(p) * panel_floats + c0 * P;
          a.x = x + t0 * ldx + c0;
          a.ldx = ldx;
          a.n_tok = t1 - t0;
          a.kc = kc;
          a.y = y + t0 * ldy + p * P;
          a.ldy = ldy;
          a.rows = std::min(P, w.rows - p * P);
          a.accumulate = c0 > 0;
          k.sgemm_panel(a);
        }
      }
    }
  });
}

void matmul_float(const KernelTable& k, const Matrix& w, const float* x, int64_t ldx, int64_t n_tok, float* y,
                  int64_t ldy, kernels::ThreadPool& pool) {
  const auto gemm = w.type == TensorType::F32 ? k.gemm_f32 : w.type == TensorType::F16 ? k.gemm_f16 : k.gemm_bf16;
  const size_t stride = stride_of(w);
  for_each_chunk(pool, w.rows, 32, [&](int, int64_t r0, int64_t r1, int64_t, int64_t) {
    gemm({w.data + r0 * stride, stride, r1 - r0, w.cols, x, ldx, n_tok, y + r0, ldy});
  });
}

// K-quants: tiles of rows are dequantized to float in per-thread scratch and multiplied on the F32 path.
void matmul_dequantized(const KernelTable& k, const Matrix& w, const float* x, int64_t ldx, int64_t n_tok,
                        float* y, int64_t ldy, MatmulScratch& scratch, kernels::ThreadPool& pool) {
  constexpr int64_t kTileRows = 16;
  const size_t tile_bytes = align_up(static_cast<size_t>(kTileRows * w.cols) * sizeof(float));
  uint8_t* raw = scratch.reserve(tile_bytes * static_cast<size_t>(pool.size()) + kAlign);
  uint8_t* base = raw + (kAlign - reinterpret_cast<uintptr_t>(raw) % kAlign) % kAlign;
  const size_t stride = stride_of(w);
  split_rows(pool, w.rows, 32, [&](int tid, int64_t r0, int64_t r1) {
    float* tile = reinterpret_cast<float*>(base + tile_bytes * static_cast<size_t>(tid));
    for (int64_t r = r0; r < r1; r += kTileRows) {
      const int64_t n = std::min(kTileRows, r1 - r);
      for (int64_t i = 0; i < n; ++i) dequantize_row(w.type, w.data + (r + i) * stride, tile + i * w.cols, w.cols);
      k.gemm_f32({reinterpret_cast<const uint8_t*>(tile), static_cast<size_t>(w.cols) * sizeof(float), n, w.cols, x,
                  ldx, n_tok, y + r, ldy});
    }
  });
}

}  // namespace

void matmul(const Matrix& w, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy,
            MatmulScratch& scratch, kernels::ThreadPool& pool) {
  matmul(active_kernels(), w, x, ldx, n_tokens, y, ldy, scratch, pool);
}

void matmul(const KernelTable& k, const Matrix& w, const float* x, int64_t ldx, int64_t n_tokens, float* y,
            int64_t ldy, MatmulScratch& scratch, kernels::ThreadPool& pool) {
  check_matrix(w);
  if (n_tokens <= 0 || w.rows <= 0) return;
  switch (w.type) {
    case TensorType::Q4_0:
    case TensorType::Q8_0:
      matmul_quantized(k, w, x, ldx, n_tokens, y, ldy, scratch, pool);
      return;
    case TensorType::F32:
    case TensorType::F16:
    case TensorType::BF16:
      // Packing the weights pays off once they are reused for enough tokens (measured: bench_vision).
      if (n_tokens >= kPackedMinTokens) matmul_packed(k, w, x, ldx, n_tokens, y, ldy, scratch, pool);
      else matmul_float(k, w, x, ldx, n_tokens, y, ldy, pool);
      return;
    case TensorType::Q4_K:
    case TensorType::Q6_K:
      matmul_dequantized(k, w, x, ldx, n_tokens, y, ldy, scratch, pool);
      return;
  }
  throw Error("matmul: unsupported weight type " + std::to_string(static_cast<uint32_t>(w.type)));
}

void matmul_reference(const Matrix& w, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy) {
  check_matrix(w);
  const size_t stride = stride_of(w);
  const bool q8_acts = w.type == TensorType::Q4_0 || w.type == TensorType::Q8_0;
  std::vector<float> row(static_cast<size_t>(w.cols)), acts(static_cast<size_t>(n_tokens * w.cols));
  std::vector<uint8_t> q(row_bytes(TensorType::Q8_0, w.cols));
  for (int64_t t = 0; t < n_tokens; ++t) {
    float* a = acts.data() + t * w.cols;
    if (q8_acts) {
      quantize_row(TensorType::Q8_0, x + t * ldx, q.data(), w.cols);
      dequantize_row(TensorType::Q8_0, q.data(), a, w.cols);
    } else {
      std::copy(x + t * ldx, x + t * ldx + w.cols, a);
    }
  }
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w.type, w.data + r * stride, row.data(), w.cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* a = acts.data() + t * w.cols;
      double s = 0.0;
      for (int64_t c = 0; c < w.cols; ++c) s += static_cast<double>(row[c]) * a[c];
      y[t * ldy + r] = static_cast<float>(s);
    }
  }
}

}  // namespace autoneural::kernels
