// The bf16 GEMM block on the avx512 path: vdpbf16ps micro-tiles over the packed layouts of
// kernels/gemm_bf16_impl.h, with vectorised packing. This path's detection requires AVX512-BF16
// (src/core/cpu_features.cpp), as the bf16 attention kernels' does.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_bf16_impl.h"
#include "kernels/simd/avx512.h"

namespace attend::kernels {
namespace {

inline __mmask16 mask16(I64 n) { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }
inline __mmask32 mask32(I64 n) { return n >= 32 ? __mmask32(~0u) : n <= 0 ? __mmask32(0) : __mmask32((1u << n) - 1); }

struct Avx512Bf16 {
  // As PortableBf16::pack_a. One vcvtne2ps2bf16 rounds 32 values to nearest even (it turns f32
  // subnormals into zero, as vdpbf16ps would treat their bf16 anyway, so the products are unchanged).
  static void pack_a(const GemmBf16Problem& p, I64 i0, int rows, I64 rows_padded, I64 k0, I64 kc, std::uint16_t* dst) {
    const I64 kc2 = (kc + 1) / 2 * 2;
    for (int r = 0; r < rows; ++r) {
      const float* src = p.a + (i0 + r) * p.lda + k0;
      std::uint16_t* d = dst + r * kc2;
      for (I64 k = 0; k < kc2; k += 32) {  // masked loads read zeros past kc: the odd pad comes free
        const __m512 lo = _mm512_maskz_loadu_ps(mask16(kc - k), src + k);
        const __m512 hi = _mm512_maskz_loadu_ps(mask16(kc - k - 16), src + k + 16);
        _mm512_mask_storeu_epi16(d + k, mask32(kc2 - k), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
      }
    }
    if (rows_padded > rows) std::memset(dst + rows * kc2, 0, static_cast<std::size_t>((rows_padded - rows) * kc2) * 2);
  }

  // As PortableBf16::pack_b.
  static void pack_b(const Bf16Matrix& b, I64 k0, I64 kc, I64 j0, int cols, std::uint16_t* dst) {
    const I64 kc2 = (kc + 1) / 2 * 2;
    if (!b.out_rows) {
      // [K, N] rows: rows k0 + 2kk and + 1 interleaved 32 columns at a time by vpermt2w (masked
      // loads give the zero columns past cols and, for odd K, the zero second row).
      alignas(64) static constexpr std::uint16_t kLo[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                                           8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
      const __m512i lo_idx = _mm512_load_si512(kLo), hi_idx = _mm512_add_epi16(lo_idx, _mm512_set1_epi16(16));
      for (I64 kk = 0; kk < kc2 / 2; ++kk) {
        const std::uint16_t* r0 = b.row(k0 + 2 * kk) + j0;
        const std::uint16_t* r1 = 2 * kk + 1 < kc ? b.row(k0 + 2 * kk + 1) + j0 : nullptr;
        std::uint16_t* d = dst + kk * 2 * kBf16Nr;
        for (int c = 0; c < kBf16Nr; c += 32) {
          const __mmask32 m = mask32(cols - c);
          const __m512i x = _mm512_maskz_loadu_epi16(m, r0 + c);
          const __m512i y = r1 ? _mm512_maskz_loadu_epi16(m, r1 + c) : _mm512_setzero_si512();
          _mm512_storeu_si512(d + 2 * c, _mm512_permutex2var_epi16(x, lo_idx, y));
          _mm512_storeu_si512(d + 2 * c + 32, _mm512_permutex2var_epi16(x, hi_idx, y));
        }
      }
      return;
    }
    // [N, K] rows: as 32-bit words (one K pair each) the panel is the transpose of B's rows, so
    // whole 16-column × 16-pair blocks go through the 16 × 16 register transpose (needs 4-byte
    // aligned rows); the rest (ragged pairs, the odd element, columns past the blocks) element-wise.
    const I64 kp_full = kc / 2, kp_fast = kp_full / 16 * 16;
    int j_fast = 0;
    for (; j_fast + 16 <= cols && kp_fast > 0; j_fast += 16) {
      const float* rows[16];
      bool aligned = true;
      for (int j = 0; j < 16; ++j) {
        const std::uint16_t* r = b.row(j0 + j_fast + j) + k0;
        aligned = aligned && reinterpret_cast<std::uintptr_t>(r) % 4 == 0;
        rows[j] = reinterpret_cast<const float*>(r);
      }
      if (!aligned) break;
      for (I64 c = 0; c < kp_fast; c += 16)
        SimdAvx512::transpose_block(rows, c, reinterpret_cast<float*>(dst) + c * kBf16Nr + j_fast, kBf16Nr);
    }
    for (int j = 0; j < kBf16Nr; ++j) {
      const std::uint16_t* row = j < cols ? b.row(j0 + j) + k0 : nullptr;
      for (I64 k = j < j_fast ? 2 * kp_fast : 0; k < kc2; ++k)
        dst[(k / 2) * 2 * kBf16Nr + 2 * j + k % 2] = row && k < kc ? row[k] : std::uint16_t{0};
    }
  }

  // As PortableBf16::micro, with vdpbf16ps: 6 rows × 4 vectors of f32 accumulators; each K pair
  // loads the panel's 4 vectors once and broadcasts each row's pair (one 32-bit load) once.
  static void micro(const std::uint16_t* a, I64 kc2, const std::uint16_t* b, float* c, I64 ldc, int rows, int cols,
                    const TileOut& out) {
    __m512 acc[kBf16Mr][4];
    for (int r = 0; r < kBf16Mr; ++r)
      for (int n = 0; n < 4; ++n) acc[r][n] = _mm512_setzero_ps();
    // C's tile is read once, after the K loop, and usually lies outside L2 by then (a 1024-row block
    // of C is 2 MiB): its lines are requested now, so they arrive while the loop runs.
    for (int r = 0; r < rows; ++r)
      for (int n = 0; n < 4; ++n) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + n * 16), _MM_HINT_T0);
    const I64 kcp = kc2 / 2;
    for (I64 kk = 0; kk < kcp; ++kk) {
      __m512bh bv[4];
      for (int n = 0; n < 4; ++n) bv[n] = (__m512bh)_mm512_loadu_si512(b + kk * 2 * kBf16Nr + n * 32);
      for (int r = 0; r < kBf16Mr; ++r) {
        std::uint32_t pair;
        std::memcpy(&pair, a + r * kc2 + 2 * kk, 4);  // one broadcast load after optimisation
        const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(pair));
        for (int n = 0; n < 4; ++n) acc[r][n] = _mm512_dpbf16_ps(acc[r][n], av, bv[n]);
      }
    }
    // TileOut::apply on 16 lanes (masked to the tile's valid columns; the same operations per lane).
    const bool read_c = !out.first || out.beta != 0.0f;
    const __m512 beta = _mm512_set1_ps(out.beta);
    for (int r = 0; r < rows; ++r)
      for (int n = 0; n < 4; ++n) {
        const __mmask16 m = mask16(cols - n * 16);
        float* cp = c + r * ldc + n * 16;
        const __m512 old = read_c ? _mm512_maskz_loadu_ps(m, cp) : _mm512_setzero_ps();
        __m512 t = old;
        if (out.first) {
          t = out.beta == 0.0f ? _mm512_setzero_ps() : _mm512_mul_ps(beta, old);
          if (out.bias) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, out.bias + n * 16));
        }
        _mm512_mask_storeu_ps(cp, m, _mm512_add_ps(t, acc[r][n]));
      }
  }
};

}  // namespace

void gemm_bf16_block_avx512(const GemmBf16Problem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
  gemm_bf16_block_impl<Avx512Bf16>(p, m0, m1, n0, n1);
}

}  // namespace attend::kernels
