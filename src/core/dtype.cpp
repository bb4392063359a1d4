#include "attend/dtype.h"

#include <immintrin.h>

#include <cstring>

#include "attend/runtime.h"
#include "core/check.h"

namespace attend {

std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 2; }

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
  }
  return "?";
}

DType dtype_from_name(std::string_view s) {
  if (s == "f32" || s == "float32") return DType::f32;
  if (s == "bf16" || s == "bfloat16") return DType::bf16;
  if (s == "f16" || s == "float16") return DType::f16;
  detail::fail("dtype_from_name", "unknown dtype '", s, "' (expected f32, bf16 or f16)");
}

static std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static float float_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float bf16_to_f32(std::uint16_t h) { return float_of(static_cast<std::uint32_t>(h) << 16); }

std::uint16_t f32_to_bf16(float f) {
  std::uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<std::uint16_t>(u >> 16);
}

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return float_of(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  if (exp == 0) {
    if (mant == 0) return float_of(sign);
    int e = -1;  // subnormal: normalise
    do { mant <<= 1; ++e; } while ((mant & 0x400u) == 0);
    mant &= 0x3ffu;
    return float_of(sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (mant << 13));
  }
  return float_of(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

std::uint16_t f32_to_f16(float f) {
  const std::uint32_t u = bits_of(f);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);        // NaN
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);       // overflow -> inf
  if (abs < 0x38800000u) {                                                       // subnormal or zero
    if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);               // rounds to 0
    const std::uint32_t e = abs >> 23;
    const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;                                          // 14..24
    std::uint32_t r = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1);
    const std::uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return static_cast<std::uint16_t>(sign | r);
  }
  std::uint32_t r = abs - 0x38000000u;  // rebias exponent 127 -> 15
  r += 0xfffu + ((r >> 13) & 1u);       // round to nearest even
  return static_cast<std::uint16_t>(sign | (r >> 13));
}

// f16 -> f32 through F16C, 8 at a time (vcvtph2ps is exact for every f16 value, subnormals
// included; a signalling NaN comes out quiet). Prefill with f16 weights converts its weight panels
// here: one value at a time it was 22 % of a Llama-1B-shaped prefill (perf, issue 24).
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const std::uint16_t* s, float* d, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
  for (; i < n; ++i) d[i] = f16_to_f32(s[i]);
}

void convert_to_f32(const void* src, DType src_type, float* dst, std::size_t n) {
  if (n == 0) return;  // src/dst may be null for empty tensors (memcpy would be UB); found by fuzz_attention
  switch (src_type) {
    case DType::f32: std::memcpy(dst, src, n * 4); return;
    case DType::bf16: {
      auto* s = static_cast<const std::uint16_t*>(src);
      for (std::size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::f16: {
      auto* s = static_cast<const std::uint16_t*>(src);
      if (active_isa() != Isa::scalar) return f16_to_f32_f16c(s, dst, n);  // the AVX2 and AVX-512 paths imply F16C
      for (std::size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
  }
}

void convert_from_f32(const float* src, void* dst, DType dst_type, std::size_t n) {
  if (n == 0) return;
  switch (dst_type) {
    case DType::f32: std::memcpy(dst, src, n * 4); return;
    case DType::bf16: {
      auto* d = static_cast<std::uint16_t*>(dst);
      for (std::size_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::f16: {
      auto* d = static_cast<std::uint16_t*>(dst);
      for (std::size_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
  }
}

}  // namespace attend
