#pragma once
// Decode attention after validation (see include/attend/decode.h), shared by the dispatcher and
// the per-ISA bodies. Work: tasks of (sequence, chunk of decode_chunk(total) cached tokens), each over
// every KV head (so a task streams its chunk's [tokens, G, D] memory in order); each writes a
// partial (m, l, O) per (KV head, query row), merged afterwards in chunk order (so the result does
// not depend on the thread count).
#include <cstdint>
#include <vector>

#include "attend/decode.h"
#include "kernels/logit.h"

namespace attend::kernels {

struct DecodeSequence {
  std::vector<KVSegment> segs;  // kept tokens, in position order
  std::int64_t len = 0;         // tokens appended (query t sits at len − T + t)
  std::int64_t total = 0;       // Σ segs.count
  std::int64_t qrow = 0;        // index into q's first dimension
};

// The logit (LogitSpec: causal, window_left, soft-cap, ALiBi; no bias) plus the cache's tensors.
struct DecodeProblem : LogitSpec {
  TensorView q, out, lse;
  std::int64_t hq = 0, g = 0, group = 1, d = 0, dv = 0, t = 1;
  DType kv_dtype = DType::f32;
  EvictionPolicy evict;  // the cache's policy (kept-set mask by position); keeps all for a paged cache
  std::vector<DecodeSequence> seqs;
  int threads = 1;

  std::int64_t rows() const { return group * t; }  // query rows per task: group heads x T tokens
  // Query token qt of a sequence of `len` appended tokens: its position, the forward's bottom-right
  // alignment of the T new tokens against the len cached ones.
  std::int64_t query_pos(std::int64_t len, std::int64_t qt) const { return LogitSpec::query_pos(qt, t, len); }
  // Positions that causal and the window let query token qt see (the eviction policy may hide more).
  KeyRange visible(std::int64_t len, std::int64_t qt) const { return visible_at(query_pos(len, qt), len); }
  // Whether every query token sees every position in [a, b] (then no per-key mask).
  bool block_visible(std::int64_t len, std::int64_t a, std::int64_t b) const {
    return all_visible(query_pos(len, 0), query_pos(len, t - 1), len, a, b + 1) &&
           (evict.window < 0 || b < evict.sink_tokens || a >= len - evict.window);
  }
};

struct DecodeTask {
  std::int32_t seq = 0;
  std::int64_t c0 = 0, c1 = 0;  // kept-token indices [c0, c1) of the sequence
};

inline constexpr std::int64_t kDecodeChunk = 512;  // the smallest chunk (a multiple of every block size)
// Tokens per task for a sequence of `total` kept tokens: about total / 32, between 512 and 2048 (a
// task's first block is read without prefetch, so long sequences take longer chunks; measured bf16
// L = 65536, 1 thread: 2048 is ~5 % faster than 512). Depends on the length only, never the thread
// count, so results do not depend on it either.
inline std::int64_t decode_chunk(std::int64_t total) {
  const std::int64_t c = (total / 32 + kDecodeChunk - 1) / kDecodeChunk * kDecodeChunk;
  return c < kDecodeChunk ? kDecodeChunk : c > 4 * kDecodeChunk ? 4 * kDecodeChunk : c;
}
inline std::int64_t decode_partial_floats(const DecodeProblem& p) { return p.g * p.rows() * (p.dv + 2); }
inline std::int64_t decode_scratch_floats(const DecodeProblem& p) {
  const std::int64_t dp = (p.d + 15) / 16 * 16, dvp = (p.dv + 15) / 16 * 16;
  return p.g * p.rows() * (dp + dvp + 2) + p.rows() * (1 + 16) + 16 * (dp + dvp) + 64;
}

// Per-ISA body: partial = [G][rows][m, l, O(dv)].
using DecodeTaskFn = void (*)(const DecodeProblem& p, const DecodeTask& t, float* scratch, float* partial);
void decode_task_scalar(const DecodeProblem&, const DecodeTask&, float*, float*);
void decode_task_avx2(const DecodeProblem&, const DecodeTask&, float*, float*);
void decode_task_avx512(const DecodeProblem&, const DecodeTask&, float*, float*);

}  // namespace attend::kernels
