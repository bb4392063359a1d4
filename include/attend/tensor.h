#pragma once
// TensorView: a non-owning, strided view of up to 4 dimensions. Strides are in elements, so a
// [B, N, H, D] view of a [B, H, N, D] buffer is just a view with permuted strides (no copy).
// Tensor: an owning, 64-byte aligned, contiguous buffer that hands out views.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "attend/dtype.h"

namespace attend {

inline constexpr int kMaxRank = 4;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  int rank = 0;
  std::array<std::int64_t, kMaxRank> shape{};   // extents, outermost first
  std::array<std::int64_t, kMaxRank> stride{};  // in elements; 0 broadcasts

  bool empty() const { return data == nullptr; }
  std::int64_t numel() const;
  std::int64_t dim(int i) const { return shape[static_cast<std::size_t>(i)]; }
  std::int64_t step(int i) const { return stride[static_cast<std::size_t>(i)]; }
  bool is_contiguous() const;
  std::string shape_string() const;  // "[2, 128, 8, 64]"

  // A dense row-major view of `shape` over `data`.
  static TensorView contiguous(void* data, DType dtype, std::initializer_list<std::int64_t> shape);
  static TensorView contiguous(const void* data, DType dtype, std::initializer_list<std::int64_t> shape) {
    return contiguous(const_cast<void*>(data), dtype, shape);
  }
  // Same data, dimensions reordered: permuted(0, 2, 1, 3) swaps the middle two dimensions.
  TensorView permuted(int a, int b, int c, int d) const;
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, std::initializer_list<std::int64_t> shape);
  Tensor(DType dtype, const std::array<std::int64_t, kMaxRank>& shape, int rank);

  TensorView view() const { return view_; }
  void* data() const { return view_.data; }
  template <typename T>
  T* data_as() const { return static_cast<T*>(view_.data); }
  DType dtype() const { return view_.dtype; }
  std::int64_t numel() const { return view_.numel(); }
  std::int64_t dim(int i) const { return view_.dim(i); }
  int rank() const { return view_.rank; }
  std::size_t nbytes() const;

 private:
  struct Free { void operator()(void* p) const; };
  std::unique_ptr<void, Free> storage_;
  TensorView view_;
};

}  // namespace attend
