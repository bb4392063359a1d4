#pragma once
// The naive peer that benchmarks compare against, in the same process: per (batch, head),
// S = Q·Kᵀ with OpenBLAS sgemm, a row softmax over the full Nq x Nk matrix, O = P·V with sgemm.
// This is what "just use BLAS" costs, including writing the N x N matrix.
#include <cstdint>
#include <vector>

namespace attend::bench {

// q [Nq, D], k [Nk, D], v [Nk, Dv], out [Nq, Dv] for `heads` heads stored head after head;
// scores: caller-owned scratch of Nq*Nk floats (reused across heads).
void naive_sdpa(const float* q, const float* k, const float* v, float* out, std::int64_t heads,
                std::int64_t nq, std::int64_t nk, std::int64_t d, std::int64_t dv, bool causal,
                std::vector<float>& scores);
void set_blas_threads(int n);

}  // namespace attend::bench

namespace attend::bench {

// Naive backward of the same peer (per head: recompute P with sgemm + softmax, then five sgemms
// through the full Nq x Nk matrices). p, dp: caller-owned scratch of Nq*Nk floats each.
void naive_sdpa_backward(const float* q, const float* k, const float* v, const float* out, const float* dout, float* dq,
                         float* dk, float* dv, std::int64_t heads, std::int64_t n, std::int64_t d, bool causal,
                         std::vector<float>& p, std::vector<float>& dp);

}  // namespace attend::bench
