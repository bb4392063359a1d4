#pragma once
// ggml's tensor element types ("block formats"), numbered as ggml and GGUF files number them, and
// scalar reference conversions for the ones attend computes with. A row of n elements is
// n / block_size blocks of block_bytes each (n must be a multiple of the block size). Layouts
// (little-endian; f16 is IEEE half; q is the stored integer):
//   f32, f16, bf16  one element per block
//   q8_0  32 elements, 34 bytes:  f16 d; int8 qs[32]                         x[j] = d·qs[j]
//   q4_0  32 elements, 18 bytes:  f16 d; uint8 qs[16]                        x[j] = d·(q[j] − 8)
//         q[j] = qs[j] & 15 and q[j+16] = qs[j] >> 4 for j < 16 (low nibbles hold the first half)
//   q4_K  256 elements, 144 bytes: f16 d, dmin; uint8 scales[12]; uint8 qs[128]
//         8 sub-blocks of 32 with 6-bit scale sc and min m each:  x = d·sc·q − dmin·m, q in 0..15;
//         (sc, m) of sub-block j < 4: scales[j] & 63, scales[j+4] & 63; of j ≥ 4:
//         (scales[j+4] & 15) | (scales[j−4] >> 6) << 4, (scales[j+4] >> 4) | (scales[j] >> 6) << 4.
//         Sub-blocks 2i and 2i+1 share qs[32i .. 32i+31]: low nibbles, then high nibbles.
//   q6_K  256 elements, 210 bytes: uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d
//         x[e] = d·scales[e/16]·(q[e] − 32), q 6 bits: 4 low bits from ql, 2 high bits from qh
//         (element e = 128h + 32k + l, k < 4, l < 32: low bits are nibble k/2 of ql[64h + 32(k%2) + l],
//         high bits are bits 2k..2k+1 of qh[32h + l]).
// The quantizers are ggml's reference quantizers (quantize_row_*_ref): same bytes for the same input.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace attend {

// ggml_type numbers (ggml.h). Gaps are types ggml removed (4, 5, 31-33, 36-38).
enum class GgmlType : std::uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9,
  q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15,
  iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23,
  i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30,
  tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41, q2_0 = 42,
};

struct GgmlTypeInfo {
  std::string_view name;      // ggml's name: "f32", "q4_0", "q4_K", ...
  std::int64_t block_size;    // elements per block
  std::size_t block_bytes;    // bytes per block
};

// The layout of a type number, or nullptr when ggml assigns no type to that number.
const GgmlTypeInfo* ggml_type_info(std::uint32_t type);
// The layout of a known type; throws attend::Error for a number that is no ggml type.
const GgmlTypeInfo& ggml_type_traits(GgmlType type);
std::string_view ggml_type_name(GgmlType type);

// Bytes of a row of n elements; throws attend::Error when n < 0, n is not a multiple of the
// block size, or the size overflows.
std::size_t row_bytes(GgmlType type, std::int64_t n);

// Whether dequantize_row / quantize_row / dot_row handle the type: f32, f16, bf16, q8_0, q4_0,
// q4_K, q6_K.
bool has_reference_conversion(GgmlType type);

// src: row_bytes(type, n) bytes -> dst: [n] f32.
void dequantize_row(GgmlType type, const void* src, float* dst, std::int64_t n);
// src: [n] f32 -> dst: row_bytes(type, n) bytes. Throws attend::Error for a NaN or infinite
// input, or a block whose scale does not fit the format's f16 (ggml would store inf there).
void quantize_row(GgmlType type, const float* src, void* dst, std::int64_t n);
// Σ_i dequantized(row)[i] · x[i], each block dequantized and accumulated in f32, in order.
// row: row_bytes(type, n) bytes, x: [n] f32. The reference the SIMD dot kernels are tested against.
float dot_row(GgmlType type, const void* row, const float* x, std::int64_t n);

}  // namespace attend
