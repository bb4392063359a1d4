#pragma once
// Register-blocked tile products of the backward (internal linkage; compiled once per ISA), over
// SIMD traits `Simd`. Separate from gemm_tile.h (the forward's) so each can be tuned alone.
//
//   bwd_gemm:    C[M × N] (+)= A[M × K] · B[K × N]        A row-major: A(r, k) = a[r·lda + k]
//   bwd_gemm_at: C[M × N] (+)= Aᵀ · B with A stored [K × M]: A(r, k) = a[k·lda + r]
// All f32, M a multiple of kBwdMR, N a multiple of Simd::W. The transposed form lets dV += Pᵀ·dO and
// dK += dSᵀ·Q read P and dS as computed, with no transpose copies.
#include <cstdint>

namespace attend::kernels {
namespace {

constexpr int kBwdMR = 6;
// Widest micro-tile in vectors: 6 × 4 accumulators fit AVX-512's 32 registers with the 4 B loads
// and a broadcast; AVX2 (16 registers) and the portable path stay at 6 × 2.
template <class Simd>
constexpr int kBwdMaxNV = Simd::W >= 16 ? 4 : 2;

// C[r, 0..NV·W) (+)= Σ_k A(r, k) · B[k, 0..NV·W) for r < kBwdMR;
// A(r, k) = a[k·lda + r] when TransA, else a[r·lda + k].
template <class Simd, int NV, bool Accumulate, bool TransA>
inline void bwd_micro(const float* a, std::int64_t lda, std::int64_t kdim, const float* b, std::int64_t ldb, float* c,
                      std::int64_t ldc) {
  using V = typename Simd::V;
  V acc[kBwdMR][NV];
  for (int r = 0; r < kBwdMR; ++r)
    for (int n = 0; n < NV; ++n) acc[r][n] = Accumulate ? Simd::load(c + r * ldc + n * Simd::W) : Simd::zero();
  for (std::int64_t k = 0; k < kdim; ++k) {
    V bv[NV];
    for (int n = 0; n < NV; ++n) bv[n] = Simd::load(b + k * ldb + n * Simd::W);
    for (int r = 0; r < kBwdMR; ++r) {
      const V av = Simd::set1(TransA ? a[k * lda + r] : a[r * lda + k]);
      for (int n = 0; n < NV; ++n) acc[r][n] = Simd::fma(av, bv[n], acc[r][n]);
    }
  }
  for (int r = 0; r < kBwdMR; ++r)
    for (int n = 0; n < NV; ++n) Simd::store(c + r * ldc + n * Simd::W, acc[r][n]);
}

// Columns in the widest micro-tiles that fit, then narrower ones for the rest.
template <class Simd, bool Accumulate, bool TransA>
inline void bwd_gemm_rows(const float* a, std::int64_t lda, std::int64_t kdim, const float* b, std::int64_t ldb,
                          std::int64_t n, float* c, std::int64_t ldc) {
  constexpr int kMax = kBwdMaxNV<Simd>;
  std::int64_t col = 0;
  for (; col + kMax * Simd::W <= n; col += kMax * Simd::W)
    bwd_micro<Simd, kMax, Accumulate, TransA>(a, lda, kdim, b + col, ldb, c + col, ldc);
  const std::int64_t left = (n - col) / Simd::W;
  if (left == 3) bwd_micro<Simd, 3, Accumulate, TransA>(a, lda, kdim, b + col, ldb, c + col, ldc);
  else if (left == 2) bwd_micro<Simd, 2, Accumulate, TransA>(a, lda, kdim, b + col, ldb, c + col, ldc);
  else if (left == 1) bwd_micro<Simd, 1, Accumulate, TransA>(a, lda, kdim, b + col, ldb, c + col, ldc);
}

template <class Simd, bool Accumulate>
inline void bwd_gemm(const float* a, std::int64_t lda, std::int64_t m, std::int64_t kdim, const float* b,
                     std::int64_t ldb, std::int64_t n, float* c, std::int64_t ldc) {
  for (std::int64_t r = 0; r < m; r += kBwdMR)
    bwd_gemm_rows<Simd, Accumulate, false>(a + r * lda, lda, kdim, b, ldb, n, c + r * ldc, ldc);
}

template <class Simd, bool Accumulate>
inline void bwd_gemm_at(const float* a, std::int64_t lda, std::int64_t m, std::int64_t kdim, const float* b,
                        std::int64_t ldb, std::int64_t n, float* c, std::int64_t ldc) {
  for (std::int64_t r = 0; r < m; r += kBwdMR)
    bwd_gemm_rows<Simd, Accumulate, true>(a + r, lda, kdim, b, ldb, n, c + r * ldc, ldc);
}

}  // namespace
}  // namespace attend::kernels
