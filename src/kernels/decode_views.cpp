// Validation of the caller's K/V views and their segments (see decode_views.h).
#include "kernels/decode_views.h"

#include <algorithm>

#include "core/check.h"

namespace attend::kernels {
namespace {

using detail::fail;

// Bounds every size, length and stride: an offset sums at most three products of two of them, so
// it stays below 2^62 (no overflow), and real caches are far smaller.
constexpr std::int64_t kMaxExtent = std::int64_t{1} << 30;

void check_common(const char* fn, DType dtype, std::int64_t g, std::int64_t d, std::int64_t dv) {
  if (dtype != DType::f32 && dtype != DType::bf16 && dtype != DType::f16)
    fail(fn, "the K/V dtype ", static_cast<int>(dtype), " is not f32, bf16 or f16");
  for (const auto& [name, x] : {std::pair<const char*, std::int64_t>{"kv_heads", g}, {"head_dim", d}, {"value_dim", dv}})
    if (x <= 0 || x > kMaxExtent) fail(fn, name, " must be positive (at most 2^30), got ", x);
}

void check_stride(const char* fn, const char* name, std::int64_t stride) {
  if (stride <= 0 || stride > kMaxExtent) fail(fn, name, " must be a positive element count (at most 2^30), got ", stride);
}

// Whether `tokens` rows per head × `heads` heads of `width` elements at these strides are disjoint:
// token-major (each token's heads side by side) or head-major (each head's tokens side by side).
bool disjoint(std::int64_t ts, std::int64_t tokens, std::int64_t hs, std::int64_t heads, std::int64_t width) {
  const bool token_major = (heads == 1 || hs >= width) && (tokens <= 1 || ts >= (heads - 1) * hs + width);
  const bool head_major = (tokens <= 1 || ts >= width) && (heads == 1 || hs >= (tokens - 1) * ts + width);
  return token_major || head_major;
}

void check_layout(const char* fn, const char* what, std::int64_t ts, std::int64_t tokens, std::int64_t hs, std::int64_t heads,
                  std::int64_t width) {
  if (!disjoint(ts, tokens, hs, heads, width))
    fail(fn, what, "'s rows overlap: token stride ", ts, " and head stride ", hs, " for ", tokens, " tokens of ", heads,
         " heads of width ", width, " (neither token-major nor head-major)");
}

void check_length(const char* fn, std::size_t s, std::int64_t len) {
  if (len < 0 || len > kMaxExtent) fail(fn, "lengths[", s, "] = ", len, " is negative or above 2^30");
}

}  // namespace

KVViewSource::KVViewSource(const char* fn, const KVView& view) : fn_(fn), v_(view) {
  check_common(fn, v_.dtype, v_.kv_heads, v_.head_dim, v_.value_dim);
  const std::size_t S = v_.lengths.size();
  if (v_.k.size() != S || v_.v.size() != S)
    fail(fn, "the view has ", S, " lengths but ", v_.k.size(), " key and ", v_.v.size(), " value pointers");
  check_stride(fn, "k_token_stride", v_.k_token_stride);
  check_stride(fn, "k_head_stride", v_.k_head_stride);
  check_stride(fn, "v_token_stride", v_.v_token_stride);
  check_stride(fn, "v_head_stride", v_.v_head_stride);
  std::int64_t longest = 0;
  for (std::size_t s = 0; s < S; ++s) {
    check_length(fn, s, v_.lengths[s]);
    if (v_.lengths[s] > 0 && (v_.k[s] == nullptr || v_.v[s] == nullptr))
      fail(fn, "sequence ", s, " has ", v_.lengths[s], " tokens but a null ", v_.k[s] == nullptr ? "k" : "v", " pointer");
    longest = std::max(longest, v_.lengths[s]);
  }
  check_layout(fn, "k", v_.k_token_stride, longest, v_.k_head_stride, v_.kv_heads, v_.head_dim);
  check_layout(fn, "v", v_.v_token_stride, longest, v_.v_head_stride, v_.kv_heads, v_.value_dim);
}

std::int64_t KVViewSource::length(std::int64_t s) const {
  if (s < 0 || s >= static_cast<std::int64_t>(v_.lengths.size()))
    fail(fn_, "sequence ", s, " is outside the view's ", v_.lengths.size(), " sequences");
  return v_.lengths[static_cast<std::size_t>(s)];
}

std::vector<KVSegment> KVViewSource::segments(std::int64_t s) const {
  const std::int64_t len = length(s);
  if (len == 0) return {};
  const auto u = static_cast<std::size_t>(s);
  return {{v_.k[u], v_.v[u], len, 0, v_.k_token_stride, v_.v_token_stride, v_.k_head_stride, v_.v_head_stride}};
}

PagedViewSource::PagedViewSource(const char* fn, const PagedKVView& view) : fn_(fn), v_(view) {
  check_common(fn, v_.dtype, v_.kv_heads, v_.head_dim, v_.value_dim);
  if (v_.num_blocks <= 0 || v_.num_blocks > kMaxExtent) fail(fn, "num_blocks must be positive, got ", v_.num_blocks);
  if (v_.block_size <= 0 || v_.block_size > kMaxExtent) fail(fn, "block_size must be positive, got ", v_.block_size);
  if (v_.max_blocks_per_sequence <= 0 || v_.max_blocks_per_sequence > kMaxExtent)
    fail(fn, "max_blocks_per_sequence must be positive, got ", v_.max_blocks_per_sequence);
  if (v_.k_blocks == nullptr || v_.v_blocks == nullptr) fail(fn, v_.k_blocks == nullptr ? "k_blocks" : "v_blocks", " is null");
  check_stride(fn, "k_block_stride", v_.k_block_stride);
  check_stride(fn, "k_token_stride", v_.k_token_stride);
  check_stride(fn, "k_head_stride", v_.k_head_stride);
  check_stride(fn, "v_block_stride", v_.v_block_stride);
  check_stride(fn, "v_token_stride", v_.v_token_stride);
  check_stride(fn, "v_head_stride", v_.v_head_stride);
  check_layout(fn, "a k block", v_.k_token_stride, v_.block_size, v_.k_head_stride, v_.kv_heads, v_.head_dim);
  check_layout(fn, "a v block", v_.v_token_stride, v_.block_size, v_.v_head_stride, v_.kv_heads, v_.value_dim);
  const auto block_extent = [&](std::int64_t ts, std::int64_t hs, std::int64_t width) {  // elements one block spans
    return (v_.block_size - 1) * ts + (v_.kv_heads - 1) * hs + width;
  };
  if (v_.k_block_stride < block_extent(v_.k_token_stride, v_.k_head_stride, v_.head_dim) ||
      v_.v_block_stride < block_extent(v_.v_token_stride, v_.v_head_stride, v_.value_dim))
    fail(fn, "the block strides ", v_.k_block_stride, " (k) and ", v_.v_block_stride, " (v) are smaller than a block, which spans ",
         block_extent(v_.k_token_stride, v_.k_head_stride, v_.head_dim), " and ",
         block_extent(v_.v_token_stride, v_.v_head_stride, v_.value_dim), " elements");
  const std::size_t S = v_.lengths.size();
  const auto per = static_cast<std::size_t>(v_.max_blocks_per_sequence);
  if (v_.block_tables.size() != S * per)
    fail(fn, "block_tables has ", v_.block_tables.size(), " entries, expected ", S, " sequences x ", per, " = ", S * per);
  for (std::size_t s = 0; s < S; ++s) {
    const std::int64_t len = v_.lengths[s];
    check_length(fn, s, len);
    if (len > v_.max_blocks_per_sequence * v_.block_size)
      fail(fn, "lengths[", s, "] = ", len, " exceeds the table's ", v_.max_blocks_per_sequence, " blocks of ", v_.block_size, " tokens");
    for (std::int64_t i = 0; i < (len + v_.block_size - 1) / v_.block_size; ++i) {
      const std::int32_t b = v_.block_tables[s * per + static_cast<std::size_t>(i)];
      if (b < 0 || b >= v_.num_blocks)
        fail(fn, "block_tables[", s, "][", i, "] = ", b, " is outside the pool's ", v_.num_blocks, " blocks");
    }
  }
}

std::int64_t PagedViewSource::length(std::int64_t s) const {
  if (s < 0 || s >= static_cast<std::int64_t>(v_.lengths.size()))
    fail(fn_, "sequence ", s, " is outside the view's ", v_.lengths.size(), " sequences");
  return v_.lengths[static_cast<std::size_t>(s)];
}

std::vector<KVSegment> PagedViewSource::segments(std::int64_t s) const {
  const std::int64_t len = length(s);
  const std::size_t es = dtype_size(v_.dtype);
  std::vector<KVSegment> out;
  for (std::int64_t i = 0, pos0 = 0; pos0 < len; ++i, pos0 += v_.block_size) {
    const std::int64_t b = v_.block_tables[static_cast<std::size_t>(s * v_.max_blocks_per_sequence + i)];
    out.push_back({static_cast<const char*>(v_.k_blocks) + static_cast<std::size_t>(b * v_.k_block_stride) * es,
                   static_cast<const char*>(v_.v_blocks) + static_cast<std::size_t>(b * v_.v_block_stride) * es,
                   std::min(v_.block_size, len - pos0), pos0, v_.k_token_stride, v_.v_token_stride, v_.k_head_stride,
                   v_.v_head_stride});
  }
  return out;
}

}  // namespace attend::kernels
