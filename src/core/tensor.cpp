#include "attend/tensor.h"

#include <cstdlib>
#include <limits>
#include <new>
#include <sstream>

#include "core/check.h"
#include "core/memory.h"

namespace attend {

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= shape[static_cast<std::size_t>(i)];
  return n;
}

bool TensorView::is_contiguous() const {
  std::int64_t expect = 1;
  for (int i = rank - 1; i >= 0; --i) {
    const auto u = static_cast<std::size_t>(i);
    if (shape[u] != 1 && stride[u] != expect) return false;
    expect *= shape[u];
  }
  return true;
}

std::string TensorView::shape_string() const {
  std::ostringstream os;
  os << '[';
  for (int i = 0; i < rank; ++i) os << (i ? ", " : "") << shape[static_cast<std::size_t>(i)];
  os << ']';
  return os.str();
}

TensorView TensorView::contiguous(void* data, DType dtype, std::initializer_list<std::int64_t> dims) {
  if (dims.size() > static_cast<std::size_t>(kMaxRank)) detail::fail("TensorView", "rank ", dims.size(), " > ", kMaxRank);
  TensorView v;
  v.data = data;
  v.dtype = dtype;
  v.rank = static_cast<int>(dims.size());
  std::size_t i = 0;
  for (auto d : dims) v.shape[i++] = d;
  std::int64_t s = 1;
  for (int j = v.rank - 1; j >= 0; --j) {
    v.stride[static_cast<std::size_t>(j)] = s;
    s *= v.shape[static_cast<std::size_t>(j)];
  }
  return v;
}

TensorView TensorView::permuted(int a, int b, int c, int d) const {
  if (rank != 4) detail::fail("TensorView::permuted", "needs a rank-4 view, got rank ", rank);
  const int order[4] = {a, b, c, d};
  bool seen[4] = {false, false, false, false};
  TensorView out = *this;
  for (int i = 0; i < 4; ++i) {
    if (order[i] < 0 || order[i] > 3 || seen[order[i]]) detail::fail("TensorView::permuted", "not a permutation of 0..3");
    seen[order[i]] = true;
    out.shape[static_cast<std::size_t>(i)] = shape[static_cast<std::size_t>(order[i])];
    out.stride[static_cast<std::size_t>(i)] = stride[static_cast<std::size_t>(order[i])];
  }
  return out;
}

void Tensor::Free::operator()(void* p) const { std::free(p); }

Tensor::Tensor(DType dtype, std::initializer_list<std::int64_t> shape) {
  std::array<std::int64_t, kMaxRank> s{};
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) detail::fail("Tensor", "rank ", shape.size(), " > ", kMaxRank);
  std::size_t i = 0;
  for (auto d : shape) s[i++] = d;
  *this = Tensor(dtype, s, static_cast<int>(shape.size()));
}

Tensor::Tensor(DType dtype, const std::array<std::int64_t, kMaxRank>& shape, int rank) {
  if (rank < 0 || rank > kMaxRank) detail::fail("Tensor", "rank ", rank, " is outside 0..", kMaxRank);
  // The product of the non-zero extents must fit (the strides use it even when a zero extent
  // makes the tensor empty; found by fuzz_npy).
  std::int64_t n = 1, nonzero = 1;
  for (int i = 0; i < rank; ++i) {
    const auto d = shape[static_cast<std::size_t>(i)];
    if (d < 0) detail::fail("Tensor", "negative extent ", d);
    if (d != 0 && nonzero > std::numeric_limits<std::int64_t>::max() / 8 / d) detail::fail("Tensor", "size overflows 64 bits");
    if (d != 0) nonzero *= d;
    n *= d;
  }
  const std::size_t bytes = static_cast<std::size_t>(n) * dtype_size(dtype);
  core::check_allocation("Tensor", bytes);  // overcommit would let a huge request "succeed" and die later
  const std::size_t padded = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
  void* p = std::aligned_alloc(64, padded == 0 ? 64 : padded);
  if (!p) detail::fail("Tensor", "out of memory allocating ", bytes, " bytes");
  storage_.reset(p);
  view_.data = p;
  view_.dtype = dtype;
  view_.rank = rank;
  view_.shape = shape;
  std::int64_t s = 1;
  for (int j = rank - 1; j >= 0; --j) {
    view_.stride[static_cast<std::size_t>(j)] = s;
    s *= shape[static_cast<std::size_t>(j)];
  }
}

std::size_t Tensor::nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype()); }

}  // namespace attend
