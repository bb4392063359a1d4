#pragma once
// Register-blocked tile products shared by the forward and backward kernel bodies, over SIMD
// traits `Simd` (internal linkage; compiled once per ISA).
//
//   C[M × N] (+)= A[M × K] · B[K × N]      all row-major f32, M a multiple of kMR, N of Simd::W
//
// The micro-kernel keeps kMR rows × 2 vectors of C in registers (12 accumulators: fits AVX2's 16
// and AVX-512's 32 registers with room for the B loads and A broadcasts).
#include <cstdint>

namespace attend::kernels {
namespace {

constexpr int kMR = 6;

// C[r, 0..NV·W) (+)= Σ_k A[r, k] · B[k, 0..NV·W) for r < kMR.
template <class Simd, int NV, bool Accumulate>
inline void gemm_micro(const float* a, std::int64_t lda, std::int64_t kdim, const float* b, std::int64_t ldb, float* c,
                       std::int64_t ldc) {
  using V = typename Simd::V;
  V acc[kMR][NV];
  for (int r = 0; r < kMR; ++r)
    for (int n = 0; n < NV; ++n) acc[r][n] = Accumulate ? Simd::load(c + r * ldc + n * Simd::W) : Simd::zero();
  for (std::int64_t k = 0; k < kdim; ++k) {
    V bv[NV];
    for (int n = 0; n < NV; ++n) bv[n] = Simd::load(b + k * ldb + n * Simd::W);
    for (int r = 0; r < kMR; ++r) {
      const V av = Simd::set1(a[r * lda + k]);
      for (int n = 0; n < NV; ++n) acc[r][n] = Simd::fma(av, bv[n], acc[r][n]);
    }
  }
  for (int r = 0; r < kMR; ++r)
    for (int n = 0; n < NV; ++n) Simd::store(c + r * ldc + n * Simd::W, acc[r][n]);
}

// Wide = true (the forward, AVX-512 only): kMR × 4 vectors = 24 of the 32 zmm accumulators, so each
// A broadcast feeds 4 FMAs instead of 2 (the load ports, not the FMA pipes, bound the 6 × 2 form).
template <class Simd, bool Accumulate, bool Wide = false>
inline void gemm_block(const float* a, std::int64_t lda, std::int64_t m, std::int64_t kdim, const float* b,
                       std::int64_t ldb, std::int64_t n, float* c, std::int64_t ldc) {
  for (std::int64_t r = 0; r < m; r += kMR) {
    std::int64_t col = 0;
    if constexpr (Wide && Simd::W == 16)
      for (; col + 4 * Simd::W <= n; col += 4 * Simd::W)
        gemm_micro<Simd, 4, Accumulate>(a + r * lda, lda, kdim, b + col, ldb, c + r * ldc + col, ldc);
    for (; col + 2 * Simd::W <= n; col += 2 * Simd::W)
      gemm_micro<Simd, 2, Accumulate>(a + r * lda, lda, kdim, b + col, ldb, c + r * ldc + col, ldc);
    if (col < n) gemm_micro<Simd, 1, Accumulate>(a + r * lda, lda, kdim, b + col, ldb, c + r * ldc + col, ldc);
  }
}

}  // namespace
}  // namespace attend::kernels
