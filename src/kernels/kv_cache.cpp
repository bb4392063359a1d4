// KVCache (contiguous, with eviction by compaction) and PagedKVCache (block pool, copy-on-write).
#include "attend/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/element.h"
#include "core/view_checks.h"

namespace attend {

using detail::fail;

namespace {

// Copies n tokens of a [n, G, W] view (any dtype/strides) into dst rows of `row` elements.
void copy_tokens(const TensorView& src, std::int64_t n, std::int64_t g, std::int64_t w, void* dst, DType dt,
                 std::int64_t row_elems) {
  const std::size_t es = dtype_size(dt);
  for (std::int64_t t = 0; t < n; ++t) {
    char* out = static_cast<char*>(dst) + static_cast<std::size_t>(t * row_elems) * es;
    if (src.dtype == dt && src.step(2) == w && src.step(1) == 1) {  // dense token row: one copy
      std::memcpy(out, static_cast<const char*>(src.data) + static_cast<std::size_t>(t * src.step(0)) * es, static_cast<std::size_t>(g * w) * es);
      continue;
    }
    for (std::int64_t h = 0; h < g; ++h)
      for (std::int64_t c = 0; c < w; ++c)
        core::store_f32(out, dt, h * w + c, core::load_f32(src.data, src.dtype, t * src.step(0) + h * src.step(1) + c * src.step(2)));
  }
}

void check_tokens(const char* fn, const char* name, const TensorView& t, std::int64_t g, std::int64_t w) {
  core::check_view(fn, name, t, 3);
  if (t.dim(1) != g || t.dim(2) != w)
    fail(fn, name, " has shape ", t.shape_string(), ", expected [n, ", g, ", ", w, "]");
}

}  // namespace

KVCache::KVCache(std::int64_t sequences, std::int64_t capacity, std::int64_t kv_heads, std::int64_t head_dim,
                 std::int64_t value_dim, DType dtype, EvictionPolicy policy)
    : capacity_(capacity), g_(kv_heads), d_(head_dim), dv_(value_dim), dtype_(dtype), policy_(policy) {
  if (sequences <= 0 || capacity <= 0 || kv_heads <= 0 || head_dim <= 0 || value_dim <= 0)
    fail("KVCache", "sizes must be positive, got sequences ", sequences, ", capacity ", capacity, ", kv_heads ", kv_heads,
         ", head_dim ", head_dim, ", value_dim ", value_dim);
  if (policy.window < -1 || policy.window == 0 || policy.sink_tokens < 0)
    fail("KVCache", "eviction window must be -1 or positive and sink_tokens >= 0, got window ", policy.window, ", sinks ", policy.sink_tokens);
  // (compared without forming window + sinks, which could overflow)
  if (policy.window > 0 && (policy.sink_tokens > capacity || policy.window > capacity - policy.sink_tokens))
    fail("KVCache", "capacity ", capacity, " cannot hold the window ", policy.window, " plus ", policy.sink_tokens, " sink tokens");
  k_ = Tensor(dtype, {sequences, capacity, kv_heads, head_dim});
  v_ = Tensor(dtype, {sequences, capacity, kv_heads, value_dim});
  len_.assign(static_cast<std::size_t>(sequences), 0);
  first_pos_.assign(static_cast<std::size_t>(sequences), 0);
}

// Layout of sequence s's buffer: [sinks: positions 0 .. ns) [rest: positions first_pos .. len)
// with ns = min(sink_tokens, len) and first_pos >= ns; stored = ns + len − first_pos.
std::int64_t KVCache::length(std::int64_t s) const {
  if (s < 0 || s >= sequences()) fail("KVCache", "sequence ", s, " is outside [0, ", sequences(), ")");
  return len_[static_cast<std::size_t>(s)];
}

std::int64_t KVCache::stored(std::int64_t s) const {
  const std::int64_t len = length(s);
  return std::min(policy_.sink_tokens, len) + len - first_pos_[static_cast<std::size_t>(s)];
}

// Drops the oldest rest tokens that the policy will no longer keep once `needed` more arrive.
void KVCache::compact(std::int64_t s, std::int64_t needed) {
  const auto u = static_cast<std::size_t>(s);
  if (policy_.window < 0) return;
  const std::int64_t len = len_[u], ns = std::min(policy_.sink_tokens, len);
  const std::int64_t keep_from = std::min(len, std::max(first_pos_[u], len + needed - policy_.window));
  const std::int64_t drop = keep_from - first_pos_[u];
  if (drop <= 0) return;
  const std::int64_t rest_after = len - keep_from;
  const std::size_t es = dtype_size(dtype_);
  char* kb = static_cast<char*>(k_.data()) + static_cast<std::size_t>(s * capacity_ * g_ * d_) * es;
  char* vb = static_cast<char*>(v_.data()) + static_cast<std::size_t>(s * capacity_ * g_ * dv_) * es;
  std::memmove(kb + static_cast<std::size_t>(ns * g_ * d_) * es, kb + static_cast<std::size_t>((ns + drop) * g_ * d_) * es,
               static_cast<std::size_t>(rest_after * g_ * d_) * es);
  std::memmove(vb + static_cast<std::size_t>(ns * g_ * dv_) * es, vb + static_cast<std::size_t>((ns + drop) * g_ * dv_) * es,
               static_cast<std::size_t>(rest_after * g_ * dv_) * es);
  first_pos_[u] = keep_from;
}

std::int64_t KVCache::append(std::int64_t s, const TensorView& k, const TensorView& v) {
  length(s);
  check_tokens("KVCache::append", "k", k, g_, d_);
  check_tokens("KVCache::append", "v", v, g_, dv_);
  if (k.dim(0) != v.dim(0)) fail("KVCache::append", "k has ", k.dim(0), " tokens but v has ", v.dim(0));
  const auto u = static_cast<std::size_t>(s);
  const std::int64_t n = k.dim(0), pos = len_[u];
  if (stored(s) + n > capacity_) compact(s, n);
  const std::int64_t at = stored(s);
  if (at + n > capacity_)
    fail("KVCache::append", "sequence ", s, " needs ", at + n, " slots but the capacity is ", capacity_,
         policy_.window > 0 ? " (append fewer tokens at once)" : " (no eviction policy: make the cache larger)");
  const std::size_t es = dtype_size(dtype_);
  copy_tokens(k, n, g_, d_, static_cast<char*>(k_.data()) + static_cast<std::size_t>((s * capacity_ + at) * g_ * d_) * es, dtype_, g_ * d_);
  copy_tokens(v, n, g_, dv_, static_cast<char*>(v_.data()) + static_cast<std::size_t>((s * capacity_ + at) * g_ * dv_) * es, dtype_, g_ * dv_);
  len_[u] += n;
  first_pos_[u] = std::max(first_pos_[u], std::min(policy_.sink_tokens, len_[u]));  // new tokens may still be sinks
  return pos;
}

void KVCache::truncate(std::int64_t s, std::int64_t length) {
  const std::int64_t len = this->length(s);
  const auto u = static_cast<std::size_t>(s);
  if (length < 0 || length > len) fail("KVCache::truncate", "length ", length, " is outside [0, ", len, "] for sequence ", s);
  if (length <= policy_.sink_tokens || policy_.window < 0) {
    first_pos_[u] = std::min(first_pos_[u], std::min(policy_.sink_tokens, length));
    if (policy_.window < 0) first_pos_[u] = std::min(policy_.sink_tokens, length);
  } else if (first_pos_[u] > std::max(policy_.sink_tokens, length - policy_.window)) {
    fail("KVCache::truncate", "cannot roll sequence ", s, " back to ", length, ": its window needs tokens evicted before position ",
         first_pos_[u]);
  }
  len_[u] = length;
}

std::vector<KVSegment> KVCache::segments(std::int64_t s) const {
  const std::int64_t len = length(s);
  const auto u = static_cast<std::size_t>(s);
  const std::size_t es = dtype_size(dtype_);
  const char* kb = static_cast<const char*>(k_.data()) + static_cast<std::size_t>(s * capacity_ * g_ * d_) * es;
  const char* vb = static_cast<const char*>(v_.data()) + static_cast<std::size_t>(s * capacity_ * g_ * dv_) * es;
  const std::int64_t ns = std::min(policy_.sink_tokens, len), first = first_pos_[u];
  std::vector<KVSegment> out;
  if (first == ns) {  // nothing evicted between the sinks and the rest: one run from position 0
    if (len > 0) out.push_back({kb, vb, len, 0, g_ * d_, g_ * dv_, d_, dv_});
    return out;
  }
  if (ns > 0) out.push_back({kb, vb, ns, 0, g_ * d_, g_ * dv_, d_, dv_});
  if (len > first)
    out.push_back({kb + static_cast<std::size_t>(ns * g_ * d_) * es, vb + static_cast<std::size_t>(ns * g_ * dv_) * es, len - first, first,
                   g_ * d_, g_ * dv_, d_, dv_});
  return out;
}

std::vector<std::int64_t> KVCache::kept_positions(std::int64_t s) const {
  const std::int64_t len = length(s);
  std::vector<std::int64_t> pos;
  for (const KVSegment& seg : segments(s))
    for (std::int64_t i = 0; i < seg.count; ++i) {
      const std::int64_t p = seg.pos0 + i;
      if (policy_.keeps(p, len)) pos.push_back(p);
    }
  return pos;
}

TensorView KVCache::keys(std::int64_t s) const {
  TensorView t = TensorView::contiguous(static_cast<char*>(k_.data()) + static_cast<std::size_t>(s * capacity_ * g_ * d_) * dtype_size(dtype_),
                                        dtype_, {1, stored(s), g_, d_});
  return t;
}
TensorView KVCache::values(std::int64_t s) const {
  return TensorView::contiguous(static_cast<char*>(v_.data()) + static_cast<std::size_t>(s * capacity_ * g_ * dv_) * dtype_size(dtype_),
                                dtype_, {1, stored(s), g_, dv_});
}

// ---- PagedKVCache ---------------------------------------------------------------------------

PagedKVCache::PagedKVCache(std::int64_t num_blocks, std::int64_t block_size, std::int64_t kv_heads, std::int64_t head_dim,
                           std::int64_t value_dim, DType dtype)
    : block_(block_size), g_(kv_heads), d_(head_dim), dv_(value_dim), dtype_(dtype) {
  if (num_blocks <= 0 || block_size <= 0 || kv_heads <= 0 || head_dim <= 0 || value_dim <= 0 || num_blocks > (1 << 30))
    fail("PagedKVCache", "sizes must be positive, got blocks ", num_blocks, ", block_size ", block_size, ", kv_heads ", kv_heads,
         ", head_dim ", head_dim, ", value_dim ", value_dim);
  k_ = Tensor(dtype, {num_blocks, block_size, kv_heads, head_dim});
  v_ = Tensor(dtype, {num_blocks, block_size, kv_heads, value_dim});
  refcount_.assign(static_cast<std::size_t>(num_blocks), 0);
  for (std::int64_t b = num_blocks - 1; b >= 0; --b) free_.push_back(static_cast<std::int32_t>(b));
}

void PagedKVCache::check_seq(const char* fn, std::int64_t s) const {
  if (s < 0 || s >= static_cast<std::int64_t>(alive_.size()) || !alive_[static_cast<std::size_t>(s)])
    fail(fn, "no live sequence ", s);
}

std::int32_t PagedKVCache::take_block() {
  if (free_.empty()) fail("PagedKVCache::append", "the block pool is exhausted (", refcount_.size(), " blocks of ", block_, " tokens)");
  const std::int32_t b = free_.back();
  free_.pop_back();
  refcount_[static_cast<std::size_t>(b)] = 1;
  return b;
}

void PagedKVCache::release(std::int32_t b) {
  if (--refcount_[static_cast<std::size_t>(b)] == 0) free_.push_back(b);
}

std::int64_t PagedKVCache::add_sequence() {
  tables_.emplace_back();
  len_.push_back(0);
  alive_.push_back(true);
  return static_cast<std::int64_t>(alive_.size()) - 1;
}

std::int64_t PagedKVCache::fork(std::int64_t parent) {
  check_seq("PagedKVCache::fork", parent);
  const std::int64_t s = add_sequence();
  tables_[static_cast<std::size_t>(s)] = tables_[static_cast<std::size_t>(parent)];
  len_[static_cast<std::size_t>(s)] = len_[static_cast<std::size_t>(parent)];
  for (std::int32_t b : tables_[static_cast<std::size_t>(s)]) ++refcount_[static_cast<std::size_t>(b)];
  return s;
}

void PagedKVCache::remove_sequence(std::int64_t s) {
  check_seq("PagedKVCache::remove_sequence", s);
  for (std::int32_t b : tables_[static_cast<std::size_t>(s)]) release(b);
  tables_[static_cast<std::size_t>(s)].clear();
  len_[static_cast<std::size_t>(s)] = 0;
  alive_[static_cast<std::size_t>(s)] = false;
}

std::int64_t PagedKVCache::append(std::int64_t s, const TensorView& k, const TensorView& v) {
  check_seq("PagedKVCache::append", s);
  check_tokens("PagedKVCache::append", "k", k, g_, d_);
  check_tokens("PagedKVCache::append", "v", v, g_, dv_);
  if (k.dim(0) != v.dim(0)) fail("PagedKVCache::append", "k has ", k.dim(0), " tokens but v has ", v.dim(0));
  auto& table = tables_[static_cast<std::size_t>(s)];
  std::int64_t& len = len_[static_cast<std::size_t>(s)];
  const std::int64_t first = len;
  const std::size_t es = dtype_size(dtype_);
  const std::size_t kblock = static_cast<std::size_t>(block_ * g_ * d_) * es, vblock = static_cast<std::size_t>(block_ * g_ * dv_) * es;
  for (std::int64_t t = 0; t < k.dim(0); ++t, ++len) {
    const std::int64_t slot = len % block_;
    if (slot == 0 && len / block_ == static_cast<std::int64_t>(table.size())) table.push_back(take_block());
    std::int32_t& b = table[static_cast<std::size_t>(len / block_)];
    if (refcount_[static_cast<std::size_t>(b)] > 1) {  // shared with another sequence: copy before writing
      const std::int32_t fresh = take_block();
      std::memcpy(static_cast<char*>(k_.data()) + fresh * kblock, static_cast<char*>(k_.data()) + b * kblock, kblock);
      std::memcpy(static_cast<char*>(v_.data()) + fresh * vblock, static_cast<char*>(v_.data()) + b * vblock, vblock);
      release(b);
      b = fresh;
    }
    TensorView kt = k, vt = v;
    kt.data = static_cast<char*>(k.data) + static_cast<std::size_t>(t * k.step(0)) * dtype_size(k.dtype);
    vt.data = static_cast<char*>(v.data) + static_cast<std::size_t>(t * v.step(0)) * dtype_size(v.dtype);
    copy_tokens(kt, 1, g_, d_, static_cast<char*>(k_.data()) + b * kblock + static_cast<std::size_t>(slot * g_ * d_) * es, dtype_, g_ * d_);
    copy_tokens(vt, 1, g_, dv_, static_cast<char*>(v_.data()) + b * vblock + static_cast<std::size_t>(slot * g_ * dv_) * es, dtype_, g_ * dv_);
  }
  return first;
}

void PagedKVCache::truncate(std::int64_t s, std::int64_t length) {
  check_seq("PagedKVCache::truncate", s);
  auto& table = tables_[static_cast<std::size_t>(s)];
  std::int64_t& len = len_[static_cast<std::size_t>(s)];
  if (length < 0 || length > len) fail("PagedKVCache::truncate", "length ", length, " is outside [0, ", len, "] for sequence ", s);
  const auto keep_blocks = static_cast<std::size_t>((length + block_ - 1) / block_);
  while (table.size() > keep_blocks) {
    release(table.back());
    table.pop_back();
  }
  len = length;
}

std::int64_t PagedKVCache::length(std::int64_t s) const {
  check_seq("PagedKVCache::length", s);
  return len_[static_cast<std::size_t>(s)];
}

std::vector<KVSegment> PagedKVCache::segments(std::int64_t s) const {
  const std::int64_t len = length(s);
  const std::size_t es = dtype_size(dtype_);
  std::vector<KVSegment> out;
  const auto& table = tables_[static_cast<std::size_t>(s)];
  for (std::size_t i = 0; i < table.size(); ++i) {
    const std::int64_t pos0 = static_cast<std::int64_t>(i) * block_;
    const std::int64_t count = std::min(block_, len - pos0);
    if (count <= 0) break;
    out.push_back({static_cast<const char*>(k_.data()) + static_cast<std::size_t>(table[i] * block_ * g_ * d_) * es,
                   static_cast<const char*>(v_.data()) + static_cast<std::size_t>(table[i] * block_ * g_ * dv_) * es, count, pos0,
                   g_ * d_, g_ * dv_, d_, dv_});
  }
  return out;
}

std::int64_t PagedKVCache::free_blocks() const { return static_cast<std::int64_t>(free_.size()); }

const std::vector<std::int32_t>& PagedKVCache::block_table(std::int64_t s) const {
  check_seq("PagedKVCache::block_table", s);
  return tables_[static_cast<std::size_t>(s)];
}

}  // namespace attend
