#pragma once
// Running attend's parallel work on a host's threads. An engine that owns its threads (a
// llama.cpp- or ONNX Runtime-style thread pool) registers an Executor; from then on every kernel
// (attention, attention_backward, decode, ...) runs its parallel loops through it and attend
// starts no threads of its own for them. The C API's attend_set_executor() is the same.
//
// What the host must guarantee in parallel_for(n, task, ctx):
// - call task(ctx, i) exactly once for every i in [0, n), on any of its threads (the calling
//   thread included), in any order, at most concurrency() at once or fewer;
// - return only after every call has returned.
// What attend guarantees in return:
// - n ≤ concurrency(): each i is a lane, a worker that takes the call's tasks from a shared
//   counter until none are left, so the host needs no worker index of its own and uneven work
//   balances itself. A host that runs the lanes one after another is correct: the first lane runs
//   every task and the others find none (the call is then just not parallel).
// - task never throws and never unwinds into the host: the first exception of the call is kept
//   and rethrown to attend's caller after the host's parallel_for returns.
// - parallel_for is called from the thread that called attend (which may be one of the host's own
//   threads, so the host's parallel_for must accept being called from them), several calls at
//   once when several threads call attend. attend never calls it from inside one of its tasks:
//   work nested in a task runs serially on that thread.
// - After set_executor or reset_executor returns, attend does not call the previous executor
//   again (they wait for its calls in flight), and drops its reference to it.
// concurrency() is read once, by set_executor. Kernels use min(concurrency(), the call's threads)
// lanes (attend::set_num_threads and the options' threads still cap them).
//
// Concurrency contract: set_executor and reset_executor may be called from any thread, also while
// kernels run (a running call finishes on the executor it started with or, if that one was
// replaced meanwhile, on attend's own threads), but not from inside a task attend runs (they throw).
// Tested under ThreadSanitizer: ConcurrentExecutor.*, ThreadPoolJobs.*.
#include <cstdint>
#include <memory>

namespace attend {

class Executor {
 public:
  using TaskFn = void (*)(void* ctx, std::int64_t i);
  virtual ~Executor() = default;
  // Threads the host can run tasks on at once, ≥ 1.
  virtual int concurrency() const = 0;
  // Calls task(ctx, i) once for each i in [0, n) on the host's threads; returns when all are done.
  virtual void parallel_for(std::int64_t n, TaskFn task, void* ctx) = 0;
};

// Runs attend's parallel work on `executor` (nullptr: as reset_executor). Throws if its
// concurrency() is below 1.
void set_executor(std::shared_ptr<Executor> executor);
// Back to attend's own thread pool.
void reset_executor();
// Whether an executor is set.
bool has_executor();

}  // namespace attend
