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

// ---- decode over the caller's own memory ---------------------------------------------------------

namespace {

template <typename T>
attend::Span<const T> array_of(const char* fn, const char* name, const T* p, std::int64_t n) {
  if (n < 0 || n > (std::int64_t{1} << 40)) attend::detail::fail(fn, name, " would hold ", n, " entries (sequences must be >= 0)");
  if (p == nullptr && n > 0) attend::detail::fail(fn, name, " is NULL but must hold ", n, " entries");
  return attend::Span<const T>(p, static_cast<std::size_t>(p == nullptr ? 0 : n));
}

template <typename View>
void check_view_size(const char* fn, const View* v, const char* init) {
  if (v == nullptr) attend::detail::fail(fn, "kv is NULL");
  if (v->struct_size != sizeof(View))
    attend::detail::fail(fn, "kv has struct_size ", v->struct_size, ", expected ", sizeof(View), " (set it up with ", init, "())");
}

}  // namespace

extern "C" {

void attend_kv_view_init(attend_kv_view* view) {
  if (view == nullptr) return;
  *view = attend_kv_view{};
  view->struct_size = sizeof(attend_kv_view);
}

void attend_paged_kv_view_init(attend_paged_kv_view* view) {
  if (view == nullptr) return;
  *view = attend_paged_kv_view{};
  view->struct_size = sizeof(attend_paged_kv_view);
}

attend_status attend_decode_kv(const attend_tensor* q, const attend_kv_view* kv, const attend_tensor* out,
                               const attend_tensor* lse, const attend_decode_options* opts) {
  return guarded([&] {
    const char* fn = "attend_decode_kv";
    check_view_size(fn, kv, "attend_kv_view_init");
    attend::KVView v;
    v.dtype = attend::capi::dtype_of(fn, "kv", kv->dtype);
    v.kv_heads = kv->kv_heads;
    v.head_dim = kv->head_dim;
    v.value_dim = kv->value_dim;
    v.k = array_of(fn, "kv->k", kv->k, kv->sequences);
    v.v = array_of(fn, "kv->v", kv->v, kv->sequences);
    v.lengths = array_of(fn, "kv->lengths", kv->lengths, kv->sequences);
    v.k_token_stride = kv->k_token_stride;
    v.k_head_stride = kv->k_head_stride;
    v.v_token_stride = kv->v_token_stride;
    v.v_head_stride = kv->v_head_stride;
    attend::decode(required_view(fn, "q", q), v, required_view(fn, "out", out), attend::capi::decode_options(fn, opts),
                   attend::capi::optional_view(fn, "lse", lse));
  });
}

attend_status attend_decode_paged(const attend_tensor* q, const attend_paged_kv_view* kv, const attend_tensor* out,
                                  const attend_tensor* lse, const attend_decode_options* opts) {
  return guarded([&] {
    const char* fn = "attend_decode_paged";
    check_view_size(fn, kv, "attend_paged_kv_view_init");
    attend::PagedKVView v;
    v.dtype = attend::capi::dtype_of(fn, "kv", kv->dtype);
    v.kv_heads = kv->kv_heads;
    v.head_dim = kv->head_dim;
    v.value_dim = kv->value_dim;
    v.k_blocks = kv->k_blocks;
    v.v_blocks = kv->v_blocks;
    v.num_blocks = kv->num_blocks;
    v.block_size = kv->block_size;
    v.k_block_stride = kv->k_block_stride;
    v.k_token_stride = kv->k_token_stride;
    v.k_head_stride = kv->k_head_stride;
    v.v_block_stride = kv->v_block_stride;
    v.v_token_stride = kv->v_token_stride;
    v.v_head_stride = kv->v_head_stride;
    v.lengths = array_of(fn, "kv->lengths", kv->lengths, kv->sequences);
    v.max_blocks_per_sequence = kv->max_blocks_per_sequence;
    if (kv->sequences < 0 || kv->sequences > (std::int64_t{1} << 30) || kv->max_blocks_per_sequence < 0 ||
        kv->max_blocks_per_sequence > (std::int64_t{1} << 30))  // their product below 2^60
      attend::detail::fail(fn, "sequences ", kv->sequences, " and max_blocks_per_sequence ", kv->max_blocks_per_sequence,
                           " must be in [0, 2^30]");
    v.block_tables = array_of(fn, "kv->block_tables", kv->block_tables, kv->sequences * kv->max_blocks_per_sequence);
    attend::decode(required_view(fn, "q", q), v, required_view(fn, "out", out), attend::capi::decode_options(fn, opts),
                   attend::capi::optional_view(fn, "lse", lse));
  });
}

}  // extern "C"
