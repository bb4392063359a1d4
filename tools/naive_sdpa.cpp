#include "naive_sdpa.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

extern "C" void openblas_set_num_threads(int);

namespace attend::cli {

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

}  // namespace attend::cli
