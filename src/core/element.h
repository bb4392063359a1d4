#pragma once
// Scalar element access for strided tensors of any dtype (used by references and slow paths).
#include <cstdint>
#include <cstring>

#include "attend/dtype.h"

namespace attend::core {

inline float load_f32(const void* base, DType t, std::int64_t offset) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(base)[offset];
    case DType::bf16: return bf16_to_f32(static_cast<const std::uint16_t*>(base)[offset]);
    case DType::f16: return f16_to_f32(static_cast<const std::uint16_t*>(base)[offset]);
  }
  return 0;
}

inline void store_f32(void* base, DType t, std::int64_t offset, float x) {
  switch (t) {
    case DType::f32: static_cast<float*>(base)[offset] = x; return;
    case DType::bf16: static_cast<std::uint16_t*>(base)[offset] = f32_to_bf16(x); return;
    case DType::f16: static_cast<std::uint16_t*>(base)[offset] = f32_to_f16(x); return;
  }
}

}  // namespace attend::core
