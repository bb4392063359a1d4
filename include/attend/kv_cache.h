#pragma once
// Key/value caches for inference. One cache holds one layer's keys and values for a batch of
// sequences of different lengths (a model keeps one per layer).
//
// Shape letters: S sequences, L cached tokens, G KV heads, D key width, Dv value width.
// Every cached token keeps the position it had in its sequence (0, 1, 2, ...), so eviction never
// changes what a token means: masks and ALiBi use positions, and a RoPE model rotates keys by
// their position before appending them (keys are cached after RoPE, as in every major engine).
#include <cstdint>
#include "attend/span.h"
#include <vector>

#include "attend/tensor.h"

namespace attend {

// Which tokens a sequence keeps. Attention over the cache is exactly attention over the kept
// tokens (older ones are masked by position even before their storage is reclaimed).
struct EvictionPolicy {
  std::int64_t window = -1;      // keep the most recent `window` tokens (-1: keep everything)
  std::int64_t sink_tokens = 0;  // also keep the first `sink_tokens` forever (StreamingLLM sinks)

  // Whether a sequence of `length` appended tokens keeps the token at position `pos`.
  bool keeps(std::int64_t pos, std::int64_t length) const {
    return window < 0 || pos < sink_tokens || pos >= length - window;
  }
};

// A run of cached tokens, positions pos0, pos0 + 1, ...: head g of token i at k + i·k_stride +
// g·k_head_stride (elements; a head's D elements contiguous), likewise v.
struct KVSegment {
  const void* k = nullptr;  // [count, G, D] with token stride k_stride elements
  const void* v = nullptr;  // [count, G, Dv] with token stride v_stride elements
  std::int64_t count = 0, pos0 = 0, k_stride = 0, v_stride = 0;
  std::int64_t k_head_stride = 0, v_head_stride = 0;  // between KV heads (the caches': D and Dv)
};

// Contiguous layout: per sequence one buffer of `capacity` tokens; with an eviction policy the
// buffer is compacted when full (amortised: a quarter of the window at a time).
//
// Concurrency contract:
// - Const member functions and decode() only read: any number of threads may run them at once.
// - Sequences are independent: append / truncate / clear of sequence s write only s's buffer rows
//   and s's counters, so calls on different sequences may run at once on different threads, also
//   while decode() or const calls read other sequences. decode() reads exactly the sequences it is
//   given (opts.sequences, default 0 .. S − 1).
// - A write to sequence s needs s to itself: it must not overlap any other call that touches s
//   (another write, decode over s, length(s), segments(s), keys(s), ...). The caller orders them.
// - segments(s), keys(s) and values(s) point into the cache: valid until s's next append (which
//   may compact s's buffer) or truncate.
// Tested under ThreadSanitizer: ConcurrentDecode.*, ConcurrentKVCache.*.
class KVCache {
 public:
  // capacity: tokens per sequence the buffer holds (with a window it only needs window + slack).
  KVCache(std::int64_t sequences, std::int64_t capacity, std::int64_t kv_heads, std::int64_t head_dim,
          std::int64_t value_dim, DType dtype, EvictionPolicy policy = {});

  // Appends n tokens to sequence s: k [n, G, D], v [n, G, Dv] (any dtype, any strides). Returns
  // the position of the first appended token. Throws if the buffer is full and nothing may be evicted.
  std::int64_t append(std::int64_t s, const TensorView& k, const TensorView& v);
  // Rolls sequence s back to its first `length` tokens (speculative decoding). Only tokens still
  // stored can be restored; rolling back past evicted tokens throws.
  void truncate(std::int64_t s, std::int64_t length);
  void clear(std::int64_t s) { truncate(s, 0); }

  std::int64_t length(std::int64_t s) const;         // tokens appended so far (= next position)
  std::int64_t stored(std::int64_t s) const;         // tokens physically stored
  std::vector<std::int64_t> kept_positions(std::int64_t s) const;  // positions attention sees
  std::vector<KVSegment> segments(std::int64_t s) const;           // the kept tokens, in order
  // Sequence s's stored keys/values as [1, stored, G, D] views (contiguous layout only).
  TensorView keys(std::int64_t s) const;
  TensorView values(std::int64_t s) const;

  std::int64_t sequences() const { return static_cast<std::int64_t>(len_.size()); }
  std::int64_t kv_heads() const { return g_; }
  std::int64_t head_dim() const { return d_; }
  std::int64_t value_dim() const { return dv_; }
  DType dtype() const { return dtype_; }
  const EvictionPolicy& policy() const { return policy_; }

 private:
  void compact(std::int64_t s, std::int64_t needed);
  std::int64_t capacity_, g_, d_, dv_;
  DType dtype_;
  EvictionPolicy policy_;
  Tensor k_, v_;                           // [S, capacity, G, D] / [S, capacity, G, Dv]
  std::vector<std::int64_t> len_;          // tokens appended (next position)
  std::vector<std::int64_t> first_pos_;    // position of the first stored non-sink token
};

// Paged layout (as vLLM's PagedAttention): one pool of fixed-size blocks shared by all sequences;
// each sequence has a block table. fork() shares a sequence's blocks with a new sequence
// (prefix sharing); a shared block is copied before it is written (copy-on-write).
//
// Concurrency contract:
// - Const member functions and decode() only read: any number of threads may run them at once.
// - Every non-const call (add_sequence, fork, remove_sequence, append, truncate) changes state that
//   all sequences share (the free-block list, reference counts, the table of tables), so it needs
//   the whole cache to itself: no other call on the cache, from any thread, may overlap it. The
//   caller serialises them (one mutex, or one scheduling thread); nothing inside locks.
// - segments(s) and block_table(s) point into the cache: valid until the next non-const call.
// Tested under ThreadSanitizer: ConcurrentDecode.* (many readers of one cache).
class PagedKVCache {
 public:
  PagedKVCache(std::int64_t num_blocks, std::int64_t block_size, std::int64_t kv_heads, std::int64_t head_dim,
               std::int64_t value_dim, DType dtype);

  std::int64_t add_sequence();                      // a new empty sequence; returns its id
  std::int64_t fork(std::int64_t parent);           // a new sequence sharing parent's tokens
  void remove_sequence(std::int64_t s);             // frees its blocks (shared ones stay for others)
  std::int64_t append(std::int64_t s, const TensorView& k, const TensorView& v);
  void truncate(std::int64_t s, std::int64_t length);

  std::int64_t length(std::int64_t s) const;
  std::vector<KVSegment> segments(std::int64_t s) const;
  std::int64_t free_blocks() const;
  std::int64_t block_size() const { return block_; }
  const std::vector<std::int32_t>& block_table(std::int64_t s) const;
  std::int64_t kv_heads() const { return g_; }
  std::int64_t head_dim() const { return d_; }
  std::int64_t value_dim() const { return dv_; }
  DType dtype() const { return dtype_; }

 private:
  std::int32_t take_block();
  void release(std::int32_t block);
  void check_seq(const char* fn, std::int64_t s) const;
  std::int64_t block_, g_, d_, dv_;
  DType dtype_;
  Tensor k_, v_;                                   // [blocks, block_size, G, D] / [.., Dv]
  std::vector<std::int32_t> refcount_, free_;
  std::vector<std::vector<std::int32_t>> tables_;
  std::vector<std::int64_t> len_;
  std::vector<bool> alive_;
};

}  // namespace attend
