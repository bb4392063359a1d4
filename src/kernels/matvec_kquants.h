#pragma once
// One q4_K / q6_K block (256 elements) as f32, written as plain loops over whole sub-blocks so that
// the compiler vectorises them with the including file's ISA flags (matvec_avx2.cpp): the per-row
// reference conversion in core is built for the baseline ISA and runs ~1 GB/s (bench --matvec).
// The layouts and the arithmetic are the reference's (src/core/quant_k.cpp).
#include <cstdint>

#include "attend/dtype.h"
#include "core/quant_blocks.h"

namespace attend::kernels {

// y[256] = block b as f32
inline void widen_q4_K_block(const quant::BlockQ4_K& b, float* y) {
  const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
  const std::uint8_t* q = b.qs;
  for (int j = 0; j < 8; j += 2, q += 32, y += 64) {  // sub-blocks j, j+1: low, then high nibbles
    std::uint8_t sc, m;
    quant::q4k_scale_min(j, b.scales, sc, m);
    const float d1 = d * sc, m1 = dmin * m;
    quant::q4k_scale_min(j + 1, b.scales, sc, m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0xf) - m1;
    for (int l = 0; l < 32; ++l) y[32 + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
  }
}

// y[256] = block b as f32
inline void widen_q6_K_block(const quant::BlockQ6_K& b, float* y) {
  const float d = f16_to_f32(b.d);
  const std::uint8_t* ql = b.ql;
  const std::uint8_t* qh = b.qh;
  const std::int8_t* sc = b.scales;
  for (int h = 0; h < 2; ++h, y += 128, ql += 64, qh += 32, sc += 8)
    for (int g = 0; g < 2; ++g)  // l in [16g, 16g + 16): sub-block scales sc[g + 0/2/4/6]
      for (int l = 16 * g; l < 16 * g + 16; ++l) {
        y[l + 0] = d * sc[g + 0] * static_cast<float>(((ql[l] & 0xf) | ((qh[l] & 3) << 4)) - 32);
        y[l + 32] = d * sc[g + 2] * static_cast<float>(((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32);
        y[l + 64] = d * sc[g + 4] * static_cast<float>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        y[l + 96] = d * sc[g + 6] * static_cast<float>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
}

}  // namespace attend::kernels
