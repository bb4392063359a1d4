// matvec: validation, the ISA choice and the split over the pool (the bodies are per ISA).
#include "kernels/matvec.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "attend/runtime.h"
#include "core/check.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/matvec_q8.h"

namespace attend::kernels {
namespace {

using I64 = std::int64_t;

void check(const MatvecWeights& w, const float* x, I64 R, const float* y) {
  if (!w.data || !x || !y) detail::fail("matvec", "null pointer (weights, x or y)");
  if (R < 1 || R > kMatvecMaxRows) detail::fail("matvec", "R = ", R, " rows (1..", kMatvecMaxRows, ")");
  if (w.rows < 1 || w.cols < 1) detail::fail("matvec", "weights of shape [", w.rows, ", ", w.cols, "]");
  const bool dense = w.type == GgmlType::f32 || w.type == GgmlType::f16 || w.type == GgmlType::bf16;
  if (!dense && !has_reference_conversion(w.type))
    detail::fail("matvec", "weights of type ", ggml_type_name(w.type), " (no conversion)");
  if (!dense && !w.out_rows) detail::fail("matvec", "block-quantized weights must be stored [O, I]");
  const std::size_t elem = w.type == GgmlType::f32 ? 4 : 2;  // dense rows are read as whole elements
  if (dense && (w.row_stride % elem != 0 || reinterpret_cast<std::uintptr_t>(w.data) % elem != 0))
    detail::fail("matvec", ggml_type_name(w.type), " weights misaligned (data or row stride ", w.row_stride, " bytes not a multiple of ", elem, ")");
  if (w.row_stride < row_bytes(w.type, w.cols))
    detail::fail("matvec", "row stride ", w.row_stride, " bytes is less than a row (", row_bytes(w.type, w.cols), ")");
}

// Output rows per task: enough to amortise a task's start, small enough that two workers balance
// (a multiple of 16 so the [I, O] path's vector loops see whole vectors).
I64 chunk_for(I64 outputs, int workers) {
  const I64 want = outputs / (static_cast<I64>(workers) * 8);
  return std::max<I64>(16, (want + 15) / 16 * 16);
}

// q8_0 rows against x quantized once to int8 blocks (attend/runtime.h: int8_activations).
void matvec_q8(const KernelTable& k, const MatvecWeights& w, const float* x, I64 R, float* y) {
  thread_local std::vector<std::int8_t> q;  // the calling thread's: written here, read by the tasks below
  thread_local std::vector<float> d;
  const I64 I = w.cols, O = w.rows;
  q.resize(static_cast<std::size_t>(R * I));
  d.resize(static_cast<std::size_t>(R * I / 32));
  quantize_activations_q8(x, R, I, q.data(), d.data());
  const Q8Activations xq{q.data(), d.data(), I};
  core::ThreadPool& pool = core::global_pool();
  const I64 chunk = chunk_for(O, pool.size());
  const I64 tasks = (O + chunk - 1) / chunk;
  if (tasks == 1) return k.matvec_q8(w, xq, R, y, 0, O);
  pool.parallel_for(tasks, [&](I64 t, int) { k.matvec_q8(w, xq, R, y, t * chunk, std::min(O, (t + 1) * chunk)); },
                    core::resolve_threads(0));
}

}  // namespace

float* matvec_row_scratch(I64 n) {
  thread_local std::vector<float> buf;  // pool workers are long-lived: allocated once per thread
  if (static_cast<I64>(buf.size()) < n) buf.resize(static_cast<std::size_t>(n));
  return buf.data();
}

void matvec(const MatvecWeights& w, const float* x, I64 R, float* y) {
  check(w, x, R, y);
  const KernelTable& k = active_kernels();
  if (w.type == GgmlType::q8_0 && int8_activations()) return matvec_q8(k, w, x, R, y);
  const MatvecRowsFn fn = w.out_rows ? k.matvec_rows : k.matvec_cols;
  const I64 O = w.out_rows ? w.rows : w.cols;
  core::ThreadPool& pool = core::global_pool();
  const I64 chunk = chunk_for(O, pool.size());
  const I64 tasks = (O + chunk - 1) / chunk;
  if (tasks == 1) return fn(w, x, R, y, 0, O);
  pool.parallel_for(tasks, [&](I64 t, int) { fn(w, x, R, y, t * chunk, std::min(O, (t + 1) * chunk)); },
                    core::resolve_threads(0));
}

void matvec_scalar(const MatvecWeights& w, const float* x, I64 R, float* y) {
  check(w, x, R, y);
  if (w.out_rows) matvec_rows_scalar(w, x, R, y, 0, w.rows);
  else matvec_cols_scalar(w, x, R, y, 0, w.cols);
}

}  // namespace attend::kernels
