// LayerNorm and RMSNorm, forward and backward (statistics in double for stability at large E).
#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "nn/layers.h"

namespace attend::nn {
namespace {

// fn(r) for every row, rows in parallel on attend's pool (each row's statistics are its own, so the
// result does not depend on the split). The backward stays serial: it sums dw and db over rows.
template <class Fn>
void for_rows(std::int64_t R, std::int64_t E, Fn&& fn) {
  const std::int64_t rows = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(E, 1));  // ≥ 64 KiB a task
  const std::int64_t tasks = (R + rows - 1) / rows;
  if (tasks <= 1) {
    for (std::int64_t r = 0; r < R; ++r) fn(r);
    return;
  }
  core::global_pool().parallel_for(tasks, [&](std::int64_t t, int) {
    for (std::int64_t r = t * rows; r < std::min(R, (t + 1) * rows); ++r) fn(r);
  }, core::resolve_threads(0));
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
  for (std::int64_t r = 0; r < R; ++r) {
    const float* xr = x + r * E;
    const float* d = dout + r * E;
    double gm = 0, gx = 0;
    for (std::int64_t e = 0; e < E; ++e) {
      const float xh = (xr[e] - mean[r]) * rstd[r];
      const float g = d[e] * w[e];
      gm += g;
      gx += g * xh;
      dw[e] += d[e] * xh;
      if (db) db[e] += d[e];
    }
    gm /= static_cast<double>(E);
    gx /= static_cast<double>(E);
    for (std::int64_t e = 0; e < E; ++e) {
      const float xh = (xr[e] - mean[r]) * rstd[r];
      dx[r * E + e] += rstd[r] * (d[e] * w[e] - static_cast<float>(gm) - xh * static_cast<float>(gx));
    }
  }
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
  for (std::int64_t r = 0; r < R; ++r) {
    const float* xr = x + r * E;
    const float* d = dout + r * E;
    double gx = 0;
    for (std::int64_t e = 0; e < E; ++e) {
      const float xh = xr[e] * rstd[r];
      gx += d[e] * w[e] * xh;
      dw[e] += d[e] * xh;
    }
    gx /= static_cast<double>(E);
    for (std::int64_t e = 0; e < E; ++e)
      dx[r * E + e] += rstd[r] * (d[e] * w[e] - xr[e] * rstd[r] * static_cast<float>(gx));
  }
}

}  // namespace attend::nn
