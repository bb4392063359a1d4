// The bf16 matrix product (kernels::gemm_bf16) on every SIMD path this CPU has, against a double
// product of the same bf16-rounded A and the stored bf16 B (so the only error left is the f32
// accumulation: a bound of (K + 4) f32 ulps of Σ|terms|): awkward sizes (1, 7, 65, odd K, K past a
// slice, M past a row chunk, N past a column block), both stored layouts of B, padded strides, a
// row map, beta and bias (beta = 0 ignores NaN in C); A really is rounded (ties to even); the
// thread count never changes a bit; bad arguments are refused; matmul_weight with bf16 weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "attend/error.h"
#include "attend/runtime.h"
#include "kernels/gemm_bf16.h"
#include "nn/weight.h"
#include "test_util.h"

namespace attend {
namespace {

using test::IsaGuard;
using test::supported_isas;
using I64 = std::int64_t;

struct Case {
  I64 M, N, K;
  bool out_rows;      // B stored [N, K] (else [K, N])
  I64 pad = 0;        // extra elements after every stored row of A, B and C
  bool map = false;   // B's logical rows through a reversing row_map over a taller stored matrix
  float beta = 0.0f;  // C's old values: NaN when beta = 0, else random
  bool bias = false;
};

std::string describe(const Case& c) {
  return "M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) + (c.out_rows ? " [N,K]" : " [K,N]") +
         " pad=" + std::to_string(c.pad) + (c.map ? " row_map" : "") + " beta=" + std::to_string(c.beta) + (c.bias ? " bias" : "");
}

struct Operands {
  std::vector<float> a, c0, bias;
  std::vector<std::uint16_t> b;
  std::vector<std::int32_t> map;
  kernels::GemmBf16Problem p;
  float bval(I64 k, I64 j) const { return bf16_to_f32(p.b.row(p.b.out_rows ? j : k)[p.b.out_rows ? k : j]); }
};

Operands make(const Case& c, std::uint64_t seed) {
  Operands o;
  const I64 lda = c.K + c.pad, b_logical = c.out_rows ? c.N : c.K, b_cols = c.out_rows ? c.K : c.N, ldb = b_cols + c.pad;
  const I64 b_stored = c.map ? b_logical + 3 : b_logical, ldc = c.N + c.pad;
  o.a = test::uniform_floats(std::max<I64>(1, c.M * lda), seed);
  const std::vector<float> bf = test::uniform_floats(std::max<I64>(1, b_stored * ldb), seed + 1);
  o.b.resize(bf.size());
  for (std::size_t i = 0; i < bf.size(); ++i) o.b[i] = f32_to_bf16(bf[i]);
  if (c.map)
    for (I64 r = 0; r < b_logical; ++r) o.map.push_back(static_cast<std::int32_t>(b_stored - 1 - r));
  o.c0 = test::uniform_floats(std::max<I64>(1, c.M * ldc), seed + 2);
  if (c.beta == 0.0f) std::fill(o.c0.begin(), o.c0.end(), std::numeric_limits<float>::quiet_NaN());
  if (c.bias) o.bias = test::uniform_floats(c.N, seed + 3);
  o.p.M = c.M, o.p.N = c.N, o.p.K = c.K, o.p.a = o.a.data(), o.p.lda = lda, o.p.beta = c.beta, o.p.ldc = ldc;
  o.p.b = {o.b.data(), ldb, c.out_rows, c.map ? o.map.data() : nullptr};
  o.p.bias = c.bias ? o.bias.data() : nullptr;
  return o;
}

// C from gemm_bf16 with `threads` workers on the active path, checked against the double product of
// bf16(A) and B; returns C (with its padding) for bitwise comparisons.
std::vector<float> run_and_check(const Case& c, int threads, std::uint64_t seed) {
  Operands o = make(c, seed);
  std::vector<float> out = o.c0;
  o.p.c = out.data();
  kernels::gemm_bf16(o.p, threads);
  int bad = 0;
  for (I64 i = 0; i < c.M && bad < 5; ++i)
    for (I64 j = 0; j < c.N && bad < 5; ++j) {
      const double old = c.beta == 0.0f ? 0.0 : static_cast<double>(c.beta) * o.c0[static_cast<std::size_t>(i * o.p.ldc + j)];
      double want = old + (c.bias ? o.bias[static_cast<std::size_t>(j)] : 0.0), mag = std::fabs(want);
      for (I64 k = 0; k < c.K; ++k) {
        const double t = static_cast<double>(bf16_to_f32(f32_to_bf16(o.a[static_cast<std::size_t>(i * o.p.lda + k)]))) * o.bval(k, j);
        want += t, mag += std::fabs(t);
      }
      const double got = out[static_cast<std::size_t>(i * o.p.ldc + j)];
      const double tol = static_cast<double>(c.K + 4) * std::ldexp(1.0, -24) * mag + 1e-30;
      if (!(std::fabs(got - want) <= tol)) {
        ADD_FAILURE() << describe(c) << " threads " << threads << ": C(" << i << ", " << j << ") = " << got << ", want " << want
                      << " (tolerance " << tol << ")";
        ++bad;
      }
    }
  for (I64 i = 0; i < c.M; ++i)  // the padding after each row of C is left alone
    for (I64 j = c.N; j < o.p.ldc; ++j)
      EXPECT_TRUE(std::isnan(out[static_cast<std::size_t>(i * o.p.ldc + j)]) ||
                  out[static_cast<std::size_t>(i * o.p.ldc + j)] == o.c0[static_cast<std::size_t>(i * o.p.ldc + j)]);
  return out;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  const I64 shapes[][3] = {{1, 1, 1},   {7, 65, 7},    {65, 7, 65},  {100, 130, 301}, {13, 200, 515},
                           {200, 70, 33}, {9, 600, 40}, {6, 64, 256}, {5, 17, 2}};
  int n = 0;
  for (const auto& s : shapes)
    for (bool out_rows : {true, false}) {
      Case c{s[0], s[1], s[2], out_rows};
      c.pad = n % 3 == 1 ? 3 : n % 3 == 2 ? 1 : 0;  // odd pads too: B's rows off 4-byte alignment
      c.map = n % 2 == 1;
      c.beta = n % 4 == 0 ? 0.0f : n % 4 == 1 ? 1.0f : -0.5f;
      c.bias = n % 3 != 0;
      v.push_back(c);
      ++n;
    }
  return v;
}

TEST(GemmBf16, MatchesTheDoubleProductOfTheRoundedOperandsOnEveryPath) {
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(std::string(isa_name(isa)));
    IsaGuard guard(isa);
    std::uint64_t seed = 10;
    for (const Case& c : cases()) run_and_check(c, 1, seed += 7);
  }
}

TEST(GemmBf16, ThreadCountChangesNoBit) {
  const Case big[] = {{60, 600, 150, true, 2, true, 1.0f, true}, {250, 130, 96, false, 0, false, 0.0f, false}};
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(std::string(isa_name(isa)));
    IsaGuard guard(isa);
    for (const Case& c : big) {
      const std::vector<float> one = run_and_check(c, 1, 5), two = run_and_check(c, 2, 5), three = run_and_check(c, 3, 5);
      EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * 4), 0) << describe(c);
      EXPECT_EQ(std::memcmp(one.data(), three.data(), one.size() * 4), 0) << describe(c);
    }
  }
}

// A is rounded to bf16 to nearest, ties to even: 1 + 2^-8 (a tie) becomes 1, 1 + 3·2^-8 (a tie)
// becomes 1 + 2^-6, 1 + 2^-8 + 2^-20 rounds up to 1 + 2^-7; with B = 1 and K = 1 C shows A as used.
TEST(GemmBf16, ActivationsAreRoundedToNearestEven) {
  const float a[] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f, -2.0f - 0x1p-7f};
  const float want[] = {1.0f, 1.0f + 0x1p-6f, 1.0f + 0x1p-7f, -2.0f};
  const std::uint16_t one = f32_to_bf16(1.0f);
  for (Isa isa : supported_isas()) {
    IsaGuard guard(isa);
    for (bool out_rows : {true, false}) {
      float c[4];
      kernels::GemmBf16Problem p;
      p.M = 4, p.N = 1, p.K = 1, p.a = a, p.lda = 1, p.c = c, p.ldc = 1, p.b = {&one, 1, out_rows, nullptr};
      kernels::gemm_bf16(p, 1);
      for (int i = 0; i < 4; ++i) EXPECT_EQ(c[i], want[i]) << isa_name(isa) << " row " << i;
    }
  }
}

TEST(GemmBf16, KZeroAppliesBetaAndBiasAndBadArgumentsAreRefused) {
  float c[2] = {2.0f, std::numeric_limits<float>::quiet_NaN()}, bias[2] = {1.0f, -1.0f};
  kernels::GemmBf16Problem p;
  p.M = 1, p.N = 2, p.K = 0, p.lda = 1, p.c = c, p.ldc = 2, p.bias = bias, p.b = {nullptr, 2, false, nullptr};
  p.beta = 0.0f;
  kernels::gemm_bf16(p);
  EXPECT_EQ(c[0], 1.0f);
  EXPECT_EQ(c[1], -1.0f);
  auto refused = [](kernels::GemmBf16Problem q, const char* needle) {
    try {
      kernels::gemm_bf16(q);
      ADD_FAILURE() << "accepted; expected '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("gemm_bf16"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const float a[4] = {};
  const std::uint16_t b[4] = {};
  kernels::GemmBf16Problem q;
  q.M = 2, q.N = 2, q.K = 2, q.a = a, q.lda = 2, q.c = c, q.ldc = 2, q.b = {b, 2, true, nullptr};
  refused([&] { auto r = q; r.M = -1; return r; }(), "negative size");
  refused([&] { auto r = q; r.lda = 1; return r; }(), "lda=1");
  refused([&] { auto r = q; r.b.ld = 1; return r; }(), "ld=1");
  refused([&] { auto r = q; r.ldc = 1; return r; }(), "ldc=1");
  refused([&] { auto r = q; r.a = nullptr; return r; }(), "null operand");
}

// matmul_weight with a bf16 weight: bf16_activations takes gemm_bf16 (the double product of the
// rounded activations), off it keeps f32 activations (the double product of x itself), both layouts.
TEST(GemmBf16, MatmulWeightWithBf16Weights) {
  const I64 R = 37, I = 70, O = 45;
  const std::vector<float> x = test::uniform_floats(R * I, 1), wf = test::uniform_floats(I * O, 2), bias = test::uniform_floats(O, 3);
  std::vector<std::uint16_t> wb(wf.size());
  for (std::size_t i = 0; i < wf.size(); ++i) wb[i] = f32_to_bf16(wf[i]);
  for (Isa isa : supported_isas()) {
    IsaGuard guard(isa);
    for (bool out_rows : {true, false})
      for (bool rounded : {true, false}) {
        SCOPED_TRACE(std::string(isa_name(isa)) + (out_rows ? " [O,I]" : " [I,O]") + (rounded ? " bf16 activations" : " f32 activations"));
        nn::WeightView w{wb.data(), DType::bf16, out_rows ? O : I, out_rows ? I : O, out_rows ? I : O, out_rows};
        w.bf16_activations = rounded;
        std::vector<float> y(static_cast<std::size_t>(R * O));
        nn::matmul_weight(x.data(), R, w, y.data(), bias.data());
        double worst = 0, worst_other = 0;
        for (I64 r = 0; r < R; ++r)
          for (I64 o = 0; o < O; ++o) {
            double want = bias[static_cast<std::size_t>(o)], other = want, mag = std::fabs(want);
            for (I64 i = 0; i < I; ++i) {
              const float wv = bf16_to_f32(wb[static_cast<std::size_t>(out_rows ? o * I + i : i * O + o)]);
              const float xv = x[static_cast<std::size_t>(r * I + i)], xr = bf16_to_f32(f32_to_bf16(xv));
              want += static_cast<double>(rounded ? xr : xv) * wv, other += static_cast<double>(rounded ? xv : xr) * wv;
              mag += std::fabs(static_cast<double>(xv) * wv);
            }
            const double got = y[static_cast<std::size_t>(r * O + o)], tol = (I + 4) * std::ldexp(1.0, -23) * mag;
            worst = std::max(worst, std::fabs(got - want) / tol);
            worst_other = std::max(worst_other, std::fabs(got - other) / tol);
          }
        EXPECT_LE(worst, 1.0);
        EXPECT_GT(worst_other, 1.0);  // the other definition is measurably different: the switch is real
      }
  }
}

}  // namespace
}  // namespace attend
