#pragma once
// attend's f32 matrix product for the model runtime (linear layers, the unembedding, their
// gradients): C = alpha · op(A) · op(B) + beta · C, packed panels and register-blocked micro-tiles
// on attend's SIMD paths, split over attend's pool. It replaced OpenBLAS's sgemm there: OpenBLAS's
// own threads fought attend's pool for the cores (issue 24's profile: ~35 % of a training step
// yielding; two threads slower than one), and its kernels follow OPENBLAS_CORETYPE, which this
// project's machines set to Haswell (AVX2: ~60 GFLOP/s a core where these reach ~140).
//
// Shape letters: M rows of C, N columns of C, K the summed index. Any operand may be transposed:
// an operand is a pointer and two strides, element (i, k) at p[i·row_stride + k·col_stride].
#include <cstdint>

namespace attend::kernels {

struct GemmOperand {
  const float* p = nullptr;
  std::int64_t row_stride = 0, col_stride = 1;
  float at(std::int64_t i, std::int64_t k) const { return p[i * row_stride + k * col_stride]; }
};

// C[M, N] (row stride ldc) = alpha · A[M, K] · B[K, N] + beta · C (+ bias[N] on every row, when
// given). beta = 0 ignores C's old values (NaN included), as BLAS does.
struct GemmProblem {
  std::int64_t M = 0, N = 0, K = 0;
  float alpha = 1.0f, beta = 0.0f;
  GemmOperand a, b;
  float* c = nullptr;
  std::int64_t ldc = 0;
  const float* bias = nullptr;
};

// One block of C, rows [m0, m1) and columns [n0, n1), over all of K, on the calling thread (its
// packing scratch is per thread). Per-ISA bodies: gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp.
using GemmBlockFn = void (*)(const GemmProblem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1);
void gemm_block_scalar(const GemmProblem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1);
void gemm_block_avx2(const GemmProblem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1);
void gemm_block_avx512(const GemmProblem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1);

// The whole product on the active path over `threads` pool workers (0 = attend::num_threads()),
// each computing disjoint blocks of C: the result does not depend on the thread count or timing.
// Sizes and strides are the caller's to check (sgemm does).
void gemm(const GemmProblem& p, int threads = 0);

enum class Op { none, transpose };

// The same as a BLAS-style call, arguments checked (attend::Error naming the bad one): row-major
// C = alpha · op(A) · op(B) + beta · C.
//   op(A): [M, K] (A is [M, K] with row stride lda, or [K, M] when transposed)
//   op(B): [K, N] (B is [K, N] with row stride ldb, or [N, K] when transposed)
//   C:     [M, N] with row stride ldc
//   bias:  [N] added to every row of C, or null
void sgemm(Op op_a, Op op_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
           std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc, int threads = 0,
           const float* bias = nullptr);

}  // namespace attend::kernels
