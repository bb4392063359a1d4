#pragma once
// A small owned thread pool. parallel_for(n, fn) runs fn(task, worker) for task in [0, n) and
// returns when all are done.
//
// Contract:
// - Any thread may call parallel_for. The calling thread works too, as worker 0; pool threads
//   are workers 1..W-1. `worker` is unique among the threads running one parallel_for at a time,
//   so fn may index per-worker scratch by it (scratch sized by workers_for(n, max_workers)).
// - One job runs on the pool at a time. A call made while the pool is busy (from another thread,
//   or nested inside a task) runs all its tasks on the calling thread as worker 0: correct, never
//   a deadlock, just not parallel.
// - Tasks are handed out dynamically (an atomic counter), so uneven tasks balance themselves.
// - The first exception thrown by a task is rethrown to the caller after all workers stop.
// - Idle workers (and a caller waiting for them) spin for kSpinMicros before sleeping: kernels call
//   parallel_for back to back (pack, then tiles; layer after layer), and on a VM a sleeping vCPU
//   takes long to wake (measured: N = 256 causal forward, ~0.5 ms a call, +10 % wall; N = 512 even).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attend::core {

class ThreadPool {
 public:
  using Task = std::function<void(std::int64_t task, int worker)>;

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()) + 1; }
  // Workers a parallel_for(n, fn, max_workers) will use: min(n, max_workers, size()), at least 1.
  int workers_for(std::int64_t n, int max_workers) const;
  void parallel_for(std::int64_t n, const Task& fn, int max_workers = 0);

 private:
  void worker_loop(int worker);
  void run_tasks(int worker);
  static constexpr int kSpinMicros = 300;

  std::vector<std::thread> threads_;
  std::mutex busy_;  // held by the caller whose job owns the pool
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<std::uint64_t> generation_{0};  // written under mu_; read without it while spinning
  bool stop_ = false;
  const Task* fn_ = nullptr;
  std::int64_t n_ = 0;
  int active_workers_ = 0;
  std::atomic<std::int64_t> next_{0};
  std::atomic<int> finished_{0};  // written under mu_; read without it while spinning
  std::exception_ptr error_;
  std::mutex error_mu_;
};

// The process-wide pool, sized by attend::set_num_threads (created on first use).
ThreadPool& global_pool();
// Threads for a call whose options say `requested` (0 = the global setting).
int resolve_threads(int requested);

}  // namespace attend::core
