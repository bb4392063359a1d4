#pragma once
// How attend's matrix products (kernels::gemm, kernels::gemm_bf16) split C over the pool: columns
// in blocks of kGemmColumnBlock; rows too only when that leaves fewer than two tasks per worker
// (each row block packs B's slices again), at multiples of the 6-row micro-tile, so every element
// of C is computed by the same operations whatever the split: the result ignores the thread count.
#include <cstdint>
#include <functional>

namespace attend::kernels {

inline constexpr std::int64_t kGemmColumnBlock = 512;  // a multiple of every path's micro-tile width

// block(m0, m1, n0, n1) for disjoint blocks covering C [M, N], on up to `threads` pool workers
// (0 = attend::num_threads()); products of fewer than ~2 MFLOP run on the caller.
void for_gemm_blocks(std::int64_t M, std::int64_t N, std::int64_t K, int threads,
                     const std::function<void(std::int64_t, std::int64_t, std::int64_t, std::int64_t)>& block);

}  // namespace attend::kernels
