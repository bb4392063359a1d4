#pragma once
// Weight matrices in their stored dtype (f32, bf16, f16, or ggml quantized blocks such as q8_0;
// mapped from a checkpoint or owned), and
// the one product every layer of the model uses with them: matmul_weight. A later performance
// task replaces its body with fast mixed-precision kernels; nothing else multiplies by a weight.
//
// Shape letters: R rows of activations, I input width, O output width.
#include <cstdint>

#include "attend/dtype.h"
#include "attend/quant.h"

namespace attend::nn {

// A stored matrix: `rows` rows of `cols` elements of `dtype`, row r at data + r·ld elements
// (ld > cols for a column slice of a wider matrix, e.g. GPT-2's fused c_attn). Owns nothing.
struct WeightView {
  const void* data = nullptr;
  DType dtype = DType::f32;
  std::int64_t rows = 0, cols = 0, ld = 0;
  bool out_rows = false;  // true: W is [O, I] (nn.Linear, embedding tables); false: [I, O] (x·W)
  // Block-quantized rows (GGUF): quant != f32 means each row is row_bytes(quant, ld) bytes of ggml
  // blocks (dtype is then unused); only whole rows (ld == cols) of [O, I] matrices and tables.
  GgmlType quant = GgmlType::f32;
  // Logical row r is stored row row_map[r] (a row permutation undone without copying: llama.cpp's
  // Q/K rows for RoPE); null: the identity. Owned by the model.
  const std::int32_t* row_map = nullptr;
  // bf16 weights only: products of more than 16 rows (prefill, not decode's few rows) round the
  // activations to bf16 (round to nearest even) and run kernels::gemm_bf16 (vdpbf16ps, f32 accumulation), as
  // torch's bf16 matmul and llama.cpp do; about twice the f32 path's speed, relative error ~2^-9
  // per activation. false (the default): activations stay f32 (exact products of the stored values).
  // Decode's few-row products (the matvec kernels) keep f32 activations either way.
  bool bf16_activations = false;

  std::int64_t in() const { return out_rows ? cols : rows; }
  std::int64_t out() const { return out_rows ? rows : cols; }
  bool quantized() const { return quant != GgmlType::f32; }
  bool dense_in_place() const { return !quantized() && row_map == nullptr; }  // BLAS may read it as it is
  std::size_t row_stride() const {  // bytes from one stored row to the next
    return quantized() ? row_bytes(quant, ld) : static_cast<std::size_t>(ld) * dtype_size(dtype);
  }
  const void* row(std::int64_t r) const {
    const std::int64_t s = row_map ? row_map[r] : r;
    return static_cast<const char*>(data) + static_cast<std::size_t>(s) * row_stride();
  }
};

// y[R, O] = x[R, I] · W (+ b[O]; b may be null), products accumulated in f32 whatever W's dtype.
// x and y are dense row-major f32 and must not overlap. Any thread may call it; bf16/f16 weights
// are converted a panel of rows at a time into the calling worker's own scratch, except bf16
// weights with bf16_activations (then x is rounded to bf16 and W read as bf16: kernels::gemm_bf16).
void matmul_weight(const float* x, std::int64_t R, const WeightView& w, float* y, const float* b = nullptr);

// out[cols] = row r of W as f32 (embedding lookups; a quantized row is dequantized block by block).
void weight_row(const WeightView& w, std::int64_t r, float* out);

}  // namespace attend::nn
