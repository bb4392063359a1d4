#pragma once
// Capture thumbnails (attend/capture.h, CaptureSink::thumb_columns) folded into the forward
// kernel's softmax pass: per query row, the weights pooled over C column bins (key j in bin
// ⌊j·C/Nk⌋), sum and max, kept relative to the running max like the softmax itself:
//   bin b holds sum_b = Σ e_j and max_b = max e_j with e_j = 2^(s_j − ref_b), ref_b the running max
//   when the bin was last touched; a later, larger max m' rescales them by 2^(ref_b − m') first.
//   At the end p = 2^(s − m)/l, so sum_b, max_b ← · 2^(ref_b − m)/l.
// A row's scratch is [sum | max | ref] × C floats; never Nq x Nk.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace attend::kernels {
namespace {

inline void thumb_row_init(float* bins, std::int64_t c) {
  std::fill(bins, bins + 2 * c, 0.0f);
  std::fill(bins + 2 * c, bins + 3 * c, -INFINITY);
}

// e: the tile's weights 2^(s_j − m) for keys j0 .. j0 + kn − 1 (0 where masked); c bins over nk keys.
// Scalar: one add and one max per key (the bins do not align with vectors); only when thumbnails are on.
inline void thumb_add(float* bins, std::int64_t c, const float* e, std::int64_t kn, std::int64_t j0, std::int64_t nk, float m) {
  float *sum = bins, *mx = bins + c, *ref = bins + 2 * c;
  std::int64_t j = 0;
  while (j < kn) {
    const std::int64_t b = (j0 + j) * c / nk;
    const std::int64_t next = ((b + 1) * nk + c - 1) / c;  // first key of bin b + 1
    const std::int64_t end = std::min(kn, next - j0);
    if (ref[b] != m) {  // ref ≤ m always (the running max only grows)
      const float a = ref[b] == -INFINITY ? 0.0f : std::exp2(ref[b] - m);
      sum[b] *= a;
      mx[b] *= a;
      ref[b] = m;
    }
    float s = 0, x = mx[b];
    for (; j < end; ++j) {
      s += e[j];
      x = std::max(x, e[j]);
    }
    sum[b] += s;
    mx[b] = x;
  }
}

// m, l: the row's final running max (log2 units) and softmax sum. Leaves sum and max as weights.
inline void thumb_finish(float* bins, std::int64_t c, float m, float l) {
  float *sum = bins, *mx = bins + c, *ref = bins + 2 * c;
  const float inv = l > 0 ? 1.0f / l : 0.0f;
  for (std::int64_t b = 0; b < c; ++b) {
    const float a = (ref[b] == -INFINITY || !(l > 0)) ? 0.0f : std::exp2(ref[b] - m) * inv;
    sum[b] *= a;
    mx[b] *= a;
  }
}

}  // namespace
}  // namespace attend::kernels
