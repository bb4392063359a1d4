// attend_c.h: the KV cache handle and decode attention over it.
#include <memory>

#include "attend/kv_cache.h"
#include "capi/capi_common.h"
#include "core/check.h"

// The opaque handle is the C++ cache itself.
struct attend_kv_cache {
  attend::KVCache cache;
};

using attend::capi::guarded;
using attend::capi::required_view;

namespace {

attend::KVCache& cache_of(const char* fn, attend_kv_cache* c) {
  if (c == nullptr) attend::detail::fail(fn, "cache is NULL");
  return c->cache;
}

const attend::KVCache& cache_of(const char* fn, const attend_kv_cache* c) {
  if (c == nullptr) attend::detail::fail(fn, "cache is NULL");
  return c->cache;
}

}  // namespace

extern "C" {

attend_status attend_kv_cache_create(attend_kv_cache** cache, int64_t sequences, int64_t capacity, int64_t kv_heads,
                                     int64_t head_dim, int64_t value_dim, attend_dtype dtype, int64_t window,
                                     int64_t sink_tokens) {
  return guarded([&] {
    const char* fn = "attend_kv_cache_create";
    if (cache == nullptr) attend::detail::fail(fn, "cache is NULL");
    const attend::DType t = attend::capi::dtype_of(fn, "the cache", dtype);
    attend::EvictionPolicy policy;
    policy.window = window;
    policy.sink_tokens = sink_tokens;
    auto made = std::make_unique<attend_kv_cache>(
        attend_kv_cache{attend::KVCache(sequences, capacity, kv_heads, head_dim, value_dim, t, policy)});
    *cache = made.release();
  });
}

void attend_kv_cache_destroy(attend_kv_cache* cache) { delete cache; }

attend_status attend_kv_cache_append(attend_kv_cache* cache, int64_t sequence, const attend_tensor* k,
                                     const attend_tensor* v, int64_t* first_position) {
  return guarded([&] {
    const char* fn = "attend_kv_cache_append";
    const std::int64_t pos = cache_of(fn, cache).append(sequence, required_view(fn, "k", k), required_view(fn, "v", v));
    if (first_position != nullptr) *first_position = pos;
  });
}

attend_status attend_kv_cache_truncate(attend_kv_cache* cache, int64_t sequence, int64_t length) {
  return guarded([&] { cache_of("attend_kv_cache_truncate", cache).truncate(sequence, length); });
}

attend_status attend_kv_cache_length(const attend_kv_cache* cache, int64_t sequence, int64_t* length) {
  return guarded([&] {
    const char* fn = "attend_kv_cache_length";
    if (length == nullptr) attend::detail::fail(fn, "length is NULL");
    *length = cache_of(fn, cache).length(sequence);
  });
}

void attend_decode_options_init(attend_decode_options* opts) {
  if (opts == nullptr) return;
  *opts = attend_decode_options{};
  opts->struct_size = sizeof(attend_decode_options);
  opts->window_left = -1;
}

attend_status attend_decode(const attend_tensor* q, const attend_kv_cache* cache, const attend_tensor* out,
                            const attend_tensor* lse, const attend_decode_options* opts) {
  return guarded([&] {
    const char* fn = "attend_decode";
    attend::decode(required_view(fn, "q", q), cache_of(fn, cache), required_view(fn, "out", out),
                   attend::capi::decode_options(fn, opts), attend::capi::optional_view(fn, "lse", lse));
  });
}

}  // extern "C"
