// kernels::sgemm: the BLAS-style entry (argument checks) over kernels::gemm.
#include <algorithm>

#include "core/check.h"
#include "kernels/gemm.h"

namespace attend::kernels {

using I64 = std::int64_t;

void sgemm(Op op_a, Op op_b, I64 M, I64 N, I64 K, float alpha, const float* A, I64 lda, const float* B, I64 ldb,
           float beta, float* C, I64 ldc, int threads, const float* bias) {
  static constexpr const char* fn = "sgemm";
  if (M < 0 || N < 0 || K < 0) detail::fail(fn, "negative size M=", M, " N=", N, " K=", K);
  const I64 a_row = op_a == Op::none ? K : M, b_row = op_b == Op::none ? N : K;
  if (lda < std::max<I64>(a_row, 1)) detail::fail(fn, "lda=", lda, " is below A's stored row of ", a_row);
  if (ldb < std::max<I64>(b_row, 1)) detail::fail(fn, "ldb=", ldb, " is below B's stored row of ", b_row);
  if (ldc < std::max<I64>(N, 1)) detail::fail(fn, "ldc=", ldc, " is below C's row of ", N);
  if (M == 0 || N == 0) return;  // K = 0: gemm applies beta and the bias alone

  GemmProblem p;
  p.M = M, p.N = N, p.K = K, p.alpha = alpha, p.beta = beta, p.c = C, p.ldc = ldc, p.bias = bias;
  p.a = op_a == Op::none ? GemmOperand{A, lda, 1} : GemmOperand{A, 1, lda};
  p.b = op_b == Op::none ? GemmOperand{B, ldb, 1} : GemmOperand{B, 1, ldb};
  gemm(p, threads);
}

}  // namespace attend::kernels
