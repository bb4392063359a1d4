#pragma once
// A small owned thread pool, or a host's executor (attend/executor.h) behind the same interface.
// parallel_for(n, fn) runs fn(task, worker) for task in [0, n) and returns when all are done.
//
// Contract:
// - Any thread may call parallel_for, also several at once and nested inside a task. Each call is
//   a job with workers_for(n, max_workers) lanes; the calling thread always works on its own job
//   as worker 0, and idle pool threads join any open job (the one with the fewest helpers first),
//   each under a lane of its own, 1..W-1. So concurrent callers share the pool's threads, and a
//   caller never waits for a thread that is not already running one of its tasks: no deadlock when
//   nested or saturated (a saturated pool just leaves a caller working alone).
// - `worker` is unique among the threads running one parallel_for at a time and below
//   workers_for(n, max_workers), so fn may index per-worker scratch by it (scratch sized by
//   workers_for(n, max_workers), asked of the same pool object).
// - Tasks are handed out dynamically (an atomic counter), so uneven tasks balance themselves.
// - The first exception thrown by a task is rethrown to the caller after all its workers stop.
// - Idle workers (and a caller waiting for them) spin for kSpinMicros before sleeping: kernels call
//   parallel_for back to back (pack, then tiles; layer after layer), and on a VM a sleeping vCPU
//   takes long to wake (measured: N = 256 causal forward, ~0.5 ms a call, +10 % wall; N = 512 even).
// - A host pool (set_executor) owns no threads: parallel_for hands the host workers_for(n, ...)
//   lanes, lane i runs tasks as worker i; a call nested inside a host lane runs serially on its
//   thread (a host's pool need not be re-entrant). Once retired (the executor was replaced or
//   reset), it never calls the host again and runs its jobs on the owned pool it was given.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "attend/executor.h"

namespace attend::core {

class ThreadPool {
 public:
  using Task = std::function<void(std::int64_t task, int worker)>;

  explicit ThreadPool(int threads);
  // A pool that runs its jobs on `host` (concurrency read once, by the caller, ≥ 1).
  ThreadPool(std::shared_ptr<Executor> host, int concurrency);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return host_concurrency_ > 0 ? host_concurrency_ : static_cast<int>(threads_.size()) + 1; }
  // Workers a parallel_for(n, fn, max_workers) will use: min(n, max_workers, size()), at least 1.
  int workers_for(std::int64_t n, int max_workers) const;
  void parallel_for(std::int64_t n, const Task& fn, int max_workers = 0);
  // A host pool stops calling its host: waits for the host calls in flight, drops the host, and
  // runs later jobs on `fallback` (set_executor refuses to run inside a host lane, where it would wait for itself).
  void retire(ThreadPool* fallback);

 private:
  struct Job;
  void worker_loop();
  Job* open_job();  // under mu_: the open job with a free lane and tasks left, fewest helpers first
  static void run_tasks(Job& job, int worker);
  void run_on_host(std::int64_t n, const Task& fn, int workers);
  static constexpr int kSpinMicros = 300;

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<std::uint64_t> generation_{0};  // +1 per opened job, under mu_; read without it while spinning
  bool stop_ = false;
  std::vector<Job*> jobs_;  // open jobs (their callers' stack frames), under mu_

  // Host pools only.
  int host_concurrency_ = 0;
  std::mutex host_mu_;
  std::condition_variable host_idle_;
  std::shared_ptr<Executor> host_;  // null once retired
  ThreadPool* fallback_ = nullptr;
  int host_calls_ = 0;  // host parallel_for calls in flight
};

// The process-wide pool: the host's (attend::set_executor) when one is set, else the owned one,
// sized by attend::set_num_threads (created on first use). The object stays valid for the process.
ThreadPool& global_pool();
// Threads for a call whose options say `requested` (0 = the global setting).
int resolve_threads(int requested);

// fn(begin, end) over [0, n) in ranges of `grain` (the last shorter) on the global pool at the
// global thread setting; serially on the caller when there is one range. The ranges depend on n
// and grain only, never on the thread count, so per-range results combined in range order are
// the same with any number of threads.
template <class Fn>
void parallel_ranges(std::int64_t n, std::int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  const std::int64_t tasks = (n + grain - 1) / grain;
  if (tasks <= 1) return fn(std::int64_t{0}, n);
  global_pool().parallel_for(tasks, [&](std::int64_t t, int) { fn(t * grain, t + 1 == tasks ? n : (t + 1) * grain); },
                             resolve_threads(0));
}

}  // namespace attend::core
