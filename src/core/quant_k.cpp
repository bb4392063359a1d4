// q4_K and q6_K: super-blocks of 256 with quantized sub-block scales (layouts in quant_blocks.h).
// The quantizers follow ggml's quantize_row_q4_K_ref / quantize_row_q6_K_ref (and their helpers
// make_qkx2_quants / make_qx_quants) step for step, in the same f32 arithmetic, so the bytes match.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "attend/dtype.h"
#include "core/check.h"
#include "core/quant_blocks.h"

namespace attend::quant {

namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: below this a group is all zero
// Inputs above this magnitude cannot have f16 super-scales (q6_K needs |x| < ~2.7e8, q4_K less);
// rejecting them first keeps every intermediate below finite.
constexpr float kMaxInput = 1e9f;

void check_block(const char* type, std::int64_t block, const float* x) {
  float amax = 0.0f;
  for (int j = 0; j < kQKK; ++j) amax = std::max(amax, std::fabs(x[j]));
  if (amax > kMaxInput)
    detail::fail("quantize_row", type, " block ", block, " holds |x| = ", amax, ", too large for its f16 scales");
}

std::uint16_t scale_bits(const char* type, std::int64_t block, float d) {
  const std::uint16_t h = f32_to_f16(d);
  if ((h & 0x7c00u) == 0x7c00u)
    detail::fail("quantize_row", type, " block ", block, " needs super-scale ", d, ", beyond f16's range (|x| too large)");
  return h;
}

// Fits x[i] ≈ scale·L[i] − the_min with L in 0..nmax, minimising Σ w·(error)² over a sweep of
// nstep+1 candidate scales around nmax/(max − min) (ggml's make_qkx2_quants with use_mad = false).
// Returns the scale; the_min is ≥ 0 (the fitted offset is −the_min ≤ 0).
float fit_scale_min(int n, int nmax, const float* x, const float* w, std::uint8_t* L, float* the_min, std::uint8_t* Laux,
                    float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);  // (ggml: if (x < min) min = x; the same for finite x)
    max = std::max(max, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, 0);
    *the_min = -min;
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<std::uint8_t>(std::clamp(l, 0, nmax));
    const float diff = scale * L[i] + min - x[i];
    best_error += w[i] * (diff * diff);
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<std::uint8_t>(l);
      const auto fl = static_cast<float>(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {  // weighted least squares for (scale, offset) given these L
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * Laux[i] + this_min - x[i];
        cur_error += w[i] * (diff * diff);
      }
      if (cur_error < best_error) {
        std::copy(Laux, Laux + n, L);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Symmetric fit x[i] ≈ scale·(L[i] − nmax), L in 0..2·nmax−1, weights x² (ggml's make_qx_quants
// with rmse_type = 1 and no importance weights): 19 candidate scales around −nmax/max.
float fit_scale_symmetric(int n, int nmax, const float* x, std::int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.f;
  }
  auto sums = [&](float iscale, float& sumlx, float& suml2) {
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
  };
  auto assign = [&](float iscale) {
    for (int i = 0; i < n; ++i)
      L[i] = static_cast<std::int8_t>(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
  };
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx, suml2;
  sums(iscale, sumlx, suml2);
  assign(iscale);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sums(iscale, sumlx, suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      assign(iscale);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

}  // namespace

void dequantize_q4_K(const BlockQ4_K* x, float* y, std::int64_t n) {
  for (std::int64_t b = 0; b < n / kQKK; ++b) {
    const float d = f16_to_f32(x[b].d);
    const float dmin = f16_to_f32(x[b].dmin);
    const std::uint8_t* q = x[b].qs;
    for (int j = 0; j < 8; j += 2, q += 32) {  // sub-blocks j, j+1: low, then high nibbles of q[0..31]
      std::uint8_t sc, m;
      q4k_scale_min(j, x[b].scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      q4k_scale_min(j + 1, x[b].scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xf) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequantize_q6_K(const BlockQ6_K* x, float* y, std::int64_t n) {
  for (std::int64_t b = 0; b < n / kQKK; ++b) {
    const float d = f16_to_f32(x[b].d);
    const std::uint8_t* ql = x[b].ql;
    const std::uint8_t* qh = x[b].qh;
    const std::int8_t* sc = x[b].scales;
    for (int h = 0; h < 2; ++h, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * sc[is + 0] * static_cast<float>(q1);
        y[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
        y[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
        y[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
      }
    }
  }
}

void quantize_q4_K(const float* x, BlockQ4_K* y, std::int64_t n) {
  std::uint8_t L[kQKK], Laux[32];
  float weights[32], mins[8], scales[8];
  for (std::int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    check_block("q4_K", b, x);
    BlockQ4_K& out = y[b];
    std::memset(&out, 0, sizeof(out));
    // 1. Each sub-block of 32: a 4-bit fit x ≈ scale·L − min, weighted by rms(x) + |x|.
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = fit_scale_min(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20);
      max_scale = std::max(max_scale, scales[j]);  // (ggml: if (s > max) max = s; equal for non-NaN)
      max_min = std::max(max_min, mins[j]);
    }
    // 2. Scales and mins to 6 bits against the super-scales d = max_scale/63, dmin = max_min/63.
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < 8; ++j) {
      // (ggml stores nearest_int into a uint8_t first; the values are 0..63 here)
      const auto ls = static_cast<std::uint8_t>(std::min<std::uint8_t>(63, static_cast<std::uint8_t>(nearest_int(inv_scale * scales[j]))));
      const auto lm = static_cast<std::uint8_t>(std::min<std::uint8_t>(63, static_cast<std::uint8_t>(nearest_int(inv_min * mins[j]))));
      if (j < 4) {
        out.scales[j] = ls;
        out.scales[j + 4] = lm;
      } else {
        out.scales[j + 4] = static_cast<std::uint8_t>((ls & 0xf) | ((lm & 0xf) << 4));
        out.scales[j - 4] |= static_cast<std::uint8_t>((ls >> 4) << 6);
        out.scales[j] |= static_cast<std::uint8_t>((lm >> 4) << 6);
      }
    }
    out.d = scale_bits("q4_K", b, max_scale / 63.f);
    out.dmin = scale_bits("q4_K", b, max_min / 63.f);
    // 3. Re-quantize each element against the stored (rounded) scale and min.
    for (int j = 0; j < 8; ++j) {
      std::uint8_t sc, m;
      q4k_scale_min(j, out.scales, sc, m);
      const float d = f16_to_f32(out.d) * sc;
      if (d == 0.0f) continue;  // keep step 1's L, as ggml does (they dequantize to −dmin·m anyway)
      const float dm = f16_to_f32(out.dmin) * m;
      for (int i = 0; i < 32; ++i) L[32 * j + i] = static_cast<std::uint8_t>(std::clamp(nearest_int((x[32 * j + i] + dm) / d), 0, 15));
    }
    std::uint8_t* q = out.qs;
    for (int j = 0; j < kQKK; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

void quantize_q6_K(const float* x, BlockQ6_K* y, std::int64_t n) {
  std::int8_t L[kQKK];
  float scales[kQKK / 16];
  for (std::int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    check_block("q6_K", b, x);
    BlockQ6_K& out = y[b];
    std::memset(&out, 0, sizeof(out));
    // 1. Each sub-block of 16: a symmetric 6-bit fit; the scale of largest magnitude sets d.
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < kQKK / 16; ++ib) {
      scales[ib] = fit_scale_symmetric(16, 32, x + 16 * ib, L + 16 * ib);
      if (std::fabs(scales[ib]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    if (max_abs_scale < kGroupMaxEps) continue;  // all (nearly) zero: an all-zero block
    // 2. Sub-block scales to int8 against d = max_scale / −128 (so the largest becomes −128).
    const float iscale = -128.f / max_scale;
    out.d = scale_bits("q6_K", b, 1 / iscale);
    for (int ib = 0; ib < kQKK / 16; ++ib) out.scales[ib] = static_cast<std::int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    // 3. Re-quantize each element against the stored scales.
    for (int j = 0; j < kQKK / 16; ++j) {
      const float d = f16_to_f32(out.d) * out.scales[j];
      if (d == 0.0f) continue;
      for (int i = 0; i < 16; ++i) L[16 * j + i] = static_cast<std::int8_t>(std::clamp(nearest_int(x[16 * j + i] / d), -32, 31) + 32);
    }
    // 4. Pack: see quant.h for the order of ql / qh.
    std::uint8_t* ql = out.ql;
    std::uint8_t* qh = out.qh;
    for (int j = 0; j < kQKK; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
        ql[l] = static_cast<std::uint8_t>((q1 & 0xf) | ((q3 & 0xf) << 4));
        ql[l + 32] = static_cast<std::uint8_t>((q2 & 0xf) | ((q4 & 0xf) << 4));
        qh[l] = static_cast<std::uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }
}

}  // namespace attend::quant
