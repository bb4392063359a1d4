// matmul_weight: the product of activations with a stored weight.
// - Up to kMatvecMaxRows rows (decode), and up to kBatchDecodeRows for weights not stored as f32
//   (a batch of decoded sequences, kMatvecMaxRows rows per pass): the matvec kernels, which read W
//   in place in its stored type.
// - More rows: f32 straight to kernels::sgemm; bf16, f16 and quantized blocks converted to f32 a
//   panel of rows at a time, then kernels::sgemm (never an f32 copy of the whole matrix); bf16 with
//   bf16_activations: kernels::gemm_bf16 (activations rounded to bf16, W packed from its stored
//   rows, f32 accumulation).
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/matvec.h"
#include "nn/weight.h"

namespace attend::nn {
namespace {

using I64 = std::int64_t;

constexpr I64 kBatchDecodeRows = 16;  // up to this many rows, non-f32 weights go through matvec passes
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

// y [R, O] = the bias on every row, or zeros.
void set_rows_to_bias(float* y, I64 R, I64 O, const float* b) {
  if (!b) {
    std::fill(y, y + R * O, 0.0f);
    return;
  }
  for (I64 r = 0; r < R; ++r) std::memcpy(y + r * O, b, static_cast<std::size_t>(O) * sizeof(float));
}

}  // namespace

// x: [R, I], W: [O, I] (out_rows) or [I, O], y: [R, O], b: [O]
void matmul_weight(const float* x, I64 R, const WeightView& w, float* y, const float* b) {
  const I64 I = w.in(), O = w.out();
  ATTEND_ASSERT(w.data != nullptr && w.ld >= w.cols && R >= 0);
  if (R == 0 || O == 0) return;
  // Decode (a few rows): the matvec kernels read W in its stored type, in place, over the pool
  // (sgemm would pack W's panels for one row: ~40 % of decode time; measured in issue 24).
  kernels::MatvecWeights mv;
  if (R <= kernels::kMatvecMaxRows && as_matvec(w, mv)) {
    set_rows_to_bias(y, R, O, b);
    kernels::matvec(mv, x, R, y);
    return;
  }
  // A batch of decoded sequences (5..16 rows) over weights not stored as f32: the matvec kernels,
  // kMatvecMaxRows rows per pass over W, instead of converting all of W to f32 for a GEMM (for
  // q8_0 GPT-2, 8 sequences stepped at 78 tokens/s that way against 134 for 4 in one pass).
  if (R <= kBatchDecodeRows && !(w.dtype == DType::f32 && !w.quantized()) && as_matvec(w, mv)) {
    set_rows_to_bias(y, R, O, b);
    for (I64 r0 = 0; r0 < R; r0 += kernels::kMatvecMaxRows) {
      const I64 n = std::min(kernels::kMatvecMaxRows, R - r0);
      kernels::matvec(mv, x + r0 * I, n, y + r0 * O);  // y rows [r0, r0 + n): x and y rows are contiguous
    }
    return;
  }
  if (w.dtype == DType::bf16 && w.bf16_activations && !w.quantized()) {  // vdpbf16ps from the stored rows
    kernels::GemmBf16Problem p;
    p.M = R, p.N = O, p.K = I, p.a = x, p.lda = I, p.c = y, p.ldc = O, p.bias = b;
    p.b = {static_cast<const std::uint16_t*>(w.data), w.ld, w.out_rows, w.row_map};
    kernels::gemm_bf16(p);
    return;
  }
  const kernels::Op op_w = w.out_rows ? kernels::Op::transpose : kernels::Op::none;
  if (w.dtype == DType::f32 && w.dense_in_place()) {  // stored f32: the product reads the weight in place
    kernels::sgemm(kernels::Op::none, op_w, R, O, I, 1.0f, x, I, static_cast<const float*>(w.data), w.ld, 0.0f, y, O, 0, b);
    return;
  }
  set_rows_to_bias(y, R, O, b);  // the panels' products accumulate onto it
  const I64 panels = (w.rows + kPanelRows - 1) / kPanelRows;
  if (w.out_rows) {
    // Each panel of output rows writes its own columns of y: the panels run in parallel, each
    // converted and multiplied on one pool thread (its conversion stays in that core's cache).
    core::global_pool().parallel_for(panels, [&](I64 p, int) {
      const I64 r0 = p * kPanelRows, n = std::min(kPanelRows, w.rows - r0);
      float* panel = scratch(static_cast<std::size_t>(n * w.cols));
      convert_rows(w, r0, n, panel);  // y[:, r0 : r0 + n] += x · panelᵀ, panel [n, I]
      kernels::sgemm(kernels::Op::none, kernels::Op::transpose, R, n, I, 1.0f, x, I, panel, I, 1.0f, y + r0, O, 1);
    }, core::resolve_threads(0));
    return;
  }
  // Panels of input rows all add onto y: one after another, each product split over the pool.
  for (I64 p = 0; p < panels; ++p) {
    const I64 r0 = p * kPanelRows, n = std::min(kPanelRows, w.rows - r0);
    float* panel = scratch(static_cast<std::size_t>(n * w.cols));
    convert_rows(w, r0, n, panel);  // y += x[:, r0 : r0 + n] · panel, panel [n, O]
    kernels::sgemm(kernels::Op::none, kernels::Op::none, R, O, n, 1.0f, x + r0, I, panel, O, 1.0f, y, O);
  }
}

void weight_row(const WeightView& w, I64 r, float* out) {
  ATTEND_ASSERT(r >= 0 && r < w.rows);
  if (w.quantized()) dequantize_row(w.quant, w.row(r), out, w.cols);
  else convert_to_f32(w.row(r), w.dtype, out, static_cast<std::size_t>(w.cols));
}

}  // namespace attend::nn
