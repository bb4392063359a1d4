#pragma once
// attend's bf16 matrix product for the model runtime's prefill with bf16 weights: f32 activations
// rounded to bf16 (round to nearest even, attend::f32_to_bf16) while they are packed, times a
// stored bf16 weight read from its own rows, products accumulated in f32 — what torch's bf16
// matmul and llama.cpp do. On the avx512 path (whose detection requires AVX512-BF16) the tile
// products are vdpbf16ps over K-pair-interleaved panels, as in the bf16 attention kernels
// (forward_bf16.h); the avx2 and scalar paths compute the same definition portably (a reference,
// not fast). vdpbf16ps treats bf16 subnormals as zero and flushes subnormal results; the portable
// paths do not (a difference below 1e-38 in absolute terms).
//
// Shape letters as kernels::gemm: M rows of C, N columns of C, K the summed index.
#include <cstdint>

namespace attend::kernels {

// A stored bf16 matrix used as op(B) [K, N]. Logical row r is stored row row_map[r] (null: r), at
// data + stored_row · ld elements.
//   out_rows = true:  stored [N, K] (nn.Linear, Hugging Face, embedding tables): B(k, j) = row j, element k
//   out_rows = false: stored [K, N] (x · W):                                   B(k, j) = row k, element j
struct Bf16Matrix {
  const std::uint16_t* data = nullptr;
  std::int64_t ld = 0;
  bool out_rows = false;
  const std::int32_t* row_map = nullptr;
  const std::uint16_t* row(std::int64_t r) const { return data + (row_map ? row_map[r] : r) * ld; }
};

// C[M, N] (row stride ldc) = beta · C + bias[N] (on every row, when given) + bf16(A[M, K]) · op(B),
// A f32 with row stride lda. beta = 0 ignores C's old values (NaN included), as BLAS does.
struct GemmBf16Problem {
  std::int64_t M = 0, N = 0, K = 0;
  const float* a = nullptr;
  std::int64_t lda = 0;
  Bf16Matrix b;
  float beta = 0.0f;
  float* c = nullptr;
  std::int64_t ldc = 0;
  const float* bias = nullptr;
};

// One block of C, rows [m0, m1) and columns [n0, n1), over all of K, on the calling thread (its
// packing scratch is per thread). Bodies: gemm_bf16_avx512.cpp (vdpbf16ps), gemm_bf16_avx2.cpp and
// gemm_bf16_scalar.cpp (portable), over the shared driver of gemm_bf16_impl.h.
using GemmBf16BlockFn = void (*)(const GemmBf16Problem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1);
void gemm_bf16_block_scalar(const GemmBf16Problem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1);
void gemm_bf16_block_avx2(const GemmBf16Problem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1);
void gemm_bf16_block_avx512(const GemmBf16Problem& p, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1);

// The whole product on the active path over `threads` pool workers (0 = attend::num_threads()),
// each computing disjoint blocks of C: the result does not depend on the thread count or timing.
// Arguments are checked (attend::Error naming "gemm_bf16" and the bad value):
//   A: [M, K] f32, row stride lda >= K
//   B: op(B) [K, N] bf16 (see Bf16Matrix), ld >= its stored row (K when out_rows, else N)
//   C: [M, N] f32, row stride ldc >= N;  bias: [N] or null
void gemm_bf16(const GemmBf16Problem& p, int threads = 0);

}  // namespace attend::kernels
