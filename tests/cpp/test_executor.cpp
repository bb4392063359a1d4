// The thread pool's jobs and the host executor (src/core/thread_pool.h, attend/executor.h):
// concurrent callers share the pool's threads (checked without timing: each job's tasks wait, with
// a generous deadline, until a second thread has worked on the same job, which only happens if a
// pool thread serves both callers), nested calls do not deadlock, exceptions reach their own
// caller, and a host executor with its own std::threads runs the kernels (results against the
// double reference; the host's calls and threads counted). Suite names match the ThreadSanitizer
// stage's filter (ThreadPool*, *Concurren*).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "attend/attend.h"
#include "attend/executor.h"
#include "core/thread_pool.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::rel_l2;
using test::to_f32;

constexpr auto kDeadline = std::chrono::seconds(60);  // only reached when the pool fails to share

// The distinct threads seen by one job; wait_for_two() blocks until a second thread shows up.
class ThreadsSeen {
 public:
  void add() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ids_.insert(std::this_thread::get_id());
    }
    cv_.notify_all();
  }
  bool wait_for_two() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return ids_.size() >= 2; });
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::thread::id> ids_;
};

// Pool of 2 (each caller + one pool thread): two callers at once, each job's first tasks wait until
// a second thread ran one of its tasks. The single pool thread must serve both jobs; a pool that
// ran a second caller's job serially on its own thread would leave that caller waiting forever.
TEST(ThreadPoolJobs, ConcurrentCallersShareThePoolThreads) {
  core::ThreadPool pool(2);
  ThreadsSeen seen[2];
  std::atomic<bool> timed_out{false};
  std::vector<std::vector<std::atomic<int>>> hits(2);
  for (auto& h : hits) h = std::vector<std::atomic<int>>(64);
  std::vector<std::thread> callers;
  for (int c = 0; c < 2; ++c)
    callers.emplace_back([&, c] {
      std::atomic<int> in_use[2] = {{0}, {0}};
      pool.parallel_for(64, [&](std::int64_t t, int w) {
        ASSERT_TRUE(w == 0 || w == 1) << w;
        EXPECT_EQ(in_use[w].fetch_add(1), 0) << "worker " << w << " ran by two threads at once";
        seen[c].add();
        if (!seen[c].wait_for_two()) timed_out = true;
        hits[static_cast<std::size_t>(c)][static_cast<std::size_t>(t)]++;
        in_use[w].fetch_sub(1);
      });
    });
  for (auto& t : callers) t.join();
  EXPECT_FALSE(timed_out.load());
  for (int c = 0; c < 2; ++c) {
    EXPECT_GE(seen[c].count(), 2u) << "job " << c;
    for (auto& h : hits[static_cast<std::size_t>(c)]) EXPECT_EQ(h.load(), 1);
  }
}

// Nested calls from every task of a saturated pool, also from several callers at once, finish
// (each caller works its own job), and every inner task runs once.
TEST(ThreadPoolJobs, NestedCallsOnASaturatedPoolFinish) {
  core::ThreadPool pool(3);
  std::atomic<int> n{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      pool.parallel_for(8, [&](std::int64_t, int) {
        pool.parallel_for(8, [&](std::int64_t, int) { pool.parallel_for(3, [&](std::int64_t, int) { n++; }); });
      });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(n.load(), 3 * 8 * 8 * 3);
}

// A task's exception reaches its own caller only; the other caller's job completes.
TEST(ThreadPoolJobs, ExceptionsReachTheirOwnCaller) {
  core::ThreadPool pool(3);
  std::atomic<bool> threw{false}, other_threw{false};
  std::atomic<int> other{0};
  std::thread a([&] {
    try {
      pool.parallel_for(500, [&](std::int64_t t, int) { if (t == 7) throw Error("boom"); });
    } catch (const Error& e) {
      threw = std::string(e.what()) == "boom";
    }
  });
  std::thread b([&] {
    try {
      pool.parallel_for(500, [&](std::int64_t, int) { other++; });
    } catch (...) {
      other_threw = true;
    }
  });
  a.join();
  b.join();
  EXPECT_TRUE(threw.load());
  EXPECT_FALSE(other_threw.load());
  EXPECT_EQ(other.load(), 500);
}

// ---- attention through the global pool -----------------------------------------------------------

struct Problem {
  Tensor q, k, v;
  Problem(std::int64_t n, std::uint64_t seed)
      : q(DType::f32, {1, n, 4, 32}), k(DType::f32, {1, n, 2, 32}), v(DType::f32, {1, n, 2, 32}) {
    fill_uniform(q, seed);
    fill_uniform(k, seed + 1);
    fill_uniform(v, seed + 2);
  }
  std::vector<float> run(const AttentionOptions& opts) const {
    Tensor out(DType::f32, {1, q.dim(1), 4, 32});
    attention(q.view(), k.view(), v.view(), out.view(), opts);
    return to_f32(out.view());
  }
  std::vector<float> reference(const AttentionOptions& opts) const {
    Tensor out(DType::f32, {1, q.dim(1), 4, 32});
    reference::attention(q.view(), k.view(), v.view(), out.view(), opts);
    return to_f32(out.view());
  }
};

// Sees which threads run a call's forward tasks (on_stats comes from the task that computed the
// rows); each task waits until two threads have worked on the call.
class WaitForTwoThreads : public CaptureSink {
 public:
  bool wants_stats() const override { return true; }
  void on_stats(std::int64_t, std::int64_t, std::int64_t, Span<const RowStats>) override {
    seen.add();
    if (!seen.wait_for_two()) timed_out = true;
  }
  ThreadsSeen seen;
  std::atomic<bool> timed_out{false};
};

// Two threads call attention at once with 2 threads each: both calls have their tasks run by two
// threads (on a 2-core machine the pool has one thread besides the caller, shared by both calls).
TEST(ConcurrentExecutor, TwoCallersOfAttentionProgressInParallel) {
  reset_executor();
  set_num_threads(2);
  const Problem pr[2] = {Problem(256, 1), Problem(192, 7)};
  WaitForTwoThreads sinks[2];
  std::vector<float> got[2];
  std::vector<std::thread> callers;
  for (int c = 0; c < 2; ++c)
    callers.emplace_back([&, c] {
      AttentionOptions o;
      o.causal = true;
      o.threads = 2;
      o.capture = &sinks[c];
      got[c] = pr[c].run(o);
    });
  for (auto& t : callers) t.join();
  set_num_threads(0);
  AttentionOptions o;
  o.causal = true;
  for (int c = 0; c < 2; ++c) {
    EXPECT_FALSE(sinks[c].timed_out.load()) << "call " << c << " never got a second thread";
    EXPECT_GE(sinks[c].seen.count(), 2u);
    EXPECT_LE(rel_l2(got[c], pr[c].reference(o)), 1e-5);
  }
}

// ---- a host executor ---------------------------------------------------------------------------

// A host's own pool: `threads` std::threads take (call, index) items from a queue; parallel_for
// enqueues its n items and waits for them. Counts its calls and remembers which threads ran tasks.
class HostPool : public Executor {
 public:
  explicit HostPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
  }
  ~HostPool() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int concurrency() const override { return static_cast<int>(threads_.size()); }
  void parallel_for(std::int64_t n, TaskFn task, void* ctx) override {
    calls++;
    Call call{task, ctx, n};
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (std::int64_t i = 0; i < n; ++i) queue_.push_back({&call, i});
    }
    cv_.notify_all();
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return call.left == 0; });
  }
  bool ran_on_host_threads_only() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& id : ran_)
      if (std::none_of(threads_.begin(), threads_.end(), [&](const std::thread& t) { return t.get_id() == id; })) return false;
    return !ran_.empty();
  }
  std::atomic<int> calls{0};

 private:
  struct Call {
    TaskFn task;
    void* ctx;
    std::int64_t left;
  };
  void loop() {
    for (;;) {
      std::pair<Call*, std::int64_t> item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        item = queue_.front();
        queue_.pop_front();
        ran_.insert(std::this_thread::get_id());
      }
      item.first->task(item.first->ctx, item.second);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --item.first->left;
      }
      done_.notify_all();
    }
  }
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_, done_;
  std::deque<std::pair<Call*, std::int64_t>> queue_;
  std::set<std::thread::id> ran_;
  bool stop_ = false;
};

// Runs the lanes one after another on the calling thread (a host with one thread of its own).
class SerialHost : public Executor {
 public:
  int concurrency() const override { return 4; }
  void parallel_for(std::int64_t n, TaskFn task, void* ctx) override {
    calls++;
    for (std::int64_t i = n - 1; i >= 0; --i) task(ctx, i);  // backwards: the last lane runs everything
  }
  std::atomic<int> calls{0};
};

// Forward, backward and decode on a host's threads equal the double reference; the host was used.
TEST(ConcurrentExecutor, HostExecutorRunsTheKernels) {
  auto host = std::make_shared<HostPool>(3);
  set_executor(host);
  EXPECT_TRUE(has_executor());
  EXPECT_EQ(core::global_pool().size(), 3);
  const Problem pr(300, 11);
  AttentionOptions o;
  o.causal = true;
  EXPECT_LE(rel_l2(pr.run(o), pr.reference(o)), 1e-5);
  const int after_forward = host->calls.load();
  EXPECT_GT(after_forward, 0);

  // Backward against the reference backward.
  const std::int64_t n = 96;
  const Problem b(n, 21);
  Tensor out(DType::f32, {1, n, 4, 32}), lse(DType::f32, {1, 4, n}), dout(DType::f32, {1, n, 4, 32});
  fill_uniform(dout, 5);
  attention(b.q.view(), b.k.view(), b.v.view(), out.view(), o, lse.view());
  Tensor dq(DType::f32, {1, n, 4, 32}), dk(DType::f32, {1, n, 2, 32}), dv(DType::f32, {1, n, 2, 32});
  Tensor rq(DType::f32, {1, n, 4, 32}), rk(DType::f32, {1, n, 2, 32}), rv(DType::f32, {1, n, 2, 32});
  attention_backward(b.q.view(), b.k.view(), b.v.view(), out.view(), dout.view(), lse.view(), {dq.view(), dk.view(), dv.view(), {}}, o);
  reference::attention_backward(b.q.view(), b.k.view(), b.v.view(), out.view(), dout.view(), lse.view(),
                                {rq.view(), rk.view(), rv.view(), {}}, o);
  EXPECT_LE(rel_l2(to_f32(dq.view()), to_f32(rq.view())), 1e-4);
  EXPECT_LE(rel_l2(to_f32(dk.view()), to_f32(rk.view())), 1e-4);
  EXPECT_LE(rel_l2(to_f32(dv.view()), to_f32(rv.view())), 1e-4);
  EXPECT_GT(host->calls.load(), after_forward);

  // Decode of a 3000-token sequence (several chunks) against the reference of its last token.
  const std::int64_t L = 3000;
  const Problem d(L, 31);
  KVCache cache(1, L, 2, 32, 32, DType::f32);
  cache.append(0, TensorView::contiguous(d.k.data(), DType::f32, {L, 2, 32}), TensorView::contiguous(d.v.data(), DType::f32, {L, 2, 32}));
  TensorView q1 = d.q.view();
  q1.data = d.q.data_as<float>() + (L - 1) * 4 * 32;
  q1.shape[1] = 1;
  Tensor got(DType::f32, {1, 1, 4, 32}), want(DType::f32, {1, 1, 4, 32});
  const int before_decode = host->calls.load();
  decode(q1, cache, got.view());
  EXPECT_GT(host->calls.load(), before_decode);
  reset_executor();
  EXPECT_FALSE(has_executor());
  reference::attention(q1, d.k.view(), d.v.view(), want.view());  // the last token sees every key
  EXPECT_LE(rel_l2(to_f32(got.view()), to_f32(want.view())), 1e-5);
  EXPECT_TRUE(host->ran_on_host_threads_only());
  // Reset dropped attend's reference and the host is not called any more.
  EXPECT_EQ(host.use_count(), 1);
  const int calls = host->calls.load();
  (void)pr.run(o);
  EXPECT_EQ(host->calls.load(), calls);
}

// A host that runs the lanes serially gives the same results; several threads calling attention at
// once on a host pool each get correct results; nested work inside a host lane runs serially.
TEST(ConcurrentExecutor, SerialHostsConcurrentCallersAndNesting) {
  AttentionOptions o;
  o.causal = true;
  const Problem pr(200, 41);
  const std::vector<float> want = pr.reference(o);
  auto serial = std::make_shared<SerialHost>();
  set_executor(serial);
  EXPECT_LE(rel_l2(pr.run(o), want), 1e-5);
  EXPECT_GT(serial->calls.load(), 0);

  auto host = std::make_shared<HostPool>(2);
  set_executor(host);  // replaces the serial host
  EXPECT_EQ(serial.use_count(), 1);
  std::vector<double> err(4, 1.0);
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) callers.emplace_back([&, c] { err[static_cast<std::size_t>(c)] = rel_l2(pr.run(o), want); });
  for (auto& t : callers) t.join();
  for (double e : err) EXPECT_LE(e, 1e-5);

  std::atomic<int> inner{0};
  const int before = host->calls.load();
  core::global_pool().parallel_for(6, [&](std::int64_t, int) {
    core::global_pool().parallel_for(5, [&](std::int64_t, int w) { EXPECT_EQ(w, 0); inner++; });
  });
  EXPECT_EQ(inner.load(), 30);
  EXPECT_EQ(host->calls.load(), before + 1);  // only the outer call reached the host
  reset_executor();
}

// Exceptions from tasks reach attend's caller through the host; so do a host that returns early
// and set_executor called from inside a task.
TEST(ConcurrentExecutor, ErrorsReachTheCaller) {
  auto host = std::make_shared<HostPool>(3);
  set_executor(host);
  EXPECT_THROW(core::global_pool().parallel_for(100, [](std::int64_t t, int) { if (t == 42) throw Error("boom"); }), Error);
  try {
    core::global_pool().parallel_for(4, [](std::int64_t, int) { reset_executor(); });
    ADD_FAILURE() << "reset_executor inside a task did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("reset_executor"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(has_executor());

  class Lazy : public Executor {  // returns without running anything
   public:
    int concurrency() const override { return 2; }
    void parallel_for(std::int64_t, TaskFn, void*) override {}
  };
  set_executor(std::make_shared<Lazy>());
  try {
    core::global_pool().parallel_for(10, [](std::int64_t, int) {});
    ADD_FAILURE() << "a host that ran nothing went unnoticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("10 of 10 tasks not run"), std::string::npos) << e.what();
  }
  class Zero : public Executor {
   public:
    int concurrency() const override { return 0; }
    void parallel_for(std::int64_t, TaskFn, void*) override {}
  };
  EXPECT_THROW(set_executor(std::make_shared<Zero>()), Error);
  reset_executor();
  EXPECT_FALSE(has_executor());
}

}  // namespace
}  // namespace attend
