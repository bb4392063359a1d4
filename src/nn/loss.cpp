// Softmax cross-entropy over the vocabulary, fused with its gradient: rows in parallel on attend's
// pool, the exponentials by the kernels' vector exp2 (the double-precision std::exp per logit was
// the slowest loop of a large-vocabulary step), each row's loss summed in double.
#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "nn/layers.h"

namespace attend::nn {
namespace {

constexpr float kLog2e = 1.4426950408889634f;
constexpr std::int64_t kRowsPerTask = 8;

}  // namespace

// logits, dlogits: [R, V]; targets: [R] (−1 ignored)
double crossentropy_forward_backward(float* dlogits, const float* logits, const std::int32_t* targets,
                                     std::int64_t R, std::int64_t V, float grad_scale, std::int64_t* counted) {
  std::vector<double> row_loss(static_cast<std::size_t>(R), 0.0);
  const kernels::Exp2ArrayFn exp2_array = kernels::active_kernels().exp2_array;
  core::parallel_ranges(R, kRowsPerTask, [&](std::int64_t r0, std::int64_t r1) {
    thread_local std::vector<float> e;  // 2^((l − max)·log2 e) of one row
    e.resize(static_cast<std::size_t>(V));
    for (std::int64_t r = r0; r < r1; ++r) {
      const float* l = logits + r * V;
      float* d = dlogits ? dlogits + r * V : nullptr;
      const std::int32_t target = targets[r];
      if (target < 0) {
        if (d) std::fill(d, d + V, 0.0f);
        continue;
      }
      float m = -std::numeric_limits<float>::infinity();
      for (std::int64_t v = 0; v < V; ++v) m = l[v] > m ? l[v] : m;
      for (std::int64_t v = 0; v < V; ++v) e[static_cast<std::size_t>(v)] = (l[v] - m) * kLog2e;
      exp2_array(e.data(), e.data(), V);
      double sum = 0;
      for (std::int64_t v = 0; v < V; ++v) sum += e[static_cast<std::size_t>(v)];
      row_loss[static_cast<std::size_t>(r)] = m + std::log(sum) - l[target];  // read before d overwrites an aliased l
      if (d) {
        const float scale = static_cast<float>(grad_scale / sum);
        for (std::int64_t v = 0; v < V; ++v) d[v] = e[static_cast<std::size_t>(v)] * scale;
        d[target] -= grad_scale;  // p − onehot
      }
    }
  });
  double total = 0;
  std::int64_t n = 0;
  for (std::int64_t r = 0; r < R; ++r)
    if (targets[r] >= 0) {
      total += row_loss[static_cast<std::size_t>(r)];
      ++n;
    }
  if (counted) *counted = n;
  return total;
}

}  // namespace attend::nn
