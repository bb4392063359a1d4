#pragma once
// The model's layers as llm.c-style free-function pairs: `*_forward` computes and `*_backward`
// accumulates (+=) parameter gradients and writes (=) or accumulates input gradients as stated.
//
// Shape letters: R rows (= B·T tokens of a batch), E model width, I/O a linear's input/output width,
// V vocabulary, T sequence length, H heads, D head size, F MLP width. All buffers are f32 row-major.
#include <cstdint>
#include <vector>

#include "attend/model.h"
#include "nn/weight.h"

namespace attend::nn {

// out[R, E] = wte[tok[r], :] + wpe[r % T, :] (wpe may be null: no learned positions).
void embedding_forward(float* out, const std::int32_t* tok, const float* wte, const float* wpe,
                       std::int64_t R, std::int64_t T, std::int64_t E);
// dwte[tok[r], :] += dout[r, :]; dwpe[r % T, :] += dout[r, :].
// The same over stored tables (any dtype): out[R, E] = wte[tok[r], :] + wpe[pos0 + r % T, :]
// (wpe.data null: no learned positions).
void embedding_forward(float* out, const std::int32_t* tok, const WeightView& wte, const WeightView& wpe, std::int64_t pos0,
                       std::int64_t R, std::int64_t T);
void embedding_backward(float* dwte, float* dwpe, const float* dout, const std::int32_t* tok,
                        std::int64_t R, std::int64_t T, std::int64_t E);

// LayerNorm: out = (x − mean) · rstd · w + b (b may be null). mean, rstd: [R] saved for backward.
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, std::int64_t R, std::int64_t E, float eps);
// dx += …, dw += …, db += … (db may be null).
void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x,
                        const float* w, const float* mean, const float* rstd, std::int64_t R, std::int64_t E);

// RMSNorm: out = x · rstd · w, rstd = 1/sqrt(mean(x²) + eps). rstd: [R].
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, std::int64_t R,
                     std::int64_t E, float eps);
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, std::int64_t R, std::int64_t E);

// Linear (x·W convention, kernels::sgemm): out[R, O] = x[R, I] · w[I, O] + b[O] (b may be null).
void linear_forward(float* out, const float* x, const float* w, const float* b, std::int64_t R,
                    std::int64_t I, std::int64_t O);
// dx[R, I] += dout · wᵀ (dx may be null; dx_accumulates = false: dx = dout · wᵀ, its old values
// ignored, which saves zeroing it first); dw[I, O] += xᵀ · dout; db[O] += Σ_r dout.
void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                     std::int64_t R, std::int64_t I, std::int64_t O, bool dx_accumulates = true);

// Rotary position embedding, in place, on x[R, H, D] viewed as [B, T, H, D]; position of row r is
// pos0 + r % T. Pairs (c, c + D/2) rotate by angle pos · base^(−2c/D) (GPT-NeoX layout).
// inverse = true rotates by the negative angle (that is the backward: the map is orthogonal).
void rope_apply(float* x, std::int64_t R, std::int64_t T, std::int64_t H, std::int64_t D,
                std::int64_t pos0, float base, bool inverse);
// The same with the inverse frequencies given: pair c rotates by pos · inv_freq[c] (inv_freq [D/2]).
void rope_apply(float* x, std::int64_t R, std::int64_t T, std::int64_t H, std::int64_t D,
                std::int64_t pos0, const double* inv_freq, bool inverse);
// inv_freq[c] = rope_base^(−2c/D) for c < D/2, then config.rope_scaling applied (model.h).
std::vector<double> rope_frequencies(const ModelConfig& c);

// GELU (tanh approximation, as GPT-2): out = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
void gelu_forward(float* out, const float* x, std::int64_t n);
void gelu_backward(float* dx, const float* x, const float* dout, std::int64_t n);  // dx += …

// SwiGLU gate: out = silu(g) · u, silu(g) = g·σ(g).
void swiglu_forward(float* out, const float* g, const float* u, std::int64_t n);
void swiglu_backward(float* dg, float* du, const float* dout, const float* g, const float* u,
                     std::int64_t n);  // dg += …, du += …

// Unembedding: logits[R, V] = x[R, E] · wᵀ with w [V, E] (the token embedding when tied).
void unembed_forward(float* logits, const float* x, const float* w, std::int64_t R, std::int64_t E,
                     std::int64_t V);
void unembed_backward(float* dx, float* dw, const float* dlogits, const float* x, const float* w,
                      std::int64_t R, std::int64_t E, std::int64_t V, bool dx_accumulates = true);  // dx +=, dw +=

// Cross-entropy of softmax(logits[r]) against targets[r] (−1: ignored). Returns the summed loss and
// the number of counted rows; when dlogits is non-null writes dlogits = (p − onehot) · grad_scale for
// counted rows and 0 for ignored ones (the logits may alias dlogits).
double crossentropy_forward_backward(float* dlogits, const float* logits, const std::int32_t* targets,
                                     std::int64_t R, std::int64_t V, float grad_scale, std::int64_t* counted);

}  // namespace attend::nn
