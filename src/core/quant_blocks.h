#pragma once
// Byte layouts of the block formats attend computes with (include/attend/quant.h describes the
// element order). f16 fields are raw IEEE half bits. The SIMD kernels read these same structs.
#include <cstdint>

namespace attend::quant {

inline constexpr int kQK = 32;    // elements per q8_0 / q4_0 block
inline constexpr int kQKK = 256;  // elements per K-quant super-block

struct BlockQ8_0 {
  std::uint16_t d;         // scale (f16)
  std::int8_t qs[kQK];     // x[j] = d·qs[j]
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
  std::uint16_t d;             // scale (f16)
  std::uint8_t qs[kQK / 2];    // x[j] = d·((qs[j] & 15) − 8), x[j+16] = d·((qs[j] >> 4) − 8)
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ4_K {
  std::uint16_t d;              // super-scale of the 6-bit sub-block scales (f16)
  std::uint16_t dmin;           // super-scale of the 6-bit sub-block mins (f16)
  std::uint8_t scales[12];      // 8 × (scale, min), 6 bits each, packed as quant.h says
  std::uint8_t qs[kQKK / 2];    // 4-bit quants
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ6_K {
  std::uint8_t ql[kQKK / 2];    // low 4 bits of the quants
  std::uint8_t qh[kQKK / 4];    // high 2 bits of the quants
  std::int8_t scales[kQKK / 16];  // 16 sub-block scales
  std::uint16_t d;              // super-scale (f16)
};
static_assert(sizeof(BlockQ6_K) == 210);

// (scale, min) of sub-block j (0..7) of a q4_K block.
inline void q4k_scale_min(int j, const std::uint8_t* s, std::uint8_t& sc, std::uint8_t& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = static_cast<std::uint8_t>((s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4));
    m = static_cast<std::uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Per-format row converters (n a multiple of the block size; checked by the caller).
void dequantize_q8_0(const BlockQ8_0* x, float* y, std::int64_t n);
void dequantize_q4_0(const BlockQ4_0* x, float* y, std::int64_t n);
void dequantize_q4_K(const BlockQ4_K* x, float* y, std::int64_t n);
void dequantize_q6_K(const BlockQ6_K* x, float* y, std::int64_t n);
void quantize_q8_0(const float* x, BlockQ8_0* y, std::int64_t n);
void quantize_q4_0(const float* x, BlockQ4_0* y, std::int64_t n);
void quantize_q4_K(const float* x, BlockQ4_K* y, std::int64_t n);
void quantize_q6_K(const float* x, BlockQ6_K* y, std::int64_t n);

// round(f) to nearest, ties to even, as ggml's nearest_int (the 1.5·2^23 trick), saturated to
// ±4194303 outside the range where that trick is exact (ggml asserts there; callers clamp anyway).
int nearest_int(float f);

}  // namespace attend::quant
