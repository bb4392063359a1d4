#include "bench/naive_sdpa.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <limits>

extern "C" void openblas_set_num_threads(int);

namespace attend::bench {

void set_blas_threads(int n) { openblas_set_num_threads(n); }

void naive_sdpa(const float* q, const float* k, const float* v, float* out, std::int64_t heads,
                std::int64_t nq, std::int64_t nk, std::int64_t d, std::int64_t dv, bool causal,
                std::vector<float>& scores) {
  scores.resize(static_cast<std::size_t>(nq * nk));
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (std::int64_t h = 0; h < heads; ++h) {
    const float* qh = q + h * nq * d;
    const float* kh = k + h * nk * d;
    const float* vh = v + h * nk * dv;
    float* oh = out + h * nq * dv;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(nq), static_cast<int>(nk), static_cast<int>(d),
                scale, qh, static_cast<int>(d), kh, static_cast<int>(d), 0.0f, scores.data(), static_cast<int>(nk));
    for (std::int64_t i = 0; i < nq; ++i) {
      float* row = scores.data() + i * nk;
      const std::int64_t visible = causal ? std::min(nk, i + (nk - nq) + 1) : nk;
      float m = -std::numeric_limits<float>::infinity();
      for (std::int64_t j = 0; j < visible; ++j) m = std::max(m, row[j]);
      float l = 0;
      for (std::int64_t j = 0; j < visible; ++j) l += (row[j] = std::exp(row[j] - m));
      const float inv = l > 0 ? 1.0f / l : 0.0f;
      for (std::int64_t j = 0; j < visible; ++j) row[j] *= inv;
      for (std::int64_t j = visible; j < nk; ++j) row[j] = 0;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(nq), static_cast<int>(dv), static_cast<int>(nk),
                1.0f, scores.data(), static_cast<int>(nk), vh, static_cast<int>(dv), 0.0f, oh, static_cast<int>(dv));
  }
}

}  // namespace attend::bench

namespace attend::bench {

void naive_sdpa_backward(const float* q, const float* k, const float* v, const float* out, const float* dout, float* dq,
                         float* dk, float* dv, std::int64_t heads, std::int64_t n, std::int64_t d, bool causal,
                         std::vector<float>& p, std::vector<float>& dp) {
  p.resize(static_cast<std::size_t>(n * n));
  dp.resize(static_cast<std::size_t>(n * n));
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int N = static_cast<int>(n), D = static_cast<int>(d);
  for (std::int64_t h = 0; h < heads; ++h) {
    const std::int64_t o = h * n * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, D, scale, q + o, D, k + o, D, 0.0f, p.data(), N);
    for (std::int64_t i = 0; i < n; ++i) {  // softmax rows (recomputed, as a real naive backward must)
      float* row = p.data() + i * n;
      const std::int64_t vis = causal ? i + 1 : n;
      float m = -std::numeric_limits<float>::infinity(), l = 0;
      for (std::int64_t j = 0; j < vis; ++j) m = std::max(m, row[j]);
      for (std::int64_t j = 0; j < vis; ++j) l += (row[j] = std::exp(row[j] - m));
      for (std::int64_t j = 0; j < vis; ++j) row[j] /= l;
      for (std::int64_t j = vis; j < n; ++j) row[j] = 0;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, D, N, 1.0f, p.data(), N, dout + o, D, 0.0f, dv + o, D);  // dV = Pᵀ dO
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, D, 1.0f, dout + o, D, v + o, D, 0.0f, dp.data(), N);  // dP = dO Vᵀ
    for (std::int64_t i = 0; i < n; ++i) {
      float di = 0;
      for (std::int64_t c = 0; c < d; ++c) di += dout[o + i * d + c] * out[o + i * d + c];
      for (std::int64_t j = 0; j < n; ++j) dp[static_cast<std::size_t>(i * n + j)] = p[static_cast<std::size_t>(i * n + j)] * (dp[static_cast<std::size_t>(i * n + j)] - di);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, N, scale, dp.data(), N, k + o, D, 0.0f, dq + o, D);  // dQ = dS K
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, D, N, scale, dp.data(), N, q + o, D, 0.0f, dk + o, D);    // dK = dSᵀ Q
  }
}

}  // namespace attend::bench
