// LayerNorm and RMSNorm, forward and backward (statistics in double for stability at large E).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "nn/layers.h"

namespace attend::nn {
namespace {

// Rows per task: ≥ 64 KiB of each array, above a pool hand-off's cost.
std::int64_t row_grain(std::int64_t E) { return std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(E, 1)); }

// fn(r) for every row, rows in parallel on attend's pool (each row's statistics are its own, so the
// result does not depend on the split).
template <class Fn>
void for_rows(std::int64_t R, std::int64_t E, Fn&& fn) {
  core::parallel_ranges(R, row_grain(E), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t r = b; r < e; ++r) fn(r);
  });
}

// The backward's weight gradients are sums over rows: each block of rows (fixed by R and E, not by
// the thread count) sums into its own row of `partial` [blocks, E] while its dx rows are written in
// parallel; fn(r, dw_part, db_part) handles row r. The blocks' partial sums are then added in block
// order, so the result is the same with any number of threads.
template <class Fn>
void for_rows_summing(std::int64_t R, std::int64_t E, float* dw, float* db, Fn&& fn) {
  const std::int64_t grain = row_grain(E), blocks = (R + grain - 1) / grain;
  thread_local std::vector<float> partial;  // [blocks, 2, E]: dw's and db's sums per block
  partial.assign(static_cast<std::size_t>(blocks * 2 * E), 0.0f);
  float* part = partial.data();
  core::parallel_ranges(R, grain, [&](std::int64_t b, std::int64_t e) {
    float* pw = part + (b / grain) * 2 * E;
    for (std::int64_t r = b; r < e; ++r) fn(r, pw, pw + E);
  });
  for (std::int64_t k = 0; k < blocks; ++k)
    for (std::int64_t i = 0; i < E; ++i) {
      dw[i] += part[k * 2 * E + i];
      if (db) db[i] += part[k * 2 * E + E + i];
    }
}

}  // namespace

// x, out: [R, E]; w, b: [E]; mean, rstd: [R]
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, std::int64_t R, std::int64_t E, float eps) {
  for_rows(R, E, [&](std::int64_t r) {
    const float* xr = x + r * E;
    double m = 0, v = 0;
    for (std::int64_t e = 0; e < E; ++e) m += xr[e];
    m /= static_cast<double>(E);
    for (std::int64_t e = 0; e < E; ++e) v += (xr[e] - m) * (xr[e] - m);
    v /= static_cast<double>(E);
    const float s = static_cast<float>(1.0 / std::sqrt(v + eps)), mf = static_cast<float>(m);
    float* o = out + r * E;
    for (std::int64_t e = 0; e < E; ++e) o[e] = (xr[e] - mf) * s * w[e] + (b ? b[e] : 0.0f);
    mean[r] = mf;
    rstd[r] = s;
  });
}

// dx += rstd · (g − mean(g) − x̂ · mean(g · x̂)) with g = dout · w, x̂ the normalised input.
void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x,
                        const float* w, const float* mean, const float* rstd, std::int64_t R, std::int64_t E) {
  for_rows_summing(R, E, dw, db, [&](std::int64_t r, float* dw_part, float* db_part) {
    const float* xr = x + r * E;
    const float* d = dout + r * E;
    double gm = 0, gx = 0;
    for (std::int64_t e = 0; e < E; ++e) {
      const float xh = (xr[e] - mean[r]) * rstd[r];
      const float g = d[e] * w[e];
      gm += g;
      gx += g * xh;
      dw_part[e] += d[e] * xh;
      db_part[e] += d[e];
    }
    gm /= static_cast<double>(E);
    gx /= static_cast<double>(E);
    for (std::int64_t e = 0; e < E; ++e) {
      const float xh = (xr[e] - mean[r]) * rstd[r];
      dx[r * E + e] += rstd[r] * (d[e] * w[e] - static_cast<float>(gm) - xh * static_cast<float>(gx));
    }
  });
}

// x, out: [R, E]; w: [E]; rstd: [R]
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, std::int64_t R,
                     std::int64_t E, float eps) {
  for_rows(R, E, [&](std::int64_t r) {
    const float* xr = x + r * E;
    double ss = 0;
    for (std::int64_t e = 0; e < E; ++e) ss += static_cast<double>(xr[e]) * xr[e];
    const float s = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(E) + eps));
    for (std::int64_t e = 0; e < E; ++e) out[r * E + e] = xr[e] * s * w[e];
    rstd[r] = s;
  });
}

// dx += rstd · (g − x̂ · mean(g · x̂)), g = dout · w.
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, std::int64_t R, std::int64_t E) {
  for_rows_summing(R, E, dw, nullptr, [&](std::int64_t r, float* dw_part, float*) {
    const float* xr = x + r * E;
    const float* d = dout + r * E;
    double gx = 0;
    for (std::int64_t e = 0; e < E; ++e) {
      const float xh = xr[e] * rstd[r];
      gx += d[e] * w[e] * xh;
      dw_part[e] += d[e] * xh;
    }
    gx /= static_cast<double>(E);
    for (std::int64_t e = 0; e < E; ++e)
      dx[r * E + e] += rstd[r] * (d[e] * w[e] - xr[e] * rstd[r] * static_cast<float>(gx));
  });
}

}  // namespace attend::nn
