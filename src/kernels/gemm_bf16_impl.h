#pragma once
// The bf16 GEMM block driver and its portable packing and micro-tile (internal linkage; compiled
// once per ISA). A path is a struct of three static functions, pack_a, pack_b and micro (shapes
// below); PortableBf16 is the definition every path must match, the avx512 path overrides all three.
//
// Loop order as gemm_impl.h (BLIS): for each K slice of kKc, B's slice is packed into panels of kNr
// columns; for each chunk of kMc rows, A's chunk is rounded to bf16 and packed; then each kMr × kNr
// micro-tile accumulates in f32 over the slice and is added to C once.
//   packed A chunk: [rows padded to kMr][kc2]      bf16 row-major (kc2 = kc rounded up to even; zero pad)
//   packed B panel: [kc2 / 2][kNr][2]               K pairs interleaved per column (what vdpbf16ps reads)
#include <algorithm>
#include <cstdint>
#include <vector>

#include "attend/dtype.h"
#include "kernels/gemm_bf16.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

constexpr int kBf16Mr = 6;    // rows per micro-tile: 6 × 4 zmm accumulators = 24 of 32 registers
constexpr int kBf16Nr = 64;   // columns per micro-tile (4 vectors of 16 f32)
constexpr I64 kBf16Kc = 256;  // K slice (even): a B panel of 256 × 64 bf16 = 32 KiB stays in L1
constexpr I64 kBf16Mc = 192;  // rows per A chunk: 192 × 256 bf16 = 96 KiB, in L2 beside B's slice

inline float bf16_value(std::uint16_t h) { return bf16_to_f32(h); }

// How a micro-tile lands in C: the first K slice writes beta · C + bias + tile (beta = 0 reads no C,
// so NaN in an unset C does not survive), later slices add. Folding beta and the bias into the
// first slice's write spares a separate pass over C (15 % of a 1024 × 2304 product, perf).
struct TileOut {
  bool first = false;
  float beta = 0.0f;
  const float* bias = nullptr;  // at the tile's first column, or null
  float apply(float old, float acc, int j) const {
    if (!first) return old + acc;
    return ((beta == 0.0f ? 0.0f : beta * old) + (bias ? bias[j] : 0.0f)) + acc;
  }
};

struct PortableBf16 {
  // dst[r · kc2 + k] = bf16(A(i0 + r, k0 + k)) for r < rows, k < kc; zero for k in [kc, kc2) and
  // for rows [rows, rows_padded).
  static void pack_a(const GemmBf16Problem& p, I64 i0, int rows, I64 rows_padded, I64 k0, I64 kc, std::uint16_t* dst) {
    const I64 kc2 = (kc + 1) / 2 * 2;
    for (I64 r = 0; r < rows_padded; ++r) {
      const float* src = p.a + (i0 + r) * p.lda + k0;
      for (I64 k = 0; k < kc2; ++k) dst[r * kc2 + k] = r < rows && k < kc ? f32_to_bf16(src[k]) : std::uint16_t{0};
    }
  }

  // dst[(k / 2) · 2kNr + 2j + k % 2] = B(k0 + k, j0 + j) for k < kc2, j < kNr; zero past K and past cols.
  static void pack_b(const Bf16Matrix& b, I64 k0, I64 kc, I64 j0, int cols, std::uint16_t* dst) {
    const I64 kc2 = (kc + 1) / 2 * 2;
    std::fill(dst, dst + kc2 * kBf16Nr, std::uint16_t{0});
    if (b.out_rows) {
      for (int j = 0; j < cols; ++j) {
        const std::uint16_t* row = b.row(j0 + j) + k0;
        for (I64 k = 0; k < kc; ++k) dst[(k / 2) * 2 * kBf16Nr + 2 * j + k % 2] = row[k];
      }
      return;
    }
    for (I64 k = 0; k < kc; ++k) {
      const std::uint16_t* row = b.row(k0 + k) + j0;
      for (int j = 0; j < cols; ++j) dst[(k / 2) * 2 * kBf16Nr + 2 * j + k % 2] = row[j];
    }
  }

  // C[r, j] += Σ_kk (A[r, 2kk + 1] · B[kk, j, 1] + A[r, 2kk] · B[kk, j, 0]) for r < rows, j < cols,
  // the sum in f32 in vdpbf16ps's order (odd element first); a: packed chunk rows (stride kc2), kcp
  // = kc2 / 2 pairs, b: a packed panel. Products of two bf16 are exact in f32, so only the sums round.
  static void micro(const std::uint16_t* a, I64 kc2, const std::uint16_t* b, float* c, I64 ldc, int rows, int cols,
                    const TileOut& out) {
    float acc[kBf16Mr][kBf16Nr] = {};
    for (I64 kk = 0; kk < kc2 / 2; ++kk) {
      const std::uint16_t* bk = b + kk * 2 * kBf16Nr;
      for (int r = 0; r < kBf16Mr; ++r) {
        const float a0 = bf16_value(a[r * kc2 + 2 * kk]), a1 = bf16_value(a[r * kc2 + 2 * kk + 1]);
        for (int j = 0; j < kBf16Nr; ++j) {
          float s = acc[r][j] + a1 * bf16_value(bk[2 * j + 1]);
          acc[r][j] = s + a0 * bf16_value(bk[2 * j]);
        }
      }
    }
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < cols; ++j) c[r * ldc + j] = out.apply(c[r * ldc + j], acc[r][j], j);
  }
};

// The calling thread's packing buffers (pool workers are long-lived, so allocated once per thread).
inline std::uint16_t* gemm_bf16_scratch(std::vector<std::uint16_t>& buf, std::size_t n) {
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

template <class Path>
void gemm_bf16_block_impl(const GemmBf16Problem& p, I64 m0, I64 m1, I64 n0, I64 n1) {
  if (p.K == 0) {  // C = beta · C + bias alone (with K > 0 the first slice's tiles apply them: TileOut)
    TileOut out{true, p.beta, p.bias ? p.bias + n0 : nullptr};
    for (I64 i = m0; i < m1; ++i)
      for (I64 j = n0; j < n1; ++j) p.c[i * p.ldc + j] = out.apply(p.c[i * p.ldc + j], 0.0f, static_cast<int>(j - n0));
    return;
  }
  const I64 n_panels = (n1 - n0 + kBf16Nr - 1) / kBf16Nr;
  thread_local std::vector<std::uint16_t> a_buf, b_buf;
  std::uint16_t* ap = gemm_bf16_scratch(a_buf, static_cast<std::size_t>(kBf16Mc * kBf16Kc));
  std::uint16_t* bp = gemm_bf16_scratch(b_buf, static_cast<std::size_t>(n_panels * kBf16Nr * kBf16Kc));
  for (I64 k0 = 0; k0 < p.K; k0 += kBf16Kc) {
    const I64 kc = std::min(kBf16Kc, p.K - k0), kc2 = (kc + 1) / 2 * 2;
    // B's slice is packed once per block and K slice, then swept by every row chunk.
    for (I64 jp = 0; jp < n_panels; ++jp) {
      const I64 j0 = n0 + jp * kBf16Nr;
      Path::pack_b(p.b, k0, kc, j0, static_cast<int>(std::min<I64>(kBf16Nr, n1 - j0)), bp + jp * kc2 * kBf16Nr);
    }
    for (I64 r0 = m0; r0 < m1; r0 += kBf16Mc) {  // a chunk of A's rows, packed once, stays in L2 across the panels
      const int rows = static_cast<int>(std::min(kBf16Mc, m1 - r0));
      const I64 padded = (rows + kBf16Mr - 1) / kBf16Mr * kBf16Mr;
      Path::pack_a(p, r0, rows, padded, k0, kc, ap);
      for (I64 jp = 0; jp < n_panels; ++jp) {
        const I64 j0 = n0 + jp * kBf16Nr;
        const int cols = static_cast<int>(std::min<I64>(kBf16Nr, n1 - j0));
        const TileOut out{k0 == 0, p.beta, p.bias ? p.bias + j0 : nullptr};
        for (I64 i = 0; i < padded; i += kBf16Mr)
          Path::micro(ap + i * kc2, kc2, bp + jp * kc2 * kBf16Nr, p.c + (r0 + i) * p.ldc + j0, p.ldc,
                      static_cast<int>(std::min<I64>(kBf16Mr, rows - i)), cols, out);
      }
    }
  }
}

}  // namespace
}  // namespace attend::kernels
