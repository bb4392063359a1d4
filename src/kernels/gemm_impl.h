#pragma once
// The packed-panel GEMM block, over SIMD traits `Simd` (internal linkage; compiled once per ISA).
//
// BLIS's loop order within one block of C: for each K slice of kKc, pack B's slice into panels of
// kNr columns ([kc][kNr] each, contiguous); then for each B panel (it stays in L1) and each kMr-row
// micro-panel of A (the block's A slice stays in L2), a kMr × kNr micro-tile of C accumulates in
// registers over kc and is added to C once. Packing B absorbs its transpose and its edge (zero
// columns); A is read through its strides, and its last, short micro-panel is packed with zero rows.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/gemm.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

template <class Simd>
struct GemmShape {
  static constexpr int kMr = 6;                      // rows per micro-tile
  static constexpr int kNv = Simd::W >= 16 ? 4 : 2;  // vectors per row: 6 × 4 zmm = 24 of 32 registers; AVX2 6 × 2 of 16
  static constexpr int kNr = kNv * Simd::W;          // columns per micro-tile (64 on AVX-512)
  static constexpr I64 kKc = Simd::W >= 16 ? 128 : 256;  // K slice: a B panel (kc × kNr × 4 B = 32 KiB / 16 KiB) fits L1
  static constexpr I64 kMc = 192;  // rows of A per chunk: 192 × kc × 4 B = 96 / 192 KiB, in L2 with B's slice
};

// dst[k · kMr + r] = A(i0 + r, k0 + k), rows past m1 zero.
template <int kMr>
void pack_a(const GemmOperand& a, I64 i0, I64 m1, I64 k0, I64 kc, float* dst) {
  const int rows = static_cast<int>(std::min<I64>(kMr, m1 - i0));
  for (I64 k = 0; k < kc; ++k) {
    int r = 0;
    for (; r < rows; ++r) dst[k * kMr + r] = a.at(i0 + r, k0 + k);
    for (; r < kMr; ++r) dst[k * kMr + r] = 0.0f;
  }
}

// dst[k · kNr + j] = B(k0 + k, j0 + j), columns past n1 zero. Row-contiguous B copies rows; a
// transposed B (B(k, j) = Bt[j][k], e.g. the unembedding's [V, E] rows) goes W × W blocks at a time
// through the in-register transpose (scattered scalar stores cost as much as the products here).
template <class Simd, int kNr>
void pack_b(const GemmOperand& b, I64 k0, I64 kc, I64 j0, I64 n1, float* dst) {
  constexpr int W = Simd::W;
  const int cols = static_cast<int>(std::min<I64>(kNr, n1 - j0));
  if (b.col_stride == 1) {
    for (I64 k = 0; k < kc; ++k) {
      const float* src = b.p + (k0 + k) * b.row_stride + j0;
      float* d = dst + k * kNr;
      std::copy(src, src + cols, d);
      std::fill(d + cols, d + kNr, 0.0f);
    }
    return;
  }
  I64 k_full = 0;
  if (b.row_stride == 1) {
    k_full = kc / W * W;
    for (int jb = 0; jb + W <= cols; jb += W) {
      const float* rows[W];
      for (int j = 0; j < W; ++j) rows[j] = b.p + (j0 + jb + j) * b.col_stride + k0;
      for (I64 k = 0; k < k_full; k += W) Simd::transpose_block(rows, k, dst + k * kNr + jb, kNr);
    }
    for (int j = cols / W * W; j < kNr; ++j)  // the columns no whole block covers
      for (I64 k = 0; k < k_full; ++k) dst[k * kNr + j] = j < cols ? b.at(k0 + k, j0 + j) : 0.0f;
  }
  for (I64 k = k_full; k < kc; ++k)  // the rows no whole block covers (all rows for other strides)
    for (int j = 0; j < kNr; ++j) dst[k * kNr + j] = j < cols ? b.at(k0 + k, j0 + j) : 0.0f;
}

// C[0..rows, 0..cols) += alpha · Σ_k A(r, k) · bp[k][j], A(r, k) = a[r·a_rs + k·a_cs]: the
// micro-tile in registers. A is read where it lies (its elements are broadcast one at a time, so
// packing it would buy no vector loads; it cost a quarter of the time, measured), except an edge
// micro-panel of fewer than kMr rows, which is packed with zero rows.
template <class Simd, int kMr, int kNv>
void micro_tile(const float* a, I64 a_rs, I64 a_cs, const float* bp, I64 kc, float alpha, float* c, I64 ldc, int rows, int cols) {
  using V = typename Simd::V;
  constexpr int kNr = kNv * Simd::W;
  V acc[kMr][kNv];
  for (int r = 0; r < kMr; ++r)
    for (int n = 0; n < kNv; ++n) acc[r][n] = Simd::zero();
  for (I64 k = 0; k < kc; ++k) {
    V bv[kNv];
    for (int n = 0; n < kNv; ++n) bv[n] = Simd::load(bp + k * kNr + n * Simd::W);
    for (int r = 0; r < kMr; ++r) {
      const V av = Simd::set1(a[r * a_rs + k * a_cs]);
      for (int n = 0; n < kNv; ++n) acc[r][n] = Simd::fma(av, bv[n], acc[r][n]);
    }
  }
  const V al = Simd::set1(alpha);
  if (rows == kMr && cols == kNr) {
    for (int r = 0; r < kMr; ++r)
      for (int n = 0; n < kNv; ++n) {
        float* cp = c + r * ldc + n * Simd::W;
        Simd::store(cp, Simd::fma(al, acc[r][n], Simd::load(cp)));
      }
    return;
  }
  alignas(64) float tile[kMr * kNr];  // an edge tile: through memory, then only its valid part
  for (int r = 0; r < kMr; ++r)
    for (int n = 0; n < kNv; ++n) Simd::store(tile + r * kNr + n * Simd::W, acc[r][n]);
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) c[r * ldc + j] += alpha * tile[r * kNr + j];
}

// The calling thread's packing buffers (pool workers are long-lived, so allocated once per thread).
inline float* gemm_scratch(std::vector<float>& buf, std::size_t n) {
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

template <class Simd>
void gemm_block_impl(const GemmProblem& p, I64 m0, I64 m1, I64 n0, I64 n1) {
  using S = GemmShape<Simd>;
  constexpr int kMr = S::kMr, kNr = S::kNr;
  // C = beta · C + bias first (beta = 0 writes zeros, so NaN in an unset C does not survive; the
  // bias lands while the block is about to be used, not in a separate pass), then += alpha · AB.
  if (p.beta != 1.0f || p.bias)
    for (I64 i = m0; i < m1; ++i) {
      float* row = p.c + i * p.ldc;
      for (I64 j = n0; j < n1; ++j) row[j] = (p.beta == 0.0f ? 0.0f : p.beta * row[j]) + (p.bias ? p.bias[j] : 0.0f);
    }
  if (p.K == 0 || p.alpha == 0.0f) return;
  const I64 n_panels = (n1 - n0 + kNr - 1) / kNr;
  thread_local std::vector<float> a_buf, b_buf;
  float* edge = gemm_scratch(a_buf, static_cast<std::size_t>(kMr * S::kKc));
  float* bp = gemm_scratch(b_buf, static_cast<std::size_t>(n_panels * kNr * S::kKc));
  for (I64 k0 = 0; k0 < p.K; k0 += S::kKc) {
    const I64 kc = std::min(S::kKc, p.K - k0);
    // B's slice is packed once per block and K slice, then swept by every row chunk.
    for (I64 jp = 0; jp < n_panels; ++jp) pack_b<Simd, kNr>(p.b, k0, kc, n0 + jp * kNr, n1, bp + jp * kc * kNr);
    for (I64 r0 = m0; r0 < m1; r0 += S::kMc) {  // a chunk of A's rows (kMc × kc) stays in L2 across the panels
      const I64 r1 = std::min(m1, r0 + S::kMc);
      const I64 m_panels = (r1 - r0 + kMr - 1) / kMr, full = (r1 - r0) / kMr;  // the last may be an edge
      if (full < m_panels) pack_a<kMr>(p.a, r0 + full * kMr, r1, k0, kc, edge);
      for (I64 jp = 0; jp < n_panels; ++jp) {
        const I64 j0 = n0 + jp * kNr;
        const int cols = static_cast<int>(std::min<I64>(kNr, n1 - j0));
        const float* b = bp + jp * kc * kNr;
        for (I64 ip = 0; ip < m_panels; ++ip) {
          const I64 i0 = r0 + ip * kMr;
          const int rows = static_cast<int>(std::min<I64>(kMr, r1 - i0));
          float* ct = p.c + i0 * p.ldc + j0;
          if (ip < full)
            micro_tile<Simd, kMr, S::kNv>(p.a.p + i0 * p.a.row_stride + k0 * p.a.col_stride, p.a.row_stride, p.a.col_stride, b,
                                          kc, p.alpha, ct, p.ldc, rows, cols);
          else
            micro_tile<Simd, kMr, S::kNv>(edge, 1, kMr, b, kc, p.alpha, ct, p.ldc, rows, cols);
        }
      }
    }
  }
}

}  // namespace
}  // namespace attend::kernels
