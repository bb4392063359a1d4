// matmul_weight: the product of activations with a stored weight. Up to kMatvecMaxRows rows
// (decode) go to the matvec kernels, which read W in place in its stored type; more rows: f32
// straight to OpenBLAS, bf16, f16 and quantized blocks converted to f32 a panel of rows at a time,
// then OpenBLAS (never an f32 copy of the whole matrix).
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "kernels/matvec.h"
#include "nn/weight.h"

namespace attend::nn {
namespace {

using I64 = std::int64_t;
int i32(I64 v) { return static_cast<int>(v); }

constexpr I64 kPanelRows = 64;  // rows converted at a time: 64 × 8192 f32 = 2 MiB of scratch at most

// The calling thread's conversion scratch (pool workers are long-lived, so it is reused).
float* scratch(std::size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// dst[n_rows, cols] = rows r0 .. r0 + n_rows of W as dense f32
void convert_rows(const WeightView& w, I64 r0, I64 n_rows, float* dst) {
  for (I64 r = 0; r < n_rows; ++r) weight_row(w, r0 + r, dst + r * w.cols);
}

// W as the matvec kernels read it (stored type and rows in place); false for a dtype they lack.
bool as_matvec(const WeightView& w, kernels::MatvecWeights& m) {
  if (w.quantized()) m.type = w.quant;
  else if (w.dtype == DType::f32) m.type = GgmlType::f32;
  else if (w.dtype == DType::bf16) m.type = GgmlType::bf16;
  else if (w.dtype == DType::f16) m.type = GgmlType::f16;
  else return false;
  m.data = w.data;
  m.rows = w.rows;
  m.cols = w.cols;
  m.row_stride = w.row_stride();
  m.row_map = w.row_map;
  m.out_rows = w.out_rows;
  return true;
}

}  // namespace

// x: [R, I], W: [O, I] (out_rows) or [I, O], y: [R, O], b: [O]
void matmul_weight(const float* x, I64 R, const WeightView& w, float* y, const float* b) {
  const I64 I = w.in(), O = w.out();
  ATTEND_ASSERT(w.data != nullptr && w.ld >= w.cols && R >= 0);
  if (R == 0 || O == 0) return;
  if (b)  // y starts as the bias and the products accumulate onto it
    for (I64 r = 0; r < R; ++r) std::memcpy(y + r * O, b, static_cast<std::size_t>(O) * sizeof(float));
  // Decode (a few rows): the matvec kernels read W in its stored type, in place, over the pool
  // (sgemm would pack W's panels for one row: ~40 % of decode time; measured in issue 24).
  kernels::MatvecWeights mv;
  if (R <= kernels::kMatvecMaxRows && as_matvec(w, mv)) {
    if (!b) std::fill(y, y + R * O, 0.0f);
    kernels::matvec(mv, x, R, y);
    return;
  }
  if (w.dtype == DType::f32 && w.dense_in_place()) {  // stored f32: OpenBLAS reads the weight in place
    const auto* W = static_cast<const float*>(w.data);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, w.out_rows ? CblasTrans : CblasNoTrans, i32(R), i32(O), i32(I), 1.0f, x, i32(I), W,
                i32(w.ld), b ? 1.0f : 0.0f, y, i32(O));
    return;
  }
  if (!b) std::fill(y, y + R * O, 0.0f);
  const I64 panels = (w.rows + kPanelRows - 1) / kPanelRows;
  // Otherwise panel by panel on this thread, each product through OpenBLAS (which threads itself).
  for (I64 p = 0; p < panels; ++p) {
    const I64 r0 = p * kPanelRows, n = std::min(kPanelRows, w.rows - r0);
    float* panel = scratch(static_cast<std::size_t>(n * w.cols));
    convert_rows(w, r0, n, panel);
    if (w.out_rows)  // y[:, r0 : r0 + n] += x · panelᵀ, panel [n, I]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i32(R), i32(n), i32(I), 1.0f, x, i32(I), panel, i32(I), 1.0f, y + r0,
                  i32(O));
    else  // y += x[:, r0 : r0 + n] · panel, panel [n, O]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i32(R), i32(O), i32(n), 1.0f, x + r0, i32(I), panel, i32(O), 1.0f, y,
                  i32(O));
  }
}

void weight_row(const WeightView& w, I64 r, float* out) {
  ATTEND_ASSERT(r >= 0 && r < w.rows);
  if (w.quantized()) dequantize_row(w.quant, w.row(r), out, w.cols);
  else convert_to_f32(w.row(r), w.dtype, out, static_cast<std::size_t>(w.cols));
}

}  // namespace attend::nn
