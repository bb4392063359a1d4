// ggml type table, row sizes, and the dispatch of the reference conversions (quant.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "attend/dtype.h"
#include "attend/quant.h"
#include "core/check.h"
#include "core/quant_blocks.h"

namespace attend {

using detail::fail;

namespace {

// ggml.c type_traits: (name, block size, block bytes); an empty name marks a number ggml does not use.
constexpr std::array<GgmlTypeInfo, 43> kTypes = {{
    {"f32", 1, 4},         {"f16", 1, 2},        {"q4_0", 32, 18},     {"q4_1", 32, 20},
    {"", 0, 0},            {"", 0, 0},           {"q5_0", 32, 22},     {"q5_1", 32, 24},
    {"q8_0", 32, 34},      {"q8_1", 32, 36},     {"q2_K", 256, 84},    {"q3_K", 256, 110},
    {"q4_K", 256, 144},    {"q5_K", 256, 176},   {"q6_K", 256, 210},   {"q8_K", 256, 292},
    {"iq2_xxs", 256, 66},  {"iq2_xs", 256, 74},  {"iq3_xxs", 256, 98}, {"iq1_s", 256, 50},
    {"iq4_nl", 32, 18},    {"iq3_s", 256, 110},  {"iq2_s", 256, 82},   {"iq4_xs", 256, 136},
    {"i8", 1, 1},          {"i16", 1, 2},        {"i32", 1, 4},        {"i64", 1, 8},
    {"f64", 1, 8},         {"iq1_m", 256, 56},   {"bf16", 1, 2},       {"", 0, 0},
    {"", 0, 0},            {"", 0, 0},           {"tq1_0", 256, 54},   {"tq2_0", 256, 66},
    {"", 0, 0},            {"", 0, 0},           {"", 0, 0},           {"mxfp4", 32, 17},
    {"nvfp4", 64, 36},     {"q1_0", 128, 18},    {"q2_0", 64, 18},
}};

// Converters need finite input: NaN would reach float -> int casts (undefined behaviour in C++).
void check_finite(GgmlType type, const float* src, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(src[i])) fail("quantize_row", ggml_type_name(type), " element ", i, " is ", src[i], " (must be finite)");
}

void check_row(const char* where, GgmlType type, std::int64_t n) {
  if (!has_reference_conversion(type))
    fail(where, "type ", ggml_type_name(type), " (", static_cast<std::uint32_t>(type),
         ") has no reference conversion (f32, f16, bf16, q8_0, q4_0, q4_K and q6_K have)");
  (void)row_bytes(type, n);  // validates n
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(std::uint32_t type) {
  if (type >= kTypes.size() || kTypes[type].block_size == 0) return nullptr;
  return &kTypes[type];
}

const GgmlTypeInfo& ggml_type_traits(GgmlType type) {
  const GgmlTypeInfo* t = ggml_type_info(static_cast<std::uint32_t>(type));
  if (t == nullptr) fail("ggml_type_traits", "unknown ggml type ", static_cast<std::uint32_t>(type));
  return *t;
}

std::string_view ggml_type_name(GgmlType type) { return ggml_type_traits(type).name; }

std::size_t row_bytes(GgmlType type, std::int64_t n) {
  const GgmlTypeInfo& t = ggml_type_traits(type);
  if (n < 0) fail("row_bytes", "negative element count ", n);
  if (n % t.block_size != 0)
    fail("row_bytes", t.name, " rows hold a multiple of ", t.block_size, " elements, not ", n);
  const auto blocks = static_cast<std::uint64_t>(n / t.block_size);
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(blocks, static_cast<std::uint64_t>(t.block_bytes), &bytes) || bytes > SIZE_MAX)
    fail("row_bytes", t.name, " row of ", n, " elements overflows the size type");
  return static_cast<std::size_t>(bytes);
}

bool has_reference_conversion(GgmlType type) {
  switch (type) {
    case GgmlType::f32: case GgmlType::f16: case GgmlType::bf16: case GgmlType::q8_0:
    case GgmlType::q4_0: case GgmlType::q4_K: case GgmlType::q6_K:
      return true;
    default:
      return false;
  }
}

void dequantize_row(GgmlType type, const void* src, float* dst, std::int64_t n) {
  check_row("dequantize_row", type, n);
  if (n == 0) return;
  switch (type) {
    case GgmlType::f32: std::memcpy(dst, src, static_cast<std::size_t>(n) * 4); return;
    case GgmlType::f16: convert_to_f32(src, DType::f16, dst, static_cast<std::size_t>(n)); return;
    case GgmlType::bf16: convert_to_f32(src, DType::bf16, dst, static_cast<std::size_t>(n)); return;
    case GgmlType::q8_0: quant::dequantize_q8_0(static_cast<const quant::BlockQ8_0*>(src), dst, n); return;
    case GgmlType::q4_0: quant::dequantize_q4_0(static_cast<const quant::BlockQ4_0*>(src), dst, n); return;
    case GgmlType::q4_K: quant::dequantize_q4_K(static_cast<const quant::BlockQ4_K*>(src), dst, n); return;
    case GgmlType::q6_K: quant::dequantize_q6_K(static_cast<const quant::BlockQ6_K*>(src), dst, n); return;
    default: ATTEND_ASSERT(false);
  }
}

void quantize_row(GgmlType type, const float* src, void* dst, std::int64_t n) {
  check_row("quantize_row", type, n);
  if (n == 0) return;
  switch (type) {
    case GgmlType::f32: std::memcpy(dst, src, static_cast<std::size_t>(n) * 4); return;  // NaN kept as stored
    case GgmlType::f16: convert_from_f32(src, dst, DType::f16, static_cast<std::size_t>(n)); return;
    case GgmlType::bf16: convert_from_f32(src, dst, DType::bf16, static_cast<std::size_t>(n)); return;
    default: break;
  }
  check_finite(type, src, n);
  switch (type) {
    case GgmlType::q8_0: quant::quantize_q8_0(src, static_cast<quant::BlockQ8_0*>(dst), n); return;
    case GgmlType::q4_0: quant::quantize_q4_0(src, static_cast<quant::BlockQ4_0*>(dst), n); return;
    case GgmlType::q4_K: quant::quantize_q4_K(src, static_cast<quant::BlockQ4_K*>(dst), n); return;
    case GgmlType::q6_K: quant::quantize_q6_K(src, static_cast<quant::BlockQ6_K*>(dst), n); return;
    default: ATTEND_ASSERT(false);
  }
}

float dot_row(GgmlType type, const void* row, const float* x, std::int64_t n) {
  check_row("dot_row", type, n);
  const GgmlTypeInfo& t = ggml_type_traits(type);
  // One block (or 256 elements of a 1-element-block type) at a time through a small buffer.
  const std::int64_t chunk = t.block_size == 1 ? quant::kQKK : t.block_size;
  const auto* bytes = static_cast<const std::uint8_t*>(row);
  float buf[quant::kQKK];
  float sum = 0.0f;
  for (std::int64_t i = 0; i < n; i += chunk) {
    const std::int64_t m = std::min(chunk, n - i);
    dequantize_row(type, bytes + row_bytes(type, i), buf, m);
    for (std::int64_t j = 0; j < m; ++j) sum += buf[j] * x[i + j];
  }
  return sum;
}

namespace quant {

int nearest_int(float f) {
  if (!(f > -4194303.f)) return f != f ? 0 : -4194303;  // NaN -> 0
  if (f > 4194303.f) return 4194303;
  float v = f + 12582912.f;  // 1.5·2^23: the sum's low mantissa bits hold round-to-even(f)
  std::int32_t i;
  std::memcpy(&i, &v, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

}  // namespace quant
}  // namespace attend
