#pragma once
// Decode attention: a few new query tokens per sequence against a KV cache (see kv_cache.h).
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

}  // namespace attend
