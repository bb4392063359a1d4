#pragma once
// Element types of tensors. Kernels accumulate in f32 whatever the storage type.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace attend {

enum class DType : std::uint8_t { f32, bf16, f16 };

std::size_t dtype_size(DType t);           // bytes per element
std::string_view dtype_name(DType t);      // "f32", "bf16", "f16"
DType dtype_from_name(std::string_view s); // throws attend::Error on an unknown name

// Scalar conversions (round to nearest even; NaN stays NaN, overflow goes to inf).
float bf16_to_f32(std::uint16_t h);
std::uint16_t f32_to_bf16(float f);
float f16_to_f32(std::uint16_t h);
std::uint16_t f32_to_f16(float f);

// Bulk conversions between a typed buffer and f32 (n elements, contiguous).
void convert_to_f32(const void* src, DType src_type, float* dst, std::size_t n);
void convert_from_f32(const float* src, void* dst, DType dst_type, std::size_t n);

}  // namespace attend
