#include "core/view_checks.h"

#include <limits>

#include "core/check.h"

namespace attend::core {

using detail::fail;

void check_view(const char* fn, const char* name, const TensorView& t, int rank, bool allow_broadcast) {
  if (t.data == nullptr) fail(fn, name, " is empty (null data)");
  if (t.rank != rank) fail(fn, name, " must have rank ", rank, ", got rank ", t.rank, " ", t.shape_string());
  if (static_cast<int>(t.dtype) > static_cast<int>(DType::f16)) fail(fn, name, " has an unknown dtype");
  std::int64_t max_offset = 0;
  for (int i = 0; i < rank; ++i) {
    const std::int64_t n = t.dim(i), s = t.step(i);
    if (n < 0) fail(fn, name, " has a negative extent in ", t.shape_string());
    if (n > 1 && s == 0 && !allow_broadcast) fail(fn, name, " has stride 0 in dimension ", i, " (broadcast is not allowed here)");
    const std::int64_t as = s < 0 ? -s : s;
    if (n > 0 && as > 0 && (n - 1) > (std::numeric_limits<std::int64_t>::max() / 4 - max_offset) / as)
      fail(fn, name, " ", t.shape_string(), " spans more than 2^62 elements");
    if (n > 0) max_offset += (n - 1) * as;
  }
}

std::pair<const char*, const char*> byte_span(const TensorView& t) {
  if (t.data == nullptr) return {nullptr, nullptr};
  std::int64_t lo = 0, hi = 0;
  for (int i = 0; i < t.rank; ++i) {
    if (t.dim(i) == 0) return {nullptr, nullptr};
    const std::int64_t ext = (t.dim(i) - 1) * t.step(i);
    (ext < 0 ? lo : hi) += ext;
  }
  const auto* base = static_cast<const char*>(t.data);
  const auto sz = static_cast<std::int64_t>(dtype_size(t.dtype));
  return {base + lo * sz, base + (hi + 1) * sz};
}

void check_no_overlap(const char* fn, const char* name, const TensorView& t,
                      std::initializer_list<std::pair<const char*, const TensorView*>> inputs) {
  const auto [a0, a1] = byte_span(t);
  if (a0 == nullptr) return;
  for (const auto& [in_name, in] : inputs) {
    const auto [b0, b1] = byte_span(*in);
    if (b0 != nullptr && a0 < b1 && b0 < a1) fail(fn, name, " overlaps ", in_name, " in memory (outputs must not alias inputs)");
  }
}

void check_writable(const char* fn, const char* name, const TensorView& t) {
  for (int i = 0; i < t.rank; ++i)
    if (t.dim(i) > 1 && t.step(i) == 0) fail(fn, name, " has stride 0 in dimension ", i, ", so elements would be written twice");
}

}  // namespace attend::core
