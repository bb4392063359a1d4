// attend_c.h: tensors, options, attention forward and backward, threads, errors, version.
#include <cmath>

#include "attend/backward.h"
#include "attend/runtime.h"
#include "capi/capi_common.h"
#include "core/check.h"

using attend::capi::guarded;
using attend::capi::optional_view;
using attend::capi::required_view;

namespace {

template <typename Backward>
attend_status backward_call(const char* fn, Backward backward, const attend_tensor* q, const attend_tensor* k,
                            const attend_tensor* v, const attend_tensor* out, const attend_tensor* dout,
                            const attend_tensor* lse, const attend_tensor* dq, const attend_tensor* dk,
                            const attend_tensor* dv, const attend_tensor* dbias, const attend_options* opts) {
  return guarded([&] {
    attend::AttentionGrads grads;
    grads.dq = required_view(fn, "dq", dq);
    grads.dk = required_view(fn, "dk", dk);
    grads.dv = required_view(fn, "dv", dv);
    grads.dbias = optional_view(fn, "dbias", dbias);
    backward(required_view(fn, "q", q), required_view(fn, "k", k), required_view(fn, "v", v),
             required_view(fn, "out", out), required_view(fn, "dout", dout), required_view(fn, "lse", lse), grads,
             attend::capi::attention_options(fn, opts));
  });
}

}  // namespace

extern "C" {

attend_status attend_tensor_init(attend_tensor* t, void* data, attend_dtype dtype, int32_t rank, const int64_t* shape) {
  return guarded([&] {
    const char* fn = "attend_tensor_init";
    if (t == nullptr) attend::detail::fail(fn, "t is NULL");
    if (rank < 1 || rank > ATTEND_MAX_RANK) attend::detail::fail(fn, "rank is ", rank, ", not 1..", ATTEND_MAX_RANK);
    if (shape == nullptr) attend::detail::fail(fn, "shape is NULL");
    for (int i = 0; i < rank; ++i)
      if (shape[i] < 0) attend::detail::fail(fn, "shape[", i, "] is ", shape[i], " (negative)");
    attend_tensor r{};
    r.data = data;
    r.dtype = dtype;
    r.rank = rank;
    std::int64_t step = 1;
    for (int i = rank - 1; i >= 0; --i) {
      r.shape[i] = shape[i];
      r.stride[i] = step;
      step *= shape[i] > 0 ? shape[i] : 1;
    }
    *t = r;
  });
}

void attend_options_init(attend_options* opts) {
  if (opts == nullptr) return;
  *opts = attend_options{};
  opts->struct_size = sizeof(attend_options);
  opts->window_left = -1;
  opts->window_right = -1;
}

attend_status attend_attention(const attend_tensor* q, const attend_tensor* k, const attend_tensor* v,
                               const attend_tensor* out, const attend_tensor* lse, const attend_options* opts) {
  return guarded([&] {
    const char* fn = "attend_attention";
    attend::attention(required_view(fn, "q", q), required_view(fn, "k", k), required_view(fn, "v", v),
                      required_view(fn, "out", out), attend::capi::attention_options(fn, opts),
                      optional_view(fn, "lse", lse));
  });
}

attend_status attend_attention_reference(const attend_tensor* q, const attend_tensor* k, const attend_tensor* v,
                                         const attend_tensor* out, const attend_tensor* lse,
                                         const attend_options* opts) {
  return guarded([&] {
    const char* fn = "attend_attention_reference";
    attend::reference::attention(required_view(fn, "q", q), required_view(fn, "k", k), required_view(fn, "v", v),
                                 required_view(fn, "out", out), attend::capi::attention_options(fn, opts),
                                 optional_view(fn, "lse", lse));
  });
}

attend_status attend_attention_backward(const attend_tensor* q, const attend_tensor* k, const attend_tensor* v,
                                        const attend_tensor* out, const attend_tensor* dout, const attend_tensor* lse,
                                        const attend_tensor* dq, const attend_tensor* dk, const attend_tensor* dv,
                                        const attend_tensor* dbias, const attend_options* opts) {
  return backward_call("attend_attention_backward", &attend::attention_backward, q, k, v, out, dout, lse, dq, dk,
                       dv, dbias, opts);
}

attend_status attend_attention_backward_reference(const attend_tensor* q, const attend_tensor* k,
                                                  const attend_tensor* v, const attend_tensor* out,
                                                  const attend_tensor* dout, const attend_tensor* lse,
                                                  const attend_tensor* dq, const attend_tensor* dk,
                                                  const attend_tensor* dv, const attend_tensor* dbias,
                                                  const attend_options* opts) {
  return backward_call("attend_attention_backward_reference", &attend::reference::attention_backward, q, k, v, out,
                       dout, lse, dq, dk, dv, dbias, opts);
}

attend_status attend_set_num_threads(int32_t threads) {
  return guarded([&] { attend::set_num_threads(threads); });
}

int32_t attend_num_threads(void) { return attend::num_threads(); }

const char* attend_status_name(attend_status status) {
  switch (status) {
    case ATTEND_OK: return "ATTEND_OK";
    case ATTEND_ERROR_INVALID_ARGUMENT: return "ATTEND_ERROR_INVALID_ARGUMENT";
    case ATTEND_ERROR_OUT_OF_MEMORY: return "ATTEND_ERROR_OUT_OF_MEMORY";
    case ATTEND_ERROR_INTERNAL: return "ATTEND_ERROR_INTERNAL";
    case ATTEND_STATUS_MAX_ENUM: break;  // not a status
  }
  return "unknown status";
}

const char* attend_version_string(void) { return ATTEND_VERSION_STRING; }
int32_t attend_version(void) { return ATTEND_VERSION; }

}  // extern "C"
