// quantize_row -> dequantize_row on random rows: stated error bounds per format, each checked
// element by element from the stored block fields (decoded here from the format definitions), the
// rejection of inputs a format cannot hold, and dot_row against an f32 and a double dot product.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "attend/dtype.h"
#include "attend/error.h"
#include "attend/quant.h"

namespace attend {
namespace {

// Gaussian values with a random magnitude per 32 elements (1e-3 .. 1e2), plus special blocks:
// all zero, constant, one outlier, all positive, and tiny values.
std::vector<float> test_row(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::uniform_real_distribution<float> e(-3.0f, 2.0f);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (std::int64_t b = 0; b < n / 32; ++b) {
    const float scale = std::pow(10.0f, e(rng));
    for (int j = 0; j < 32; ++j) x[static_cast<std::size_t>(32 * b + j)] = scale * g(rng);
  }
  auto block = [&](std::int64_t b) { return x.begin() + 32 * b; };
  if (n >= 32 * 12) {
    std::fill(block(1), block(1) + 32, 0.0f);
    std::fill(block(2), block(2) + 32, 0.7f);
    block(3)[5] = 50.0f;
    for (int j = 0; j < 32; ++j) block(4)[j] = std::fabs(block(4)[j]) + 1.0f;
    for (int j = 0; j < 32; ++j) block(5)[j] = 1e-20f * g(rng);
    std::fill(block(8), block(8) + 64, 0.0f);  // more zero sub-blocks inside a super-block
    for (int j = 0; j < 32; ++j) block(10)[j] = -std::fabs(block(10)[j]) - 3.0f;
  }
  return x;
}

struct Stored {  // a row after quantize_row, and its dequantization
  std::vector<std::uint8_t> bytes;
  std::vector<float> y;
};
Stored round_trip(GgmlType t, const std::vector<float>& x) {
  const auto n = static_cast<std::int64_t>(x.size());
  Stored s{std::vector<std::uint8_t>(row_bytes(t, n)), std::vector<float>(x.size())};
  quantize_row(t, x.data(), s.bytes.data(), n);
  dequantize_row(t, s.bytes.data(), s.y.data(), n);
  return s;
}

float f16_at(const std::uint8_t* p) { return f16_to_f32(static_cast<std::uint16_t>(p[0] | (p[1] << 8))); }

// The distance from v to the nearest of the given levels.
float nearest_distance(float v, const std::vector<float>& levels) {
  float best = std::numeric_limits<float>::infinity();
  for (float l : levels) best = std::min(best, std::fabs(v - l));
  return best;
}

// q8_0: q = round(x / d32) with d32 = amax/127, stored d = f16(d32). Bound per element:
// |x − d·q| ≤ d32/2 + 127·|d32 − d| (the rounding to a level, then the f16 rounding of d).
TEST(QuantRoundTrip, Q8_0ErrorWithinHalfAStep) {
  const auto x = test_row(32 * 64, 1);
  const Stored s = round_trip(GgmlType::q8_0, x);
  double worst = 0;  // in units of d32
  for (std::size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + static_cast<std::size_t>(j)]));
    const float d32 = amax / 127, d = f16_at(&s.bytes[34 * b]);
    for (std::size_t j = 32 * b; j < 32 * b + 32; ++j) {
      const float err = std::fabs(x[j] - s.y[j]);
      EXPECT_LE(err, d32 / 2 + 127 * std::fabs(d32 - d) + 1e-6f * amax) << "element " << j;
      if (d >= 0x1p-14f) worst = std::max(worst, static_cast<double>(err / d32));  // (d a normal f16)
    }
  }
  EXPECT_EQ(s.y[32], 0.0f);  // the all-zero block stays zero
  std::printf("q8_0: max |error| = %.4f d where d is a normal f16\n", worst);
}

// q4_0: d32 = −max/8 (max the element of largest magnitude), q = min(15, ⌊x/d32 + 8.5⌋). Elements
// with x/d32 < 7.5 are within d32/2 of their level; those in [7.5, 8] are clamped to q = 15, one
// step below: so |x − d·(q−8)| ≤ |d32| + 8·|d32 − d| in all, ≤ |d32|/2 + 8·|d32 − d| below the clamp.
TEST(QuantRoundTrip, Q4_0ErrorWithinOneStep) {
  const auto x = test_row(32 * 64, 2);
  const Stored s = round_trip(GgmlType::q4_0, x);
  double worst = 0;
  for (std::size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0, max = 0;
    std::size_t at = 0;
    for (std::size_t j = 32 * b; j < 32 * b + 32; ++j) {
      if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j], at = j;
    }
    const float d32 = max / -8, d = f16_at(&s.bytes[18 * b]);
    for (std::size_t j = 32 * b; j < 32 * b + 32; ++j) {
      const float err = std::fabs(x[j] - s.y[j]);
      const float slack = 8 * std::fabs(d32 - d) + 1e-6f * amax;
      EXPECT_LE(err, std::fabs(d32) + slack) << "element " << j;
      if (d32 != 0 && x[j] / d32 < 7.5f) {
        EXPECT_LE(err, std::fabs(d32) / 2 + slack) << "element " << j;
      }
      if (std::fabs(d) >= 0x1p-14f) worst = std::max(worst, static_cast<double>(err / std::fabs(d32)));
    }
    if (amax > 0) {
      EXPECT_EQ(s.y[at], -8 * d) << "the largest element is level 0 exactly";
    }
  }
  std::printf("q4_0: max |error| = %.4f |d| where d is a normal f16\n", worst);
}

// q4_K: every element must dequantize to the level d·sc·q − dmin·m (q = 0..15) of its stored
// sub-block fields nearest to it, and the fit must be good: rms error ≤ 0.12 of the rms value of
// each Gaussian super-block (4 bits over the range of 32 Gaussians gives ~0.09).
TEST(QuantRoundTrip, Q4_KNearestLevelAndRmsBound) {
  const auto x = test_row(256 * 24, 3);
  const Stored s = round_trip(GgmlType::q4_K, x);
  double worst_rel_rms = 0;
  for (std::size_t b = 0; b < x.size() / 256; ++b) {
    const std::uint8_t* blk = &s.bytes[144 * b];
    const float d = f16_at(blk), dmin = f16_at(blk + 2);
    const std::uint8_t* sc6 = blk + 4;
    double se = 0, sx = 0;
    for (int j = 0; j < 8; ++j) {
      const int sc = j < 4 ? sc6[j] & 63 : (sc6[j + 4] & 15) | ((sc6[j - 4] >> 6) << 4);
      const int m = j < 4 ? sc6[j + 4] & 63 : (sc6[j + 4] >> 4) | ((sc6[j] >> 6) << 4);
      std::vector<float> levels;
      for (int q = 0; q < 16; ++q) levels.push_back(d * static_cast<float>(sc) * static_cast<float>(q) - dmin * static_cast<float>(m));
      for (std::size_t e = 256 * b + 32 * static_cast<std::size_t>(j); e < 256 * b + 32 * static_cast<std::size_t>(j + 1); ++e) {
        const float err = std::fabs(x[e] - s.y[e]);
        EXPECT_LE(err, nearest_distance(x[e], levels) + 1e-5f * (std::fabs(x[e]) + d * static_cast<float>(sc) * 16)) << "element " << e;
        se += static_cast<double>(err) * err;
        sx += static_cast<double>(x[e]) * x[e];
      }
    }
    if (b % 2 == 0 && b > 0) {  // super-blocks 0 and 1 hold the special blocks; the others are Gaussian
      const double rel = std::sqrt(se / sx);
      EXPECT_LE(rel, 0.12) << "super-block " << b;
      worst_rel_rms = std::max(worst_rel_rms, rel);
    }
  }
  std::printf("q4_K: worst rms error / rms value = %.4f\n", worst_rel_rms);
}

// q6_K: every element dequantizes to the nearest level d·sc·(q − 32), q = 0..63, of its stored
// 16-element sub-block; rms error ≤ 0.03 of the rms value of each Gaussian super-block (6 bits
// over ±amax of 16 Gaussians gives ~0.02).
TEST(QuantRoundTrip, Q6_KNearestLevelAndRmsBound) {
  const auto x = test_row(256 * 24, 4);
  const Stored s = round_trip(GgmlType::q6_K, x);
  double worst_rel_rms = 0;
  for (std::size_t b = 0; b < x.size() / 256; ++b) {
    const std::uint8_t* blk = &s.bytes[210 * b];
    const float d = f16_at(blk + 208);
    double se = 0, sx = 0;
    for (int j = 0; j < 16; ++j) {
      const float dsc = d * static_cast<float>(static_cast<std::int8_t>(blk[192 + j]));
      std::vector<float> levels;
      for (int q = 0; q < 64; ++q) levels.push_back(dsc * static_cast<float>(q - 32));
      for (std::size_t e = 256 * b + 16 * static_cast<std::size_t>(j); e < 256 * b + 16 * static_cast<std::size_t>(j + 1); ++e) {
        const float err = std::fabs(x[e] - s.y[e]);
        EXPECT_LE(err, nearest_distance(x[e], levels) + 1e-5f * (std::fabs(x[e]) + std::fabs(dsc) * 32)) << "element " << e;
        se += static_cast<double>(err) * err;
        sx += static_cast<double>(x[e]) * x[e];
      }
    }
    if (b % 2 == 0 && b > 0) {
      const double rel = std::sqrt(se / sx);
      EXPECT_LE(rel, 0.03) << "super-block " << b;
      worst_rel_rms = std::max(worst_rel_rms, rel);
    }
  }
  std::printf("q6_K: worst rms error / rms value = %.4f\n", worst_rel_rms);
}

TEST(QuantRoundTrip, ZeroRowsStayZeroAndFloatTypesRoundLikeDtype) {
  for (GgmlType t : {GgmlType::q8_0, GgmlType::q4_0, GgmlType::q4_K, GgmlType::q6_K}) {
    const std::vector<float> zero(512, 0.0f);
    const Stored s = round_trip(t, zero);
    for (std::size_t i = 0; i < s.bytes.size(); ++i) {  // q4_0: d = 0/−8 = −0 (f16 0x8000), q = 8 (nibbles 0x88)
      const std::uint8_t want = t != GgmlType::q4_0 ? 0 : i % 18 == 0 ? 0 : i % 18 == 1 ? 0x80 : 0x88;
      ASSERT_EQ(s.bytes[i], want) << ggml_type_name(t) << " byte " << i;
    }
    EXPECT_TRUE(std::all_of(s.y.begin(), s.y.end(), [](float v) { return v == 0.0f; })) << ggml_type_name(t);
  }
  const auto x = test_row(64, 5);
  EXPECT_EQ(round_trip(GgmlType::f32, x).y, x);
  const Stored h = round_trip(GgmlType::f16, x), b = round_trip(GgmlType::bf16, x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(h.y[i], f16_to_f32(f32_to_f16(x[i])));
    EXPECT_EQ(b.y[i], bf16_to_f32(f32_to_bf16(x[i])));
  }
  // n = 0 touches nothing.
  quantize_row(GgmlType::q4_K, nullptr, nullptr, 0);
  dequantize_row(GgmlType::q6_K, nullptr, nullptr, 0);
  EXPECT_EQ(dot_row(GgmlType::q8_0, nullptr, nullptr, 0), 0.0f);
}

std::string quantize_error(GgmlType t, std::vector<float> x) {
  std::vector<std::uint8_t> out(row_bytes(t, static_cast<std::int64_t>(x.size())));
  try {
    quantize_row(t, x.data(), out.data(), static_cast<std::int64_t>(x.size()));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(QuantRoundTrip, InputsTheFormatCannotHoldAreRefused) {
  std::vector<float> x(256, 0.5f);
  x[3] = std::nanf("");
  for (GgmlType t : {GgmlType::q8_0, GgmlType::q4_0, GgmlType::q4_K, GgmlType::q6_K})
    EXPECT_NE(quantize_error(t, x).find("element 3 is nan (must be finite)"), std::string::npos) << ggml_type_name(t);
  x[3] = -std::numeric_limits<float>::infinity();
  EXPECT_NE(quantize_error(GgmlType::q8_0, x).find("element 3 is -inf"), std::string::npos);
  x[3] = 1e7f;  // q8_0 needs d = 1e7/127 > 65504
  EXPECT_NE(quantize_error(GgmlType::q8_0, x).find("q8_0 block 0 needs scale"), std::string::npos);
  EXPECT_NE(quantize_error(GgmlType::q4_0, x).find("beyond f16's range"), std::string::npos);
  x[3] = 2e9f;
  EXPECT_NE(quantize_error(GgmlType::q4_K, x).find("q4_K block 0 holds |x| = 2e+09"), std::string::npos);
  x[3] = 1e8f;  // within the pre-check, but the super-scale overflows
  EXPECT_NE(quantize_error(GgmlType::q4_K, x).find("beyond f16's range"), std::string::npos);
  x[3] = 5e8f;
  EXPECT_NE(quantize_error(GgmlType::q6_K, x).find("beyond f16's range"), std::string::npos);
  x[3] = 6e4f;  // fits every format
  for (GgmlType t : {GgmlType::q8_0, GgmlType::q4_K, GgmlType::q6_K}) EXPECT_EQ(quantize_error(t, x), "(no error)");
}

// dot_row is the f32 sum, in order, of dequantized · x; and close to the double-precision dot.
TEST(QuantDot, EqualsInOrderF32SumOfDequantizedProducts) {
  const std::int64_t n = 256 * 6;
  const auto w = test_row(n, 6);
  const auto x = test_row(n, 7);
  for (GgmlType t : {GgmlType::f32, GgmlType::f16, GgmlType::bf16, GgmlType::q8_0, GgmlType::q4_0, GgmlType::q4_K, GgmlType::q6_K}) {
    const Stored s = round_trip(t, w);
    float f = 0;
    double dd = 0, mag = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      f += s.y[i] * x[i];
      dd += static_cast<double>(s.y[i]) * x[i];
      mag += std::fabs(static_cast<double>(s.y[i]) * x[i]);
    }
    const float got = dot_row(t, s.bytes.data(), x.data(), n);
    EXPECT_EQ(got, f) << ggml_type_name(t);
    EXPECT_NEAR(got, dd, 1e-5 * mag) << ggml_type_name(t);
  }
  EXPECT_THROW((void)dot_row(GgmlType::q4_K, w.data(), x.data(), 100), Error);
}

}  // namespace
}  // namespace attend
