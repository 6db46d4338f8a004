#include "kernels/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define AUTONEURAL_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define AUTONEURAL_CPU_RELAX() asm volatile("yield")
#else
#define AUTONEURAL_CPU_RELAX() ((void)0)
#endif

namespace autoneural::kernels {

namespace {
// About 50-100 microseconds of spinning before a worker goes to sleep: long enough to bridge the gap
// between consecutive kernels of one decode step, short enough not to burn a core between requests.
constexpr int kSpinIterations = 20000;
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true, std::memory_order_release);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      AUTONEURAL_CPU_RELAX();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1, std::memory_order_acq_rel);
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    (*job_)(index, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  job_ = &fn;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  generation_.fetch_add(1);
  // seq_cst on both sides (generation/sleepers) rules out a lost wake-up (Dekker pattern).
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);  // pairs with the predicate check in worker_loop
    wake_.notify_all();
  }
  fn(0, n_threads_);
  while (pending_.load(std::memory_order_acquire) != 0) AUTONEURAL_CPU_RELAX();
  job_ = nullptr;
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int64_t threads = std::min<int64_t>(n_threads_, max_chunks);
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  run([&](int t, int) {
    if (t >= threads) return;
    // Contiguous, balanced split rounded to the grain so that SIMD tiles stay whole.
    const int64_t chunks_per_thread = max_chunks / threads, extra = max_chunks % threads;
    const int64_t c0 = t * chunks_per_thread + std::min<int64_t>(t, extra);
    const int64_t c1 = c0 + chunks_per_thread + (t < extra ? 1 : 0);
    const int64_t b = c0 * grain, e = std::min(n, c1 * grain);
    if (b < e) fn(b, e);
  });
}

}  // namespace autoneural::kernels
