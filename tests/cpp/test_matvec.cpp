// The decode products from stored weights (src/kernels/matvec*.cpp) on every SIMD path this CPU
// has, against a double-precision dot over the reference conversion of each stored row
// (dequantize_row): f32, bf16, f16, q8_0, q4_0, q4_K, q6_K; [O, I] and [I, O] layouts; 1..4 rows;
// awkward widths; row maps and strided rows; the thread count never changes the result.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "attend/error.h"
#include "attend/quant.h"
#include "attend/runtime.h"
#include "kernels/matvec.h"
#include "test_util.h"

namespace attend {
namespace {

using test::supported_isas;

using I64 = std::int64_t;
using kernels::MatvecWeights;

// A stored matrix: `rows` rows of `cols` values of `type`, each stored row padded by `pad` bytes
// (a column slice of a wider matrix; pad a multiple of 4 keeps f32 rows aligned, as a real slice is).
struct Stored {
  GgmlType type;
  I64 rows, cols;
  std::size_t stride;
  std::vector<unsigned char> bytes;
  std::vector<std::int32_t> map;  // empty: identity

  Stored(GgmlType t, I64 r, I64 c, std::uint64_t seed, std::size_t pad = 0)
      : type(t), rows(r), cols(c), stride(row_bytes(t, c) + pad) {
    bytes.assign(static_cast<std::size_t>(r) * stride, 0xAB);  // padding bytes are junk on purpose
    const std::vector<float> v = test::uniform_floats(r * c, seed);
    for (I64 i = 0; i < r; ++i) quantize_row(t, v.data() + i * c, bytes.data() + i * stride, c);
  }
  MatvecWeights view(bool out_rows) const {
    MatvecWeights w;
    w.data = bytes.data();
    w.type = type;
    w.rows = rows;
    w.cols = cols;
    w.row_stride = stride;
    w.row_map = map.empty() ? nullptr : map.data();
    w.out_rows = out_rows;
    return w;
  }
  // Logical row r as f32 through the reference conversion.
  std::vector<float> row(I64 r) const {
    std::vector<float> out(static_cast<std::size_t>(cols));
    const I64 s = map.empty() ? r : map[static_cast<std::size_t>(r)];
    dequantize_row(type, bytes.data() + static_cast<std::size_t>(s) * stride, out.data(), cols);
    return out;
  }
};

// y[R, O] (starting from y0) + x · (Wᵀ or W) in double; also Σ|terms| per output for the tolerance.
void reference(const Stored& s, bool out_rows, const std::vector<float>& x, I64 R, const std::vector<float>& y0,
               std::vector<double>& y, std::vector<double>& mag) {
  const I64 I = out_rows ? s.cols : s.rows, O = out_rows ? s.rows : s.cols;
  y.assign(y0.begin(), y0.end());
  mag.assign(y0.size(), 0.0);
  std::vector<std::vector<float>> rows;
  for (I64 r = 0; r < s.rows; ++r) rows.push_back(s.row(r));
  for (I64 r = 0; r < R; ++r)
    for (I64 o = 0; o < O; ++o)
      for (I64 i = 0; i < I; ++i) {
        const double w = out_rows ? rows[static_cast<std::size_t>(o)][static_cast<std::size_t>(i)]
                                  : rows[static_cast<std::size_t>(i)][static_cast<std::size_t>(o)];
        const double t = w * x[static_cast<std::size_t>(r * I + i)];
        y[static_cast<std::size_t>(r * O + o)] += t;
        mag[static_cast<std::size_t>(r * O + o)] += std::fabs(t);
      }
}

// The largest error relative to the terms' magnitude, on one path.
double worst_error(Isa isa, const Stored& s, bool out_rows, I64 R, std::uint64_t seed) {
  const I64 I = out_rows ? s.cols : s.rows, O = out_rows ? s.rows : s.cols;
  const std::vector<float> x = test::uniform_floats(R * I, seed), y0 = test::uniform_floats(R * O, seed + 1);
  std::vector<double> want, mag;
  reference(s, out_rows, x, R, y0, want, mag);
  std::vector<float> got = y0;
  const test::Int8ActivationsGuard exact(false);  // q8_0: the f32-activation bodies (int8: test_matvec_q8.cpp)
  set_isa_override(isa);
  kernels::matvec(s.view(out_rows), x.data(), R, got.data());
  clear_isa_override();
  double worst = 0;
  for (std::size_t k = 0; k < got.size(); ++k)
    worst = std::max(worst, std::fabs(got[k] - want[k]) / (mag[k] + std::fabs(y0[k]) + 1e-30));
  return worst;
}

const GgmlType kDense[] = {GgmlType::f32, GgmlType::bf16, GgmlType::f16};
const GgmlType kBlocks[] = {GgmlType::q8_0, GgmlType::q4_0, GgmlType::q4_K, GgmlType::q6_K};

TEST(Matvec, DenseRowsAndColumnsMatchTheDoubleReferenceAtAwkwardSizes) {
  for (Isa isa : supported_isas())
    for (GgmlType t : kDense)
      for (I64 I : {1, 7, 65, 1000})
        for (I64 O : {1, 7, 65, 300})
          for (I64 R = 1; R <= kernels::kMatvecMaxRows; ++R)
            for (bool out_rows : {true, false}) {
              const Stored s = out_rows ? Stored(t, O, I, 11 + I + O) : Stored(t, I, O, 13 + I + O, 8);
              const double e = worst_error(isa, s, out_rows, R, 17 + R);
              EXPECT_LT(e, 1e-5) << isa_name(isa) << " " << ggml_type_name(t) << " I=" << I << " O=" << O << " R=" << R
                                 << (out_rows ? " [O, I]" : " [I, O]");
            }
}

TEST(Matvec, BlockQuantizedRowsMatchTheirReferenceConversion) {
  for (Isa isa : supported_isas())
    for (GgmlType t : kBlocks) {
      const I64 block = ggml_type_traits(t).block_size;
      for (I64 I : {block, 3 * block, 8 * block})
        for (I64 O : {1, 7, 65})
          for (I64 R = 1; R <= kernels::kMatvecMaxRows; ++R) {
            const double e = worst_error(isa, Stored(t, O, I, 19 + I + O), true, R, 23 + R);
            EXPECT_LT(e, 1e-5) << isa_name(isa) << " " << ggml_type_name(t) << " I=" << I << " O=" << O << " R=" << R;
          }
    }
}

TEST(Matvec, RowMapsAndPaddedRowsAreReadWhereTheyLie) {
  for (Isa isa : supported_isas())
    for (GgmlType t : {GgmlType::f32, GgmlType::bf16, GgmlType::q8_0, GgmlType::q4_0}) {
      Stored s(t, 96, 128, 29, 8);
      s.map.resize(96);
      std::iota(s.map.begin(), s.map.end(), 0);
      std::shuffle(s.map.begin(), s.map.end(), std::mt19937(31));
      for (I64 R : {1, 2})  // one row: f32's four-rows-per-pass loop
        EXPECT_LT(worst_error(isa, s, true, R, 37), 1e-5) << isa_name(isa) << " " << ggml_type_name(t) << " R=" << R;
    }
}

TEST(Matvec, ResultDoesNotDependOnTheThreadCount) {
  const Stored s(GgmlType::bf16, 1000, 384, 41);
  const std::vector<float> x = test::uniform_floats(3 * 384, 43);
  std::vector<float> one(3 * 1000, 0.0f), two(3 * 1000, 0.0f);
  const int before = num_threads();
  set_num_threads(1);
  kernels::matvec(s.view(true), x.data(), 3, one.data());
  set_num_threads(2);
  kernels::matvec(s.view(true), x.data(), 3, two.data());
  set_num_threads(before);
  EXPECT_EQ(one, two);
}

TEST(Matvec, BadArgumentsAreRefusedByName) {
  const Stored s(GgmlType::q8_0, 4, 64, 47);
  std::vector<float> x(5 * 64), y(5 * 64);
  auto message = [&](MatvecWeights w, I64 R) {
    try {
      kernels::matvec(w, x.data(), R, y.data());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(s.view(true), 5).find("R = 5 rows"), std::string::npos);
  EXPECT_NE(message(s.view(true), 0).find("R = 0 rows"), std::string::npos);
  EXPECT_NE(message(s.view(false), 1).find("must be stored [O, I]"), std::string::npos);
  MatvecWeights narrow = s.view(true);
  narrow.row_stride = 10;
  EXPECT_NE(message(narrow, 1).find("row stride 10 bytes"), std::string::npos);
  const Stored f(GgmlType::f32, 4, 64, 53, 8);
  MatvecWeights odd = f.view(true);
  odd.row_stride = 258;
  EXPECT_NE(message(odd, 1).find("misaligned"), std::string::npos);
  MatvecWeights none = s.view(true);
  none.data = nullptr;
  EXPECT_NE(message(none, 1).find("null pointer"), std::string::npos);
}

}  // namespace
}  // namespace attend
