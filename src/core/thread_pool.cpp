#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "attend/runtime.h"
#include "core/check.h"

namespace attend::core {
namespace {

// Polls `ready` for up to `micros` µs (checking the clock every 64 polls); true once it holds.
template <class Ready>
bool spin_until(Ready&& ready, int micros) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
  for (int i = 1;; ++i) {
    if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();  // yield the core's pipeline to the sibling while polling
#endif
    if ((i & 63) == 0 && std::chrono::steady_clock::now() >= until) return false;
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int w = 1; w < std::max(1, threads); ++w) threads_.emplace_back([this, w] { worker_loop(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

int ThreadPool::workers_for(std::int64_t n, int max_workers) const {
  std::int64_t w = size();
  if (max_workers > 0) w = std::min<std::int64_t>(w, max_workers);
  w = std::min<std::int64_t>(w, n);
  return static_cast<int>(std::max<std::int64_t>(1, w));
}

void ThreadPool::run_tasks(int worker) {
  for (;;) {
    const std::int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= n_) return;
    try {
      (*fn_)(t, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_, std::memory_order_relaxed);  // stop handing out work
    }
  }
}

void ThreadPool::worker_loop(int worker) {
  std::uint64_t seen = 0;
  for (;;) {
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; }, kSpinMicros);
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (worker >= active_workers_) continue;  // this job wants fewer workers
    }
    run_tasks(worker);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++finished_;
    }
    done_.notify_one();
  }
}

void ThreadPool::parallel_for(std::int64_t n, const Task& fn, int max_workers) {
  if (n <= 0) return;
  const int workers = workers_for(n, max_workers);
  std::unique_lock<std::mutex> own(busy_, std::try_to_lock);
  if (workers == 1 || !own.owns_lock()) {  // serial, or the pool is busy: run here
    for (std::int64_t t = 0; t < n; ++t) fn(t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    next_.store(0, std::memory_order_relaxed);
    active_workers_ = workers;
    finished_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  run_tasks(0);
  spin_until([&] { return finished_.load(std::memory_order_acquire) == workers - 1; }, kSpinMicros);
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return finished_ == workers - 1; });
    fn_ = nullptr;
  }
  if (error_) std::rethrow_exception(error_);
}

namespace {
std::mutex g_pool_mu;
std::vector<std::unique_ptr<ThreadPool>> g_pools;  // only grows: a running job keeps its pool
int g_threads = 0;  // 0: hardware concurrency
int hardware_threads() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }
}  // namespace

ThreadPool& global_pool() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  const int want = g_threads > 0 ? g_threads : hardware_threads();
  if (g_pools.empty() || g_pools.back()->size() < want)
    g_pools.push_back(std::make_unique<ThreadPool>(std::max(want, hardware_threads())));
  return *g_pools.back();
}

int resolve_threads(int requested) {
  if (requested < 0) detail::fail("threads", "must be >= 0 (0 = default), got ", requested);
  if (requested > 0) return requested;
  std::lock_guard<std::mutex> lock(g_pool_mu);
  return g_threads > 0 ? g_threads : hardware_threads();
}

}  // namespace attend::core

namespace attend {

void set_num_threads(int n) {
  if (n < 0) detail::fail("set_num_threads", "thread count must be >= 0, got ", n);
  std::lock_guard<std::mutex> lock(core::g_pool_mu);
  core::g_threads = n;  // global_pool() grows on next use if n exceeds its size
}

int num_threads() { return core::resolve_threads(0); }

}  // namespace attend
