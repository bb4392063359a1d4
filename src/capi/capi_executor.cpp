// attend_c.h: the host's executor (attend/executor.h through a C struct of function pointers).
#include <memory>

#include "attend/executor.h"
#include "capi/capi_common.h"
#include "core/check.h"

namespace {

// The C struct as an attend::Executor (copied: the caller's struct may go away).
class CExecutor : public attend::Executor {
 public:
  explicit CExecutor(const attend_executor& e) : e_(e) {}
  int concurrency() const override { return e_.concurrency; }
  void parallel_for(std::int64_t n, TaskFn task, void* ctx) override { e_.parallel_for(e_.ctx, n, task, ctx); }

 private:
  attend_executor e_;
};

}  // namespace

extern "C" {

attend_status attend_set_executor(const attend_executor* executor) {
  return attend::capi::guarded([&] {
    const char* fn = "attend_set_executor";
    if (executor == nullptr) {
      attend::reset_executor();
      return;
    }
    if (executor->struct_size != sizeof(attend_executor))
      attend::detail::fail(fn, "executor has struct_size ", executor->struct_size, ", expected ", sizeof(attend_executor));
    if (executor->parallel_for == nullptr) attend::detail::fail(fn, "executor->parallel_for is NULL");
    if (executor->concurrency < 1) attend::detail::fail(fn, "executor->concurrency must be >= 1, got ", executor->concurrency);
    attend::set_executor(std::make_shared<CExecutor>(*executor));
  });
}

attend_status attend_reset_executor(void) {
  return attend::capi::guarded([] { attend::reset_executor(); });
}

}  // extern "C"
