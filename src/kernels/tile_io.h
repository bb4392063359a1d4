#pragma once
// Loading strided rows of any dtype into f32 tiles, shared by the per-ISA kernel bodies (internal
// linkage; compiled once per ISA with that ISA's conversions).
#include <cstdint>
#include <cstring>

#include "attend/dtype.h"
#include "core/element.h"

namespace attend::kernels {
namespace {

inline std::int64_t imin(std::int64_t a, std::int64_t b) { return a < b ? a : b; }
inline std::int64_t imax(std::int64_t a, std::int64_t b) { return a > b ? a : b; }

// Load n elements of a strided row as f32.
template <class Simd>
void load_row(const void* base, DType t, std::int64_t off, std::int64_t stride, std::int64_t n, float* dst) {
  if (stride == 1) {
    if (t == DType::f32) { std::memcpy(dst, static_cast<const float*>(base) + off, static_cast<std::size_t>(n) * 4); return; }
    if (t == DType::bf16) { Simd::bf16_to_f32(static_cast<const std::uint16_t*>(base) + off, dst, n); return; }
    Simd::f16_to_f32(static_cast<const std::uint16_t*>(base) + off, dst, n);
    return;
  }
  for (std::int64_t c = 0; c < n; ++c) dst[c] = core::load_f32(base, t, off + c * stride);
}

}  // namespace
}  // namespace attend::kernels
