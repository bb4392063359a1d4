#pragma once
// Decode attention: a few new query tokens per sequence against a KV cache (see kv_cache.h), or
// against keys and values in the caller's own memory (KVView, PagedKVView below).
//
//   q:   [S, T, Hq, D]   T new tokens per sequence (their K/V already appended to the cache),
//                        any strides and dtype; Hq a multiple of the cache's G
//   out: [S, T, Hq, Dv]  written;  lse: [S, Hq, T] optional, f32
//
// Query t of sequence s sits at position length(s) − T + t and sees the kept cached tokens at
// positions ≤ its own (causal), within `window_left` of it, and passing the cache's eviction policy.
// The logit is built as in attention.h (scale, soft-cap, ALiBi by position distance).
// The query heads that share a KV head are processed together, so each cached key and value is
// read once per group; one long sequence is split over the threads along the cache (flash-decoding)
// and the partial results are merged exactly through their log-sum-exp.
#include <cstdint>
#include <optional>
#include "attend/span.h"

#include "attend/capture.h"
#include "attend/kv_cache.h"
#include "attend/tensor.h"

namespace attend {

struct DecodeOptions {
  std::optional<float> scale;            // default 1/√D
  float softcap = 0;
  std::int64_t window_left = -1;         // extra sliding-window mask by position (-1: none)
  Span<const float> alibi_slopes;   // [Hq] or empty
  Span<const std::int64_t> sequences;  // which cache sequences q's S rows are (default 0..S−1)
  int threads = 0;
};

void decode(const TensorView& q, const KVCache& cache, const TensorView& out, const DecodeOptions& opts = {},
            const TensorView& lse = {});
void decode(const TensorView& q, const PagedKVCache& cache, const TensorView& out, const DecodeOptions& opts = {},
            const TensorView& lse = {});

// ---- Decode over the caller's own K/V memory (nothing is copied) --------------------------------
// For engines that keep their own cache. Strides are in elements of `dtype` (f32, bf16 or f16); a
// head's D (Dv) elements are contiguous. Token t of a sequence sits at position t, every token is
// kept (sliding windows: DecodeOptions::window_left), and query token t of T sits at position
// length − T + t, as with the caches above (its own K/V must already be in the memory).
// A sequence of length 0 is an empty slot (a padding row of a batch): its out rows are 0 and its
// lse −inf. Any other length below T is an error.
// Validation (attend::Error naming the field and value): sizes and strides positive, the rows of
// one sequence (or block) must not overlap (token-major [L, G, D] or head-major [G, L, D] layouts,
// with any padding), every block index a sequence uses in [0, num_blocks), lengths within the
// table, out and lse outside the K/V memory.

// One buffer per sequence: head g of token t of sequence s at k[s] + t·k_token_stride +
// g·k_head_stride (e.g. a [S, L_max, G, D] tensor: k[s] = base + s·L_max·G·D, strides G·D and D).
struct KVView {
  DType dtype = DType::f32;
  std::int64_t kv_heads = 0, head_dim = 0, value_dim = 0;
  Span<const void* const> k, v;         // [S] each sequence's token 0 (may be null when its length is 0)
  Span<const std::int64_t> lengths;     // [S] tokens per sequence
  std::int64_t k_token_stride = 0, k_head_stride = 0;
  std::int64_t v_token_stride = 0, v_head_stride = 0;
};

// A paged cache (vLLM's PagedAttention): a pool of num_blocks blocks of block_size tokens; token t
// of sequence s is slot t % block_size of block b = block_tables[s · max_blocks_per_sequence +
// t / block_size], head g at k_blocks + b·k_block_stride + slot·k_token_stride + g·k_head_stride.
// vLLM's [num_blocks, block_size, G, D]: strides block_size·G·D, G·D, D; head-major
// [num_blocks, G, block_size, D]: block_size·G·D, D, block_size·D. Table entries past a
// sequence's last used block are not read.
struct PagedKVView {
  DType dtype = DType::f32;
  std::int64_t kv_heads = 0, head_dim = 0, value_dim = 0;
  const void* k_blocks = nullptr;
  const void* v_blocks = nullptr;
  std::int64_t num_blocks = 0, block_size = 0;
  std::int64_t k_block_stride = 0, k_token_stride = 0, k_head_stride = 0;
  std::int64_t v_block_stride = 0, v_token_stride = 0, v_head_stride = 0;
  Span<const std::int32_t> block_tables;     // [S, max_blocks_per_sequence], row-major
  std::int64_t max_blocks_per_sequence = 0;
  Span<const std::int64_t> lengths;          // [S]
};

// q: [S', T, Hq, D], out: [S', T, Hq, Dv], lse: [S', Hq, T] f32 optional; opts.sequences picks
// which of the view's S sequences q's rows are (default 0 .. S'−1). Same kernels as the caches.
void decode(const TensorView& q, const KVView& kv, const TensorView& out, const DecodeOptions& opts = {},
            const TensorView& lse = {});
void decode(const TensorView& q, const PagedKVView& kv, const TensorView& out, const DecodeOptions& opts = {},
            const TensorView& lse = {});

}  // namespace attend
