// q8_0 and q4_0: blocks of 32 with one f16 scale (layouts in quant_blocks.h). The quantizers
// follow ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref step for step, so the bytes match.
#include <algorithm>
#include <cmath>

#include "attend/dtype.h"
#include "core/check.h"
#include "core/quant_blocks.h"

namespace attend::quant {

namespace {

// The f16 bits of a block scale; a scale that overflows f16 would dequantize to inf/NaN.
std::uint16_t scale_bits(const char* type, std::int64_t block, float d) {
  const std::uint16_t h = f32_to_f16(d);
  if ((h & 0x7c00u) == 0x7c00u)
    detail::fail("quantize_row", type, " block ", block, " needs scale ", d, ", beyond f16's range (|x| too large)");
  return h;
}

}  // namespace

void dequantize_q8_0(const BlockQ8_0* x, float* y, std::int64_t n) {
  for (std::int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = f16_to_f32(x[b].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
  }
}

void dequantize_q4_0(const BlockQ4_0* x, float* y, std::int64_t n) {
  for (std::int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = f16_to_f32(x[b].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>((x[b].qs[j] & 0x0f) - 8) * d;
      y[j + kQK / 2] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

// d = amax / 127, q = round(x / d) (half away from zero), computed with 1/d as ggml does.
void quantize_q8_0(const float* x, BlockQ8_0* y, std::int64_t n) {
  for (std::int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = scale_bits("q8_0", b, d);
    for (int j = 0; j < kQK; ++j) y[b].qs[j] = static_cast<std::int8_t>(std::round(x[j] * id));
  }
}

// d = −max / 8 where max is the element of largest magnitude (its sign kept), so that element
// maps to q = 0 exactly; q = min(15, trunc(x/d + 8.5)).
void quantize_q4_0(const float* x, BlockQ4_0* y, std::int64_t n) {
  for (std::int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = scale_bits("q4_0", b, d);
    for (int j = 0; j < kQK / 2; ++j) {
      // x·id lies in [-8, 8] (up to rounding), so +8.5 is in [0, 17) and the cast is defined.
      const int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x[j + kQK / 2] * id + 8.5f));
      y[b].qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
  }
}

}  // namespace attend::quant
