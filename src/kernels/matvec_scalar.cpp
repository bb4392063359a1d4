// matvec on the scalar path: rows widened to f32 by the reference conversion (dequantize_row, which
// also covers f32, f16 and bf16), then plain loops.
#include "attend/dtype.h"
#include "kernels/matvec.h"

namespace attend::kernels {

using I64 = std::int64_t;

// y: [R, O], x: [R, I], W: [O, I]; outputs o0..o1
void matvec_rows_scalar(const MatvecWeights& w, const float* x, I64 R, float* y, I64 o0, I64 o1) {
  const I64 I = w.cols, O = w.rows;
  float* wr = matvec_row_scratch(I);
  for (I64 o = o0; o < o1; ++o) {
    dequantize_row(w.type, w.row(o), wr, I);
    for (I64 r = 0; r < R; ++r) {
      double s = 0;  // the reference accumulates in double
      for (I64 i = 0; i < I; ++i) s += static_cast<double>(wr[i]) * x[r * I + i];
      y[r * O + o] += static_cast<float>(s);
    }
  }
}

// y: [R, O], x: [R, I], W: [I, O]; outputs o0..o1 (row i's slice widened, then y += x[r, i]·slice)
void matvec_cols_scalar(const MatvecWeights& w, const float* x, I64 R, float* y, I64 o0, I64 o1) {
  const I64 I = w.rows, O = w.cols, n = o1 - o0;
  const std::size_t elem = w.type == GgmlType::f32 ? 4 : 2;  // dense types only ([I, O] is never blocks)
  float* slice = matvec_row_scratch(n);
  for (I64 i = 0; i < I; ++i) {
    dequantize_row(w.type, static_cast<const char*>(w.row(i)) + static_cast<std::size_t>(o0) * elem, slice, n);
    for (I64 r = 0; r < R; ++r) {
      const float xi = x[r * I + i];
      float* yr = y + r * O + o0;
      for (I64 j = 0; j < n; ++j) yr[j] += xi * slice[j];
    }
  }
}

}  // namespace attend::kernels
