// A fixed-size pool of worker threads for data-parallel kernels.
//
// Decoding calls many short kernels per token (tens of matmuls of a few microseconds each), so the
// workers spin briefly on an atomic generation counter before sleeping: waking a sleeping thread through
// a condition variable costs more than most decode-time kernels. The calling thread takes part as worker 0.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace autoneural::kernels {

class ThreadPool {
 public:
  // n_threads includes the calling thread; values < 1 are treated as 1.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(thread_index, n_threads) once on every thread and returns when all are done.
  // Work partitioning is up to fn; it must not throw.
  void run(const std::function<void(int, int)>& fn);

  // Splits [0, n) into contiguous chunks of at least `grain` items and runs fn(begin, end) on them,
  // spread over the threads. Deterministic partition for a given (n, grain, size()).
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

}  // namespace autoneural::kernels
