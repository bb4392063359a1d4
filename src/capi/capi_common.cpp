#include "capi/capi_common.h"

#include <cstdio>
#include <cstring>

#include "core/check.h"

namespace attend::capi {
namespace {

// A fixed buffer: recording an error must not allocate (it runs while handling bad_alloc).
thread_local char last_error[1024] = "";

template <typename Struct>
void check_struct_size(const char* fn, const Struct* s, const char* init) {
  // Zeroed or foreign memory is refused: its zero windows would silently mask all but the diagonal.
  if (s->struct_size != sizeof(Struct))
    detail::fail(fn, "options have struct_size ", s->struct_size, ", expected ", sizeof(Struct),
                 " (set them up with ", init, "())");
}

template <typename T>
Span<const T> counted(const char* fn, const char* name, const T* p, std::int64_t n) {
  if (p == nullptr && n != 0) detail::fail(fn, name, " is NULL but its count is ", n);
  if (p != nullptr && n <= 0) detail::fail(fn, name, " is given with count ", n, " (must be positive)");
  return p == nullptr ? Span<const T>() : Span<const T>(p, static_cast<std::size_t>(n));
}

}  // namespace

DType dtype_of(const char* fn, const char* name, std::int32_t d) {
  switch (d) {
    case ATTEND_F32: return DType::f32;
    case ATTEND_BF16: return DType::bf16;
    case ATTEND_F16: return DType::f16;
    default: detail::fail(fn, name, " has dtype ", d, ", not ATTEND_F32 (0), ATTEND_BF16 (1) or ATTEND_F16 (2)");
  }
}

void clear_error() noexcept { last_error[0] = '\0'; }
const char* last_error_message() noexcept { return last_error; }

attend_status set_error(attend_status status, const char* message) noexcept {
  std::snprintf(last_error, sizeof last_error, "%s", message);
  return status;
}

attend_status status_of(const attend::Error& e) noexcept {
  return std::strstr(e.what(), "internal error:") != nullptr ? ATTEND_ERROR_INTERNAL : ATTEND_ERROR_INVALID_ARGUMENT;
}

TensorView required_view(const char* fn, const char* name, const attend_tensor* t) {
  if (t == nullptr) detail::fail(fn, name, " is NULL");
  if (t->data == nullptr) detail::fail(fn, name, "->data is NULL");
  if (t->rank < 1 || t->rank > kMaxRank) detail::fail(fn, name, " has rank ", t->rank, ", not 1..", kMaxRank);
  TensorView v;
  v.data = t->data;
  v.dtype = dtype_of(fn, name, t->dtype);
  v.rank = t->rank;
  for (int i = 0; i < t->rank; ++i) {
    v.shape[static_cast<std::size_t>(i)] = t->shape[i];
    v.stride[static_cast<std::size_t>(i)] = t->stride[i];
  }
  return v;
}

TensorView optional_view(const char* fn, const char* name, const attend_tensor* t) {
  if (t == nullptr || t->data == nullptr) return {};
  return required_view(fn, name, t);
}

std::optional<float> scale_of(float scale) {
  if (scale == 0.0f) return std::nullopt;
  return scale;
}

AttentionOptions attention_options(const char* fn, const attend_options* opts) {
  AttentionOptions o;
  if (opts == nullptr) return o;
  check_struct_size(fn, opts, "attend_options_init");
  o.scale = scale_of(opts->scale);
  o.softcap = opts->softcap;
  o.causal = opts->causal != 0;
  o.deterministic = opts->deterministic != 0;
  o.window_left = opts->window_left;
  o.window_right = opts->window_right;
  o.position_offset = opts->position_offset;
  o.alibi_slopes = counted(fn, "opts->alibi_slopes", opts->alibi_slopes, opts->alibi_count);
  o.bias = optional_view(fn, "opts->bias", opts->bias);
  if ((opts->cu_seqlens_q == nullptr) != (opts->cu_seqlens_k == nullptr))
    detail::fail(fn, "opts->cu_seqlens_q and opts->cu_seqlens_k must be given together");
  o.cu_seqlens_q = counted(fn, "opts->cu_seqlens_q", opts->cu_seqlens_q, opts->cu_seqlens_q ? opts->cu_seqlens_count : 0);
  o.cu_seqlens_k = counted(fn, "opts->cu_seqlens_k", opts->cu_seqlens_k, opts->cu_seqlens_k ? opts->cu_seqlens_count : 0);
  o.seqlens_k = counted(fn, "opts->seqlens_k", opts->seqlens_k, opts->seqlens_count);
  o.dropout_p = opts->dropout_p;
  o.dropout_seed = opts->dropout_seed;
  o.threads = opts->threads;
  return o;
}

DecodeOptions decode_options(const char* fn, const attend_decode_options* opts) {
  DecodeOptions o;
  if (opts == nullptr) return o;
  check_struct_size(fn, opts, "attend_decode_options_init");
  o.scale = scale_of(opts->scale);
  o.softcap = opts->softcap;
  o.window_left = opts->window_left;
  o.alibi_slopes = counted(fn, "opts->alibi_slopes", opts->alibi_slopes, opts->alibi_count);
  o.sequences = counted(fn, "opts->sequences", opts->sequences, opts->sequence_count);
  o.threads = opts->threads;
  return o;
}

}  // namespace attend::capi

extern "C" const char* attend_last_error(void) { return attend::capi::last_error_message(); }
