/** @file attend/attend_c.h
 *  The C API of attend's kernels, for C programs and foreign-function interfaces (ctypes, cffi,
 *  Rust, Julia, ...): attention forward, backward and decode over caller-owned memory described by
 *  raw pointers, shapes and strides. Valid C99 (and C++). Link `pkg-config --libs attend-capi`, or
 *  `attend::capi` with CMake. The semantics are those of the C++ API (attend/attention.h,
 *  attend/backward.h, attend/decode.h), which the shape comments below repeat.
 *
 *  Conventions
 *  - Every function that can fail returns an ::attend_status; ATTEND_OK is 0. On failure,
 *    attend_last_error() gives a one-line message naming the function and the offending value.
 *    No C++ exception ever leaves this API.
 *  - Arguments are validated before anything is written: a call that fails with
 *    ATTEND_ERROR_INVALID_ARGUMENT leaves every output untouched.
 *  - Tensors are ::attend_tensor descriptors: a data pointer, a dtype, up to 4 extents and their
 *    strides in elements (not bytes). Any strides are accepted, so a [B, H, N, D] buffer is passed
 *    as [B, N, H, D] by swapping the middle extents and strides; no copy is made.
 *  - Options structs must be set up by their _init function (zeroed memory is refused: a zero
 *    window would silently hide all but the diagonal), then changed field by field.
 *  - Thread safety: every function may be called from any thread. Calls that write the same
 *    output or modify the same KV cache must not overlap; a cache may be read by several
 *    attend_decode() calls at once.
 */
#ifndef ATTEND_ATTEND_C_H
#define ATTEND_ATTEND_C_H

#include <stddef.h>
#include <stdint.h>

#include "attend/version.h"

/** Marks the exported functions (the C API is the only interface a shared libattend_capi exports). */
#if defined(__GNUC__) || defined(__clang__)
#define ATTEND_C_API __attribute__((visibility("default")))
#else
#define ATTEND_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Result of every fallible call. */
typedef enum attend_status {
  ATTEND_OK = 0,
  /** A bad shape, stride, dtype, option or null pointer; nothing was written. */
  ATTEND_ERROR_INVALID_ARGUMENT = 1,
  /** Memory for scratch buffers or a cache could not be allocated. */
  ATTEND_ERROR_OUT_OF_MEMORY = 2,
  /** A failed internal check (a bug in attend: please report the message). */
  ATTEND_ERROR_INTERNAL = 3,
  /** Not a status: keeps the enum 32 bits wide with every int32_t value valid. */
  ATTEND_STATUS_MAX_ENUM = 0x7FFFFFFF
} attend_status;

/** Element types. Inputs and outputs may mix them; accumulation is always f32. */
typedef enum attend_dtype {
  ATTEND_F32 = 0,  /**< IEEE binary32 */
  ATTEND_BF16 = 1, /**< bfloat16, stored as uint16_t */
  ATTEND_F16 = 2,  /**< IEEE binary16, stored as uint16_t */
  /** Not a dtype: makes every int32_t value a valid attend_dtype, so a wrong value a caller passes
   *  is refused with ATTEND_ERROR_INVALID_ARGUMENT instead of being undefined behaviour in C++. */
  ATTEND_DTYPE_MAX_ENUM = 0x7FFFFFFF
} attend_dtype;

/** The largest rank of a tensor descriptor. */
#define ATTEND_MAX_RANK 4

/** A strided view of caller-owned memory. */
typedef struct attend_tensor {
  void* data;                       /**< first element; NULL marks an absent optional tensor */
  int32_t dtype;                    /**< an ::attend_dtype */
  int32_t rank;                     /**< number of used extents, 1..4 */
  int64_t shape[ATTEND_MAX_RANK];   /**< extents, outermost first */
  int64_t stride[ATTEND_MAX_RANK];  /**< steps between neighbours, in elements; 0 broadcasts (inputs) */
} attend_tensor;

/** Fills `t` with a dense row-major descriptor of `shape[0..rank)` over `data`. */
ATTEND_C_API attend_status attend_tensor_init(attend_tensor* t, void* data, attend_dtype dtype, int32_t rank,
                                              const int64_t* shape);

/** Options of attend_attention() and attend_attention_backward(); set up by attend_options_init().
 *  The logit is built in this order: s = scale * q.k; s = softcap * tanh(s / softcap);
 *  s += bias; s += -alibi_slopes[h] * |i' - j|; s = -inf where the mask hides j from i, with
 *  i' = i + (Nk - Nq) + position_offset (causal and windows are bottom-right aligned). */
typedef struct attend_options {
  size_t struct_size;            /**< sizeof(attend_options), written by attend_options_init() */
  float scale;                   /**< 0: 1/sqrt(D) */
  float softcap;                 /**< 0: off */
  int32_t causal;                /**< nonzero: key j is hidden from query i when j > i' */
  int32_t deterministic;         /**< backward: bitwise identical results for any thread count */
  int64_t window_left;           /**< hides j < i' - window_left; -1: unbounded */
  int64_t window_right;          /**< hides j > i' + window_right; -1: unbounded */
  int64_t position_offset;       /**< added to i' (ring attention over blocks of a sequence) */
  const float* alibi_slopes;     /**< [Hq] or NULL */
  int64_t alibi_count;           /**< entries in alibi_slopes (Hq) */
  const attend_tensor* bias;     /**< NULL, or additive bias broadcastable to [B, Hq, Nq, Nk] */
  /** Ragged batch, packed: q is [1, sum Nq_b, Hq, D], k and v [1, sum Nk_b, Hkv, D]; each array
   *  holds B + 1 cumulative offsets starting at 0 (cu_seqlens_count = B + 1). NULL: not ragged. */
  const int32_t* cu_seqlens_q;
  const int32_t* cu_seqlens_k;
  int64_t cu_seqlens_count;
  /** Ragged batch, padded: sequence b uses only its first seqlens_k[b] keys. NULL: all keys. */
  const int32_t* seqlens_k;
  int64_t seqlens_count;         /**< entries in seqlens_k (B) */
  float dropout_p;               /**< attention dropout probability (training); 0: off */
  uint64_t dropout_seed;         /**< the keep mask is a pure function of (seed, b, h, i, j) */
  int32_t threads;               /**< 0: attend_num_threads() */
} attend_options;

/** Sets every field of `opts` to its default (no mask, default scale, no extras). */
ATTEND_C_API void attend_options_init(attend_options* opts);

/** Exact scaled-dot-product attention, forward.
 *  q: [B, Nq, Hq, D]; k: [B, Nk, Hkv, D]; v: [B, Nk, Hkv, Dv] (Hq a multiple of Hkv: query head h
 *  reads KV head h / (Hq / Hkv)); out: [B, Nq, Hq, Dv], written; lse: NULL or [B, Hq, Nq] f32,
 *  written (log-sum-exp of the logits; -inf for a row with no visible key, whose out is 0).
 *  opts: NULL for the defaults. */
ATTEND_C_API attend_status attend_attention(const attend_tensor* q, const attend_tensor* k, const attend_tensor* v,
                                            const attend_tensor* out, const attend_tensor* lse,
                                            const attend_options* opts);

/** The specification of attend_attention() computed plainly in double precision (slow; for tests). */
ATTEND_C_API attend_status attend_attention_reference(const attend_tensor* q, const attend_tensor* k,
                                                      const attend_tensor* v, const attend_tensor* out,
                                                      const attend_tensor* lse, const attend_options* opts);

/** Exact attention backward.
 *  q, k, v, out: as in the forward (out is the forward's output); dout: [B, Nq, Hq, Dv];
 *  lse: [B, Hq, Nq] f32, the forward's; dq: [B, Nq, Hq, D], dk: [B, Nk, Hkv, D],
 *  dv: [B, Nk, Hkv, Dv], written; dbias: NULL or the shape of opts->bias, written (broadcast
 *  dimensions summed). The same opts as the forward (dropout: the same seed). */
ATTEND_C_API attend_status attend_attention_backward(const attend_tensor* q, const attend_tensor* k,
                                                     const attend_tensor* v, const attend_tensor* out,
                                                     const attend_tensor* dout, const attend_tensor* lse,
                                                     const attend_tensor* dq, const attend_tensor* dk,
                                                     const attend_tensor* dv, const attend_tensor* dbias,
                                                     const attend_options* opts);

/** The specification of attend_attention_backward() in double precision (slow; for tests). */
ATTEND_C_API attend_status attend_attention_backward_reference(
    const attend_tensor* q, const attend_tensor* k, const attend_tensor* v, const attend_tensor* out,
    const attend_tensor* dout, const attend_tensor* lse, const attend_tensor* dq, const attend_tensor* dk,
    const attend_tensor* dv, const attend_tensor* dbias, const attend_options* opts);

/** A key/value cache for decoding (attend::KVCache): per sequence one buffer of `capacity` tokens;
 *  with a window, older tokens (except the first sink_tokens) are evicted. Opaque. */
typedef struct attend_kv_cache attend_kv_cache;

/** Creates a cache of `sequences` sequences, each holding up to `capacity` tokens of kv_heads
 *  heads (G), keys of width head_dim (D) and values of width value_dim (Dv), stored as `dtype`.
 *  window: keep the most recent `window` tokens (-1: all); sink_tokens: also keep the first ones.
 *  On success *cache is the new cache (free it with attend_kv_cache_destroy()). */
ATTEND_C_API attend_status attend_kv_cache_create(attend_kv_cache** cache, int64_t sequences, int64_t capacity,
                                                  int64_t kv_heads, int64_t head_dim, int64_t value_dim,
                                                  attend_dtype dtype, int64_t window, int64_t sink_tokens);

/** Frees a cache (NULL is allowed). */
ATTEND_C_API void attend_kv_cache_destroy(attend_kv_cache* cache);

/** Appends n tokens to sequence `sequence`: k [n, G, D], v [n, G, Dv] (any dtype and strides).
 *  first_position: NULL, or receives the position of the first appended token. */
ATTEND_C_API attend_status attend_kv_cache_append(attend_kv_cache* cache, int64_t sequence, const attend_tensor* k,
                                                  const attend_tensor* v, int64_t* first_position);

/** Rolls sequence `sequence` back to its first `length` tokens (speculative decoding). */
ATTEND_C_API attend_status attend_kv_cache_truncate(attend_kv_cache* cache, int64_t sequence, int64_t length);

/** *length receives the number of tokens appended to `sequence` so far (its next position). */
ATTEND_C_API attend_status attend_kv_cache_length(const attend_kv_cache* cache, int64_t sequence, int64_t* length);

/** Options of attend_decode(); set up by attend_decode_options_init(). */
typedef struct attend_decode_options {
  size_t struct_size;          /**< sizeof(attend_decode_options), written by attend_decode_options_init() */
  float scale;                 /**< 0: 1/sqrt(D) */
  float softcap;               /**< 0: off */
  int64_t window_left;         /**< extra sliding-window mask by position; -1: none */
  const float* alibi_slopes;   /**< [Hq] or NULL */
  int64_t alibi_count;
  const int64_t* sequences;    /**< which cache sequences q's S rows are; NULL: 0 .. S-1 */
  int64_t sequence_count;
  int32_t threads;             /**< 0: attend_num_threads() */
} attend_decode_options;

/** Sets every field of `opts` to its default. */
ATTEND_C_API void attend_decode_options_init(attend_decode_options* opts);

/** Decode attention against a KV cache.
 *  q: [S, T, Hq, D], the T newest tokens of each sequence (their keys and values already
 *  appended); out: [S, T, Hq, Dv], written; lse: NULL or [S, Hq, T] f32, written. Query t of
 *  sequence s sits at position length(s) - T + t and sees the kept cached tokens at positions up to
 *  its own. opts: NULL for the defaults. */
ATTEND_C_API attend_status attend_decode(const attend_tensor* q, const attend_kv_cache* cache,
                                         const attend_tensor* out, const attend_tensor* lse,
                                         const attend_decode_options* opts);

/* ---- decode over the caller's own K/V memory (attend/decode.h: KVView, PagedKVView) ------------- */

/** Keys and values in one buffer per sequence (the caller's own cache; nothing is copied). Head g of
 *  token t of sequence s starts at k[s] + t * k_token_stride + g * k_head_stride (in elements of
 *  dtype; a head's head_dim elements are contiguous); likewise v with value_dim. Token t sits at
 *  position t. Set up with attend_kv_view_init(), then fill every field. */
typedef struct attend_kv_view {
  size_t struct_size;          /**< sizeof(attend_kv_view), written by attend_kv_view_init() */
  int32_t dtype;               /**< an ::attend_dtype, of both k and v */
  int64_t kv_heads, head_dim, value_dim;
  int64_t sequences;           /**< S: the entries of k, v and lengths */
  const void* const* k;        /**< [S] each sequence's token 0 (NULL allowed where its length is 0) */
  const void* const* v;        /**< [S] */
  const int64_t* lengths;      /**< [S] tokens per sequence; 0 marks an empty slot */
  int64_t k_token_stride, k_head_stride, v_token_stride, v_head_stride; /**< in elements, positive */
} attend_kv_view;

/** A paged cache (vLLM's PagedAttention) in the caller's memory: a pool of num_blocks blocks of
 *  block_size tokens. Token t of sequence s is slot t % block_size of block
 *  b = block_tables[s * max_blocks_per_sequence + t / block_size]; its head g starts at
 *  k_blocks + b * k_block_stride + slot * k_token_stride + g * k_head_stride (elements). vLLM's
 *  [num_blocks, block_size, G, D] has strides block_size*G*D, G*D, D. Table entries past a
 *  sequence's last used block are not read. Set up with attend_paged_kv_view_init(). */
typedef struct attend_paged_kv_view {
  size_t struct_size;          /**< sizeof(attend_paged_kv_view), written by attend_paged_kv_view_init() */
  int32_t dtype;               /**< an ::attend_dtype, of both pools */
  int64_t kv_heads, head_dim, value_dim;
  const void* k_blocks;        /**< the key pool */
  const void* v_blocks;        /**< the value pool */
  int64_t num_blocks, block_size;
  int64_t k_block_stride, k_token_stride, k_head_stride; /**< in elements, positive */
  int64_t v_block_stride, v_token_stride, v_head_stride;
  int64_t sequences;           /**< S */
  const int32_t* block_tables; /**< [S, max_blocks_per_sequence], row-major */
  int64_t max_blocks_per_sequence;
  const int64_t* lengths;      /**< [S] tokens per sequence; 0 marks an empty slot */
} attend_paged_kv_view;

/** Zeroes `view` and sets its struct_size. */
ATTEND_C_API void attend_kv_view_init(attend_kv_view* view);
ATTEND_C_API void attend_paged_kv_view_init(attend_paged_kv_view* view);

/** Decode attention over a ::attend_kv_view / ::attend_paged_kv_view, as attend_decode() over a cache:
 *  q: [S', T, Hq, D], out: [S', T, Hq, Dv], lse: NULL or [S', Hq, T] f32; opts->sequences picks the
 *  view's sequences for q's rows (default 0 .. S'-1). Query t of sequence s sits at position
 *  lengths[s] - T + t. A sequence of length 0 gives out rows of 0 and lse -inf; another length
 *  below T, a block index outside [0, num_blocks), non-positive or overlapping strides, a table
 *  shorter than S * max_blocks_per_sequence, or out/lse inside the K/V memory give
 *  ATTEND_ERROR_INVALID_ARGUMENT, with attend_last_error() naming the field and value. */
ATTEND_C_API attend_status attend_decode_kv(const attend_tensor* q, const attend_kv_view* kv, const attend_tensor* out,
                                            const attend_tensor* lse, const attend_decode_options* opts);
ATTEND_C_API attend_status attend_decode_paged(const attend_tensor* q, const attend_paged_kv_view* kv,
                                               const attend_tensor* out, const attend_tensor* lse,
                                               const attend_decode_options* opts);

/* ---- running on the host's threads (attend/executor.h) ------------------------------------- */

/** One task of attend's work; never returns early by longjmp and never fails (errors are kept
 *  inside attend and reported by the call that started the work). */
typedef void (*attend_task_fn)(void* task_ctx, int64_t i);

/** A host's executor. parallel_for(ctx, n, task, task_ctx) must call task(task_ctx, i) exactly once
 *  for every i in [0, n), on any of the host's threads (the calling one included), at most
 *  `concurrency` at once, and return only when all have returned. attend passes n <= concurrency
 *  lanes, each of which takes tasks from a shared counter, so a host that runs them one after
 *  another is correct (just not parallel); no worker index is needed. parallel_for may be called
 *  from several threads at once and from the host's own threads (whichever thread called attend),
 *  never from inside a task. */
typedef struct attend_executor {
  size_t struct_size;   /**< sizeof(attend_executor) */
  void* ctx;            /**< passed back to parallel_for */
  int32_t concurrency;  /**< threads the host runs tasks on at once, >= 1 */
  void (*parallel_for)(void* ctx, int64_t n, attend_task_fn task, void* task_ctx);
} attend_executor;

/** Runs attend's parallel work on the host's executor (copied; NULL: as attend_reset_executor()).
 *  When it returns, the previous executor is no longer called (calls in flight were waited for).
 *  Must not be called from inside a task attend runs. */
ATTEND_C_API attend_status attend_set_executor(const attend_executor* executor);
/** Back to attend's own threads; the previous executor is no longer called when it returns. */
ATTEND_C_API attend_status attend_reset_executor(void);

/** Worker threads used when a call's options say 0; 0 (the default) means the hardware's concurrency. */
ATTEND_C_API attend_status attend_set_num_threads(int32_t threads);
ATTEND_C_API int32_t attend_num_threads(void);

/** The message of this thread's most recent failed call, or "" when its most recent call that
 *  returns an ::attend_status succeeded. Valid until that thread's next such call. */
ATTEND_C_API const char* attend_last_error(void);

/** "ATTEND_OK", "ATTEND_ERROR_INVALID_ARGUMENT", ... ("unknown status" for other values). */
ATTEND_C_API const char* attend_status_name(attend_status status);

/** The library's version, e.g. "0.1.0" (the headers' is ATTEND_VERSION_STRING). */
ATTEND_C_API const char* attend_version_string(void);
/** The library's version as major * 10000 + minor * 100 + patch (compare with ATTEND_VERSION). */
ATTEND_C_API int32_t attend_version(void);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* ATTEND_ATTEND_C_H */
