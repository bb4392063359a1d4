// The runtime's matrix product (kernels::gemm through kernels::sgemm) on every SIMD path this CPU
// has, against a double-precision product: all four transpose combinations, awkward sizes (1, 7,
// 65, edges of the micro-tile and of the blocks), padded strides, alpha and beta (beta = 0 must
// ignore NaN in C); the thread count never changes a bit of the result; bad arguments are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "attend/error.h"
#include "attend/runtime.h"
#include "kernels/gemm.h"
#include "test_util.h"

namespace attend {
namespace {

using test::supported_isas;
using test::IsaGuard;

using I64 = std::int64_t;
using kernels::Op;

struct Case {
  I64 M, N, K;
  Op op_a, op_b;
  I64 pad;  // extra elements at the end of every stored row of A, B and C
  float alpha, beta;
  bool bias = false;  // add a bias row to C
};

// Runs one case with `threads` workers and compares with a double product over the same inputs.
// Returns C for bitwise comparisons across thread counts.
std::vector<float> check(const Case& c, int threads, std::uint64_t seed) {
  const I64 a_rows = c.op_a == Op::none ? c.M : c.K, a_cols = c.op_a == Op::none ? c.K : c.M;
  const I64 b_rows = c.op_b == Op::none ? c.K : c.N, b_cols = c.op_b == Op::none ? c.N : c.K;
  const I64 lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  const std::vector<float> A = test::uniform_floats(a_rows * lda, seed), B = test::uniform_floats(b_rows * ldb, seed + 1);
  std::vector<float> C = test::uniform_floats(c.M * ldc, seed + 2);
  if (c.beta == 0.0f)  // beta = 0: the old C must not matter, NaN included
    for (I64 i = 0; i < c.M * ldc; i += 3) C[static_cast<std::size_t>(i)] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> C0 = C, bias = test::uniform_floats(c.N, seed + 3);
  kernels::sgemm(c.op_a, c.op_b, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), ldc, threads,
                 c.bias ? bias.data() : nullptr);
  auto a = [&](I64 i, I64 k) { return static_cast<double>(c.op_a == Op::none ? A[i * lda + k] : A[k * lda + i]); };
  auto b = [&](I64 k, I64 j) { return static_cast<double>(c.op_b == Op::none ? B[k * ldb + j] : B[j * ldb + k]); };
  int bad = 0;
  for (I64 i = 0; i < c.M; ++i)
    for (I64 j = 0; j < ldc; ++j) {
      const float got = C[i * ldc + j];
      if (j >= c.N) {  // the padding of C is never written
        const float was = C0[i * ldc + j];
        if (!(got == was || (std::isnan(got) && std::isnan(was)))) ++bad;
        continue;
      }
      double s = 0, mag = 0;
      for (I64 k = 0; k < c.K; ++k) {
        s += a(i, k) * b(k, j);
        mag += std::abs(a(i, k) * b(k, j));
      }
      const double old = (c.beta == 0.0f ? 0.0 : static_cast<double>(c.beta) * C0[i * ldc + j]) + (c.bias ? bias[j] : 0.0);
      const double want = c.alpha * s + old;
      const double tol = 1e-5 * (std::abs(c.alpha) * mag + std::abs(old)) + 1e-6;
      if (!(std::abs(got - want) <= tol) && bad++ < 3)
        ADD_FAILURE() << "C[" << i << "," << j << "] = " << got << ", want " << want << " (M=" << c.M << " N=" << c.N << " K=" << c.K
                      << " isa " << isa_name(active_isa()) << ", " << threads << " threads)";
    }
  EXPECT_EQ(bad, 0) << "M=" << c.M << " N=" << c.N << " K=" << c.K << " op_a=" << int(c.op_a) << " op_b=" << int(c.op_b);
  return C;
}

TEST(Gemm, EveryPathAndTransposeMatchesDoubleOnAwkwardShapes) {
  const I64 sizes[][3] = {{1, 1, 1}, {7, 7, 7}, {1, 65, 33}, {65, 1, 129}, {6, 64, 128}, {13, 200, 257}, {65, 130, 7}, {200, 77, 1000}};
  int n = 0;
  for (Isa isa : supported_isas()) {
    IsaGuard guard(isa);
    for (const auto& s : sizes)
      for (Op op_a : {Op::none, Op::transpose})
        for (Op op_b : {Op::none, Op::transpose}) {
          const Case c{s[0], s[1], s[2], op_a, op_b, (n % 3) * 5, n % 2 ? 0.5f : 1.0f, (n % 4 == 0) ? 0.0f : (n % 4 == 1 ? 1.0f : -0.75f), n % 5 < 2};
          check(c, 2, static_cast<std::uint64_t>(100 + n++));
        }
  }
}

TEST(Gemm, BlocksBeyondOneTileAndTheThreadCountNeverChangesABit) {
  // Several blocks in both directions (blocks are 192 rows × 512 columns) and a K beyond one slice.
  for (Isa isa : supported_isas()) {
    IsaGuard guard(isa);
    for (Op op_b : {Op::none, Op::transpose}) {
      const Case c{401, 1100, 300, Op::none, op_b, 3, 1.0f, 0.0f, true};
      const std::vector<float> one = check(c, 1, 7), two = check(c, 2, 7), four = check(c, 4, 7);
      // bytes, not floats: C's untouched padding holds NaN, which never equals itself
      EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float))) << isa_name(isa);
      EXPECT_EQ(0, std::memcmp(one.data(), four.data(), one.size() * sizeof(float))) << isa_name(isa);
    }
  }
}

TEST(Gemm, KZeroScalesCByBetaAndZeroSizesAreNoOps) {
  std::vector<float> C{1, 2, 3, 4, std::numeric_limits<float>::quiet_NaN(), 6};
  const float A = 0, B = 0;
  kernels::sgemm(Op::none, Op::none, 2, 3, 0, 1.0f, &A, 1, &B, 3, 0.5f, C.data(), 3);
  EXPECT_EQ(C[0], 0.5f);
  EXPECT_EQ(C[5], 3.0f);
  kernels::sgemm(Op::none, Op::none, 2, 3, 0, 1.0f, &A, 1, &B, 3, 0.0f, C.data(), 3);
  EXPECT_EQ(C[4], 0.0f);  // beta = 0 clears NaN
  kernels::sgemm(Op::none, Op::none, 0, 3, 5, 1.0f, nullptr, 5, nullptr, 3, 0.0f, nullptr, 3);  // nothing to do
}

TEST(Gemm, BadSizesAndStridesAreRefusedByName) {
  std::vector<float> x(64, 1.0f);
  auto message = [&](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { kernels::sgemm(Op::none, Op::none, -1, 2, 2, 1, x.data(), 2, x.data(), 2, 0, x.data(), 2); }).find("negative size"),
            std::string::npos);
  EXPECT_NE(message([&] { kernels::sgemm(Op::none, Op::none, 2, 4, 3, 1, x.data(), 2, x.data(), 4, 0, x.data(), 4); }).find("lda=2"),
            std::string::npos);
  EXPECT_NE(message([&] { kernels::sgemm(Op::none, Op::transpose, 2, 4, 3, 1, x.data(), 3, x.data(), 2, 0, x.data(), 4); }).find("ldb=2"),
            std::string::npos);
  EXPECT_NE(message([&] { kernels::sgemm(Op::none, Op::none, 2, 4, 3, 1, x.data(), 3, x.data(), 4, 0, x.data(), 3); }).find("ldc=3"),
            std::string::npos);
}

}  // namespace
}  // namespace attend
