#pragma once
// The caller's K/V memory (attend/decode.h: KVView, PagedKVView) as the decode planner reads a
// cache: validated once when constructed, then length(s) and segments(s) per sequence, so decode
// over a view runs the same planner, kernels and merge as decode over KVCache / PagedKVCache.
#include <cstdint>
#include <vector>

#include "attend/decode.h"

namespace attend::kernels {

class KVViewSource {
 public:
  KVViewSource(const char* fn, const KVView& view);  // throws attend::Error on a bad view
  std::int64_t length(std::int64_t s) const;         // throws on an id outside [0, S)
  std::vector<KVSegment> segments(std::int64_t s) const;
  std::int64_t kv_heads() const { return v_.kv_heads; }
  std::int64_t head_dim() const { return v_.head_dim; }
  std::int64_t value_dim() const { return v_.value_dim; }
  DType dtype() const { return v_.dtype; }

 private:
  const char* fn_;
  KVView v_;
};

class PagedViewSource {
 public:
  PagedViewSource(const char* fn, const PagedKVView& view);
  std::int64_t length(std::int64_t s) const;
  std::vector<KVSegment> segments(std::int64_t s) const;
  std::int64_t kv_heads() const { return v_.kv_heads; }
  std::int64_t head_dim() const { return v_.head_dim; }
  std::int64_t value_dim() const { return v_.value_dim; }
  DType dtype() const { return v_.dtype; }

 private:
  const char* fn_;
  PagedKVView v_;
};

}  // namespace attend::kernels
