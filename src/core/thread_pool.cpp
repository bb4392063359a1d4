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

// Set while this thread runs a host lane: work nested there runs serially (the host's pool need
// not be re-entrant), and set_executor / reset_executor refuse (they would wait for themselves).
thread_local bool t_in_host_lane = false;

}  // namespace

struct ThreadPool::Job {
  const Task* fn = nullptr;
  std::int64_t n = 0;
  int lanes = 1;
  std::atomic<std::int64_t> next{0};
  std::atomic<std::int64_t> done{0};  // tasks that returned (a host pool checks its host ran them all)
  int claimed = 1;                    // lanes handed out, lane 0 being the caller's; under mu_
  std::atomic<int> helpers{0};        // pool threads inside run_tasks; changed under mu_
  std::exception_ptr error;
  std::mutex error_mu;
};

ThreadPool::ThreadPool(int threads) {
  for (int w = 1; w < std::max(1, threads); ++w) threads_.emplace_back([this] { worker_loop(); });
}

ThreadPool::ThreadPool(std::shared_ptr<Executor> host, int concurrency)
    : host_concurrency_(std::max(1, concurrency)), host_(std::move(host)) {}

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

void ThreadPool::run_tasks(Job& job, int worker) {
  for (;;) {
    const std::int64_t t = job.next.fetch_add(1, std::memory_order_relaxed);
    if (t >= job.n) return;
    try {
      (*job.fn)(t, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.error_mu);
      if (!job.error) job.error = std::current_exception();
      job.next.store(job.n, std::memory_order_relaxed);  // stop handing out work
    }
    job.done.fetch_add(1, std::memory_order_relaxed);
  }
}

ThreadPool::Job* ThreadPool::open_job() {
  Job* best = nullptr;
  for (Job* j : jobs_)
    if (j->claimed < j->lanes && j->next.load(std::memory_order_relaxed) < j->n && (!best || j->claimed < best->claimed)) best = j;
  return best;
}

void ThreadPool::worker_loop() {
  for (;;) {
    Job* job = nullptr;
    int lane = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (stop_) return;
        if ((job = open_job()) != nullptr) break;
        const std::uint64_t seen = generation_.load(std::memory_order_relaxed);
        lock.unlock();
        spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; }, kSpinMicros);
        lock.lock();
        wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
      }
      lane = job->claimed++;
      job->helpers.fetch_add(1, std::memory_order_relaxed);
    }
    run_tasks(*job, lane);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job->helpers.fetch_sub(1, std::memory_order_release);  // the last touch of *job
    }
    done_.notify_all();
  }
}

void ThreadPool::parallel_for(std::int64_t n, const Task& fn, int max_workers) {
  if (n <= 0) return;
  const int workers = workers_for(n, max_workers);
  if (workers == 1 || (host_concurrency_ > 0 && t_in_host_lane)) {  // serial, or nested in a host lane: run here
    for (std::int64_t t = 0; t < n; ++t) fn(t, 0);
    return;
  }
  if (host_concurrency_ > 0) {
    run_on_host(n, fn, workers);
    return;
  }
  Job job;
  job.fn = &fn;
  job.n = n;
  job.lanes = workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(&job);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_tasks(job, 0);
  {
    std::lock_guard<std::mutex> lock(mu_);  // closed: no thread joins it any more
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
  }
  spin_until([&] { return job.helpers.load(std::memory_order_acquire) == 0; }, kSpinMicros);
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return job.helpers.load(std::memory_order_acquire) == 0; });
  }
  if (job.error) std::rethrow_exception(job.error);
}

void ThreadPool::run_on_host(std::int64_t n, const Task& fn, int workers) {
  std::shared_ptr<Executor> host;
  ThreadPool* fallback = nullptr;
  {
    std::lock_guard<std::mutex> lock(host_mu_);
    host = host_;
    fallback = fallback_;
    if (host) ++host_calls_;
  }
  if (!host) {  // retired: the owned pool, with at most as many workers as this pool promised
    fallback->parallel_for(n, fn, workers);
    return;
  }
  Job job;
  job.fn = &fn;
  job.n = n;
  job.lanes = workers;
  struct Lane {
    static void run(void* ctx, std::int64_t i) noexcept {  // never unwinds into the host
      Job& j = *static_cast<Job*>(ctx);
      if (i < 0 || i >= j.lanes) {
        std::lock_guard<std::mutex> lock(j.error_mu);
        if (!j.error)
          j.error = std::make_exception_ptr(Error(detail::concat("executor: the host ran task ", i, " of ", j.lanes)));
        return;
      }
      const bool outer = t_in_host_lane;
      t_in_host_lane = true;
      run_tasks(j, static_cast<int>(i));
      t_in_host_lane = outer;
    }
  };
  std::exception_ptr host_error;
  try {
    host->parallel_for(workers, &Lane::run, &job);
  } catch (...) {
    host_error = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(host_mu_);
    --host_calls_;
  }
  host_idle_.notify_all();
  if (job.error) std::rethrow_exception(job.error);
  if (host_error) std::rethrow_exception(host_error);
  if (job.done.load() != n)
    detail::fail("executor", "the host's parallel_for returned with ", n - job.done.load(), " of ", n,
                 " tasks not run (it must run every task before it returns)");
}

void ThreadPool::retire(ThreadPool* fallback) {
  std::shared_ptr<Executor> dropped;
  std::unique_lock<std::mutex> lock(host_mu_);
  fallback_ = fallback;
  host_idle_.wait(lock, [&] { return host_calls_ == 0; });
  dropped = std::move(host_);  // released after the lock, outside attend's locks
}

namespace {
std::mutex g_pool_mu;
std::vector<std::unique_ptr<ThreadPool>> g_pools;  // only grows: a running job keeps its pool
ThreadPool* g_own = nullptr;   // the newest owned pool
ThreadPool* g_host = nullptr;  // the executor's pool while one is set
int g_threads = 0;  // 0: hardware concurrency
int hardware_threads() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

ThreadPool& own_pool_locked() {
  const int want = g_threads > 0 ? g_threads : hardware_threads();
  if (!g_own || g_own->size() < want) {
    g_pools.push_back(std::make_unique<ThreadPool>(std::max(want, hardware_threads())));
    g_own = g_pools.back().get();
  }
  return *g_own;
}

// Makes `next` (a host pool, or null) the executor's pool; the previous one stops calling its host.
void swap_host_pool(const char* fn, std::unique_ptr<ThreadPool> next) {
  if (t_in_host_lane) detail::fail(fn, "called from inside a task attend runs on the executor (it would wait for itself)");
  ThreadPool* old = nullptr;
  ThreadPool* fallback = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_pool_mu);
    old = g_host;
    g_host = next ? next.get() : nullptr;
    if (next) g_pools.push_back(std::move(next));
    fallback = &own_pool_locked();
  }
  if (old) old->retire(fallback);
}
}  // namespace

ThreadPool& global_pool() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (g_host) return *g_host;
  return own_pool_locked();
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

void set_executor(std::shared_ptr<Executor> executor) {
  if (!executor) {
    reset_executor();
    return;
  }
  const int concurrency = executor->concurrency();
  if (concurrency < 1) detail::fail("set_executor", "the executor's concurrency() must be >= 1, got ", concurrency);
  core::swap_host_pool("set_executor", std::make_unique<core::ThreadPool>(std::move(executor), concurrency));
}

void reset_executor() { core::swap_host_pool("reset_executor", nullptr); }

bool has_executor() {
  std::lock_guard<std::mutex> lock(core::g_pool_mu);
  return core::g_host != nullptr;
}

}  // namespace attend
