// The int8 matvec path (src/kernels/matvec_q8*.cpp; attend/runtime.h int8_activations): the
// activation quantizer's rounding, and q8_0 rows against int8 activations on every SIMD path this
// CPU has, against (a) the exact products of the quantized values in double and (b) the double
// product of the dequantized weights with the unquantized x, within the bound that the 8-bit
// rounding of x allows: Σ_i |w_i|·d_x/2. Awkward widths (I = 32, 64k + 32, 992), 1..4 rows, row
// maps, padded rows, quants of −128 (a file may hold them), non-finite activations.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "attend/quant.h"
#include "attend/runtime.h"
#include "kernels/matvec.h"
#include "kernels/matvec_q8.h"
#include "test_util.h"

namespace attend {
namespace {

using I64 = std::int64_t;
using kernels::MatvecWeights;
constexpr I64 kBlock = 32;

// O rows of I q8_0 values, each padded by `pad` junk bytes; `map` permutes the logical rows.
struct Q8Matrix {
  I64 rows, cols;
  std::size_t stride;
  std::vector<unsigned char> bytes;
  std::vector<std::int32_t> map;

  Q8Matrix(I64 r, I64 c, std::uint64_t seed, std::size_t pad = 0) : rows(r), cols(c), stride(row_bytes(GgmlType::q8_0, c) + pad) {
    bytes.assign(static_cast<std::size_t>(r) * stride, 0xAB);
    const std::vector<float> v = test::uniform_floats(r * c, seed);
    for (I64 i = 0; i < r; ++i) quantize_row(GgmlType::q8_0, v.data() + i * c, bytes.data() + i * stride, c);
  }
  MatvecWeights view() const {
    MatvecWeights w;
    w.data = bytes.data();
    w.type = GgmlType::q8_0;
    w.rows = rows;
    w.cols = cols;
    w.row_stride = stride;
    w.row_map = map.empty() ? nullptr : map.data();
    return w;
  }
  const unsigned char* stored(I64 r) const { return bytes.data() + static_cast<std::size_t>(map.empty() ? r : map[static_cast<std::size_t>(r)]) * stride; }
  std::vector<float> row(I64 r) const {
    std::vector<float> out(static_cast<std::size_t>(cols));
    dequantize_row(GgmlType::q8_0, stored(r), out.data(), cols);
    return out;
  }
};

std::size_t at(I64 i) { return static_cast<std::size_t>(i); }

// Runs kernels::matvec on `isa` with int8 activations and checks every output against both
// references. Returns the number of outputs checked.
void check_int8_product(Isa isa, const Q8Matrix& m, I64 R, std::uint64_t seed, const std::string& what) {
  const I64 I = m.cols, O = m.rows, nb = I / kBlock;
  const std::vector<float> x = test::uniform_floats(R * I, seed), y0 = test::uniform_floats(R * O, seed + 1);
  std::vector<std::int8_t> xq(at(R * I));
  std::vector<float> xd(at(R * nb));
  kernels::quantize_activations_q8(x.data(), R, I, xq.data(), xd.data());
  std::vector<float> got = y0;
  {
    const test::Int8ActivationsGuard int8(true);
    const test::IsaGuard path(isa);
    kernels::matvec(m.view(), x.data(), R, got.data());
  }
  for (I64 o = 0; o < O; ++o) {
    const std::vector<float> w = m.row(o);
    for (I64 r = 0; r < R; ++r) {
      double exact_q = y0[at(r * O + o)], exact = exact_q, mag = std::fabs(exact_q), bound = 0;
      for (I64 i = 0; i < I; ++i) {
        const double wi = w[at(i)], dx = xd[at(r * nb + i / kBlock)];
        exact_q += wi * dx * xq[at(r * I + i)];  // w·(d_x·q_x): the int path's value, exactly
        exact += wi * x[at(r * I + i)];
        mag += std::fabs(wi * x[at(r * I + i)]);
        bound += std::fabs(wi) * dx / 2;  // the rounding of x: |x − d_x·q_x| ≤ d_x/2
      }
      const double g = got[at(r * O + o)];
      ASSERT_NEAR(g, exact_q, 1e-5 * mag + 1e-30) << isa_name(isa) << " " << what << " r=" << r << " o=" << o;
      ASSERT_LE(std::fabs(g - exact), bound * (1 + 1e-6) + 1e-5 * mag) << isa_name(isa) << " " << what << " r=" << r << " o=" << o;
    }
  }
}

TEST(MatvecQ8, QuantizerRoundsEachBlockToNearestWithinHalfItsScale) {
  const I64 R = 2, I = 96;
  std::vector<float> x = test::uniform_floats(R * I, 3);
  for (I64 j = 32; j < 64; ++j) x[at(j)] = 0.0f;  // a zero block: scale 0, quants 0
  x[at(I + 5)] = -2.5f;                          // the block's largest magnitude is negative
  std::vector<std::int8_t> q(at(R * I));
  std::vector<float> d(at(R * I / kBlock));
  kernels::quantize_activations_q8(x.data(), R, I, q.data(), d.data());
  for (I64 b = 0; b < R * I / kBlock; ++b) {
    float amax = 0;
    for (I64 j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[at(b * kBlock + j)]));
    EXPECT_EQ(d[at(b)], amax / 127.0f) << b;
    for (I64 j = 0; j < kBlock; ++j) {
      const I64 i = b * kBlock + j;
      EXPECT_LE(std::abs(int{q[at(i)]}), 127);
      EXPECT_LE(std::fabs(x[at(i)] - static_cast<double>(d[at(b)]) * q[at(i)]), d[at(b)] * 0.5 * (1 + 1e-6)) << i;
    }
  }
  EXPECT_EQ(q[at(I + 5)], -127);
  for (I64 j = 32; j < 64; ++j) EXPECT_EQ(q[at(j)], 0);
  EXPECT_EQ(d[1], 0.0f);
}

TEST(MatvecQ8, Int8RowsMatchTheReferencesWithinTheActivationRoundingOnEveryPath) {
  for (Isa isa : test::supported_isas())
    for (I64 I : {I64{32}, I64{96}, I64{160}, I64{992}})
      for (I64 O : {1, 7, 65})
        for (I64 R = 1; R <= kernels::kMatvecMaxRows; ++R)
          check_int8_product(isa, Q8Matrix(O, I, 7 + I + O), R, 11 + R, "I=" + std::to_string(I) + " O=" + std::to_string(O) + " R=" + std::to_string(R));
}

TEST(MatvecQ8, RowMapsPaddedRowsAndQuantsOfMinus128AreRead) {
  for (Isa isa : test::supported_isas()) {
    Q8Matrix m(96, 160, 13, 6);
    m.map.resize(96);
    std::iota(m.map.begin(), m.map.end(), 0);
    std::shuffle(m.map.begin(), m.map.end(), std::mt19937(17));
    for (I64 r = 0; r < 96; r += 5)  // a −128 quant in each of the five blocks of every fifth row
      for (I64 b = 0; b < 5; ++b) m.bytes[at(r) * m.stride + at(b * 34 + 2 + (r + 7 * b) % 32)] = 0x80;
    for (I64 R = 1; R <= kernels::kMatvecMaxRows; ++R) check_int8_product(isa, m, R, 19 + R, "mapped R=" + std::to_string(R));
  }
}

TEST(MatvecQ8, ResultDoesNotDependOnTheThreadCount) {
  const Q8Matrix m(1000, 384, 23);
  const std::vector<float> x = test::uniform_floats(3 * 384, 29);
  std::vector<float> one(3 * 1000, 0.0f), two(3 * 1000, 0.0f);
  const test::Int8ActivationsGuard int8(true);
  const int before = num_threads();
  set_num_threads(1);
  kernels::matvec(m.view(), x.data(), 3, one.data());
  set_num_threads(2);
  kernels::matvec(m.view(), x.data(), 3, two.data());
  set_num_threads(before);
  EXPECT_EQ(one, two);
}

TEST(MatvecQ8, NonFiniteActivationsGiveNaNNotGarbage) {
  const Q8Matrix m(8, 64, 31);
  for (float bad : {NAN, INFINITY}) {
    std::vector<float> x = test::uniform_floats(64, 37);
    x[40] = bad;  // the second block
    for (Isa isa : test::supported_isas()) {
      std::vector<float> y(8, 0.0f);
      const test::Int8ActivationsGuard int8(true);
      const test::IsaGuard path(isa);
      kernels::matvec(m.view(), x.data(), 1, y.data());
      for (float v : y) EXPECT_TRUE(std::isnan(v)) << isa_name(isa) << " " << bad;
    }
  }
}

TEST(MatvecQ8, TheSettingSelectsThePath) {
  const Q8Matrix m(16, 128, 41);
  const std::vector<float> x = test::uniform_floats(128, 43);
  std::vector<float> on(16, 0.0f), off(16, 0.0f), ref(16, 0.0f);
  EXPECT_TRUE(int8_activations());  // the default
  {
    const test::Int8ActivationsGuard g(false);
    kernels::matvec(m.view(), x.data(), 1, off.data());
    EXPECT_FALSE(int8_activations());
  }
  EXPECT_TRUE(int8_activations());  // restored
  kernels::matvec(m.view(), x.data(), 1, on.data());
  kernels::matvec_scalar(m.view(), x.data(), 1, ref.data());  // the f32-activation reference
  for (std::size_t o = 0; o < 16; ++o) EXPECT_NEAR(off[o], ref[o], 1e-5f) << o;
  EXPECT_NE(on, off);  // the 8-bit rounding of x shows
}

}  // namespace
}  // namespace attend
