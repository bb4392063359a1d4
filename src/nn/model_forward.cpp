// The transformer's forward and backward passes over the flat parameter buffer.
// Block (pre-norm): x += W_O·attn(rope(norm1(x)·W_Q), rope(norm1(x)·W_K), norm1(x)·W_V);
//                   x += mlp(norm2(x)).  Then logits = norm_f(x)·W_Uᵀ.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "attend/attention.h"
#include "attend/backward.h"
#include "attend/decode.h"
#include "core/check.h"
#include "core/thread_pool.h"
#include "nn/hooks.h"
#include "nn/layers.h"
#include "nn/model_impl.h"

namespace attend::nn {
namespace {

using I64 = std::int64_t;
std::size_t sz(I64 v) { return static_cast<std::size_t>(v); }
constexpr I64 kAddGrain = 16384;  // residual adds: elements per pool task (64 KiB of each array)

void norm_forward(const ModelConfig& c, float* out, float* mean, float* rstd, const float* x, const float* w,
                  const float* b, I64 R) {
  if (c.norm == NormKind::layernorm) layernorm_forward(out, mean, rstd, x, w, b, R, c.d_model, c.norm_eps);
  else rmsnorm_forward(out, rstd, x, w, R, c.d_model, c.norm_eps);
}

void norm_backward(const ModelConfig& c, float* dx, float* dw, float* db, const float* dout, const float* x,
                   const float* w, const float* mean, const float* rstd, I64 R) {
  if (c.norm == NormKind::layernorm) layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, R, c.d_model);
  else rmsnorm_backward(dx, dw, dout, x, w, rstd, R, c.d_model);
}

// Sliding window (Mistral): a query sees itself and the W − 1 positions before it.
I64 window_left(const ModelConfig& c) { return c.sliding_window > 0 ? c.sliding_window - 1 : -1; }

DecodeOptions decode_options(const ModelConfig& c) {
  DecodeOptions o;
  o.window_left = window_left(c);
  return o;
}

}  // namespace

void Acts::resize(const ModelConfig& c, I64 batch, I64 tokens) {
  B = batch;
  T = tokens;
  slots = for_backward ? c.layers : 1;
  const I64 R = B * T, L = slots, E = c.d_model, D = c.head_size();
  const I64 HD = c.heads * D, GD = c.kv_heads * D;
  resid.resize(sz((for_backward ? L + 1 : 2) * R * E));
  resid_mid.resize(sz(L * R * E));
  for (auto* v : {&ln1, &ln2}) v->resize(sz(L * R * E));
  for (auto* v : {&ln1_mean, &ln1_rstd, &ln2_mean, &ln2_rstd}) v->resize(sz(L * R));
  q.resize(sz(L * R * HD));
  att.resize(sz(L * R * HD));
  k.resize(sz(L * R * GD));
  v.resize(sz(L * R * GD));
  lse.resize(sz(L * R * c.heads));
  fc.resize(sz(L * R * c.d_ff));
  act.resize(sz(L * R * c.d_ff));
  up.resize(c.mlp == MlpKind::swiglu ? sz(L * R * c.d_ff) : 0);
  lnf.resize(sz(R * E));
  lnf_mean.resize(sz(R));
  lnf_rstd.resize(sz(R));
  // logits: sized by forward for the rows it computes (all R, or the last only: a 1024-token GPT-2
  // prefill would otherwise zero 206 MB it never reads; memset + page faults were half its time).
}

void Model::Impl::forward(const std::int32_t* tokens, I64 B, I64 T, Acts& a, LayerCaches* cache,
                          ModelTraceSink* trace, ModelHooks* hooks, bool last_row_logits) const {
  const ModelConfig& c = config;
  const I64 R = B * T, E = c.d_model, H = c.heads, G = c.kv_heads, D = head_dim(), F = c.d_ff, V = c.vocab;
  const I64 pos0 = cache ? cache->length() : 0;
  ATTEND_ASSERT(!cache || B == 1);
  if (pos0 + T > c.context) detail::fail("Model::forward", "position ", pos0 + T, " exceeds the context ", c.context);
  for (I64 r = 0; r < R; ++r)
    if (tokens[r] < 0 || tokens[r] >= V) detail::fail("Model::forward", "token ", tokens[r], " at ", r, " is outside the vocabulary [0, ", V, ")");
  if (a.B != B || a.T != T || a.slots != (a.for_backward ? c.layers : 1)) a.resize(c, B, T);
  ATTEND_ASSERT(!hooks || (B == 1 && !cache));  // hooks: one sequence, no cache (Model::forward)
  // The attention and MLP updates as the trace sees them (the block's buffers are reused).
  std::vector<float> updates(trace ? sz(2 * R * E) : 0);

  embedding_forward(a.resid.data(), tokens, w(wte), wpe >= 0 ? w(wpe) : WeightView{}, pos0, R, T);
  for (int l = 0; l < static_cast<int>(c.layers); ++l) {
    const LayerParams& lp = layer[sz(l)];
    const I64 s = a.slot(l);  // this layer's slot in the per-layer buffers
    float* x = a.resid.data() + a.resid_slot(l) * R * E;
    float* mid = a.resid_mid.data() + s * R * E;
    float* out = a.resid.data() + a.resid_slot(l + 1) * R * E;
    float* ln1 = a.ln1.data() + s * R * E;
    float* q = a.q.data() + s * R * H * D;
    float* k = a.k.data() + s * R * G * D;
    float* v = a.v.data() + s * R * G * D;
    float* att = a.att.data() + s * R * H * D;
    const HookCaller hook(hooks, l, T, E, H, G, D);  // writable hook points (attend/trace.h, nn/hooks.h)
    hook(HookPoint::resid_pre, x);
    norm_forward(c, ln1, a.ln1_mean.data() + s * R, a.ln1_rstd.data() + s * R, x, p(lp.ln1_w), p(lp.ln1_b), R);
    matmul_weight(ln1, R, w(lp.wq), q, p(lp.bq));
    matmul_weight(ln1, R, w(lp.wk), k, p(lp.bk));
    matmul_weight(ln1, R, w(lp.wv), v, p(lp.bv));
    if (c.position == PositionKind::rope) {
      rope_apply(q, R, T, H, D, pos0, rope_freq.data(), false);
      rope_apply(k, R, T, G, D, pos0, rope_freq.data(), false);
    }
    hook(HookPoint::q, q);
    hook(HookPoint::k, k);
    hook(HookPoint::v, v);
    // att [B, T, H, D] = softmax(q·kᵀ/√D, causal)·v through attend's kernel; lse kept for backward.
    AttentionOptions opts;
    opts.causal = true;
    opts.window_left = window_left(c);
    opts.capture = trace ? trace->attention_sink(l) : nullptr;
    const TensorView qv = TensorView::contiguous(q, DType::f32, {B, T, H, D});
    const TensorView ov = TensorView::contiguous(att, DType::f32, {B, T, H, D});
    const TensorView lv = TensorView::contiguous(a.lse.data() + s * R * H, DType::f32, {B, H, T});
    const auto ta = std::chrono::steady_clock::now();
    if (cache) {  // append this step's k, v [T, G, D]; the T queries sit at positions pos0 .. pos0 + T − 1
      KVCache& kc = cache->layers[sz(l)];
      kc.append(0, TensorView::contiguous(k, DType::f32, {T, G, D}), TensorView::contiguous(v, DType::f32, {T, G, D}));
      if (pos0 == 0)  // prefill: plain causal attention over the fresh k, v (parallel over rows and heads)
        attention(qv, TensorView::contiguous(k, DType::f32, {1, T, G, D}), TensorView::contiguous(v, DType::f32, {1, T, G, D}), ov, opts, lv);
      else
        attend::decode(qv, kc, ov, decode_options(c), lv);
    } else {
      attention(qv, TensorView::contiguous(k, DType::f32, {B, T, G, D}), TensorView::contiguous(v, DType::f32, {B, T, G, D}),
                ov, opts, lv);
    }
    a.attention_forward_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - ta).count();
    if (hooks) run_pattern_hooks(*hooks, l, q, k, v, att, T, H, G, D);
    hook(HookPoint::head_out, att);
    matmul_weight(att, R, w(lp.wo), out, p(lp.bo));  // out as scratch for the update
    hook(HookPoint::attn_out, out);
    if (trace) std::memcpy(updates.data(), out, sz(R * E) * sizeof(float));
    core::parallel_ranges(R * E, kAddGrain, [&](I64 i0, I64 i1) { for (I64 i = i0; i < i1; ++i) mid[i] = x[i] + out[i]; });
    hook(HookPoint::resid_mid, mid);
    float* ln2 = a.ln2.data() + s * R * E;
    norm_forward(c, ln2, a.ln2_mean.data() + s * R, a.ln2_rstd.data() + s * R, mid, p(lp.ln2_w), p(lp.ln2_b), R);
    float* fc = a.fc.data() + s * R * F;
    float* act = a.act.data() + s * R * F;
    matmul_weight(ln2, R, w(lp.fc_w), fc, p(lp.fc_b));
    if (c.mlp == MlpKind::gelu) {
      gelu_forward(act, fc, R * F);
    } else {
      float* up = a.up.data() + s * R * F;
      matmul_weight(ln2, R, w(lp.up_w), up, p(lp.up_b));
      swiglu_forward(act, fc, up, R * F);
    }
    matmul_weight(act, R, w(lp.proj_w), out, p(lp.proj_b));
    hook(HookPoint::mlp_out, out);
    if (trace) std::memcpy(updates.data() + R * E, out, sz(R * E) * sizeof(float));
    core::parallel_ranges(R * E, kAddGrain, [&](I64 i0, I64 i1) { for (I64 i = i0; i < i1; ++i) out[i] += mid[i]; });
    hook(HookPoint::resid_post, out);
    if (trace) {
      LayerTrace t;
      t.layer = l;
      t.tokens = R;
      t.d_model = E;
      t.heads = H;
      t.kv_heads = G;
      t.head_dim = D;
      t.resid_pre = x;
      t.resid_mid = mid;
      t.resid_post = out;
      t.q = q;
      t.k = k;
      t.v = v;
      t.head_out = att;
      t.attn_out = updates.data();
      t.mlp_out = updates.data() + R * E;
      trace->on_layer(t);
    }
  }
  const I64 first = last_row_logits ? R - 1 : 0, rows = R - first;  // the rows whose logits are asked for
  if (a.logits.size() < sz(rows * V)) a.logits.resize(sz(rows * V));
  const float* xf = a.resid.data() + a.resid_slot(static_cast<int>(c.layers)) * R * E + first * E;
  norm_forward(c, a.lnf.data() + first * E, a.lnf_mean.data() + first, a.lnf_rstd.data() + first, xf, p(lnf_w), p(lnf_b), rows);
  matmul_weight(a.lnf.data() + first * E, rows, w(lm_head >= 0 ? lm_head : wte), a.logits.data());  // logits = x · W_Uᵀ, W_U [V, E]
}

double Model::Impl::backward(const std::int32_t* tokens, const std::int32_t* targets, Acts& a, float grad_scale,
                             I64* counted) {
  const ModelConfig& c = config;
  ATTEND_ASSERT(trainable());  // a loaded model is made trainable (Trainer) before any backward
  ATTEND_ASSERT(a.for_backward && a.slots == config.layers);  // forward kept every layer's activations
  const I64 B = a.B, T = a.T, R = B * T, E = c.d_model, H = c.heads, G = c.kv_heads, D = head_dim(), F = c.d_ff,
            V = c.vocab;
  // dlogits overwrite the logits (no longer needed).
  const double loss = crossentropy_forward_backward(a.logits.data(), a.logits.data(), targets, R, V, grad_scale, counted);
  for (auto [buf, n] : {std::pair{&a.dres, R * E}, {&a.dtmp, R * E}, {&a.dF1, R * F}, {&a.dF2, R * F},
                         {&a.dF3, c.mlp == MlpKind::swiglu ? R * F : 0}, {&a.datt, R * H * D}, {&a.dq, R * H * D},
                         {&a.dk, R * G * D}, {&a.dv, R * G * D}})
    buf->resize(sz(n));
  std::vector<float>&dres = a.dres, &dtmp = a.dtmp, &dF1 = a.dF1, &dF2 = a.dF2, &dF3 = a.dF3, &datt = a.datt, &dq = a.dq,
                     &dk = a.dk, &dv = a.dv;
  std::fill(dres.begin(), dres.end(), 0.0f);  // the norms' backward adds onto it
  const I64 wu = lm_head >= 0 ? lm_head : wte;
  unembed_backward(dtmp.data(), g(wu), a.logits.data(), a.lnf.data(), p(wu), R, E, V, false);
  norm_backward(c, dres.data(), g(lnf_w), g(lnf_b), dtmp.data(), a.resid.data() + c.layers * R * E, p(lnf_w),
                a.lnf_mean.data(), a.lnf_rstd.data(), R);
  for (int l = static_cast<int>(c.layers) - 1; l >= 0; --l) {
    const LayerParams& lp = layer[sz(l)];
    const float* x = a.resid.data() + l * R * E;
    const float* mid = a.resid_mid.data() + l * R * E;
    const float* ln1 = a.ln1.data() + l * R * E;
    const float* ln2 = a.ln2.data() + l * R * E;
    const float* fc = a.fc.data() + l * R * F;
    const float* act = a.act.data() + l * R * F;
    // MLP: dres is d(resid_post) = d(mid) through the skip.
    linear_backward(dF1.data(), g(lp.proj_w), g(lp.proj_b), dres.data(), act, p(lp.proj_w), R, F, E, false);
    std::fill(dF2.begin(), dF2.end(), 0.0f);  // the activations' backward adds onto dF2 (and dF3)
    if (c.mlp == MlpKind::gelu) {
      gelu_backward(dF2.data(), fc, dF1.data(), R * F);
    } else {
      const float* up = a.up.data() + l * R * F;
      std::fill(dF3.begin(), dF3.end(), 0.0f);
      swiglu_backward(dF2.data(), dF3.data(), dF1.data(), fc, up, R * F);
    }
    // dtmp = d(ln2): written by the first product, added to by the second (SwiGLU's up).
    linear_backward(dtmp.data(), g(lp.fc_w), g(lp.fc_b), dF2.data(), ln2, p(lp.fc_w), R, E, F, false);
    if (c.mlp == MlpKind::swiglu)
      linear_backward(dtmp.data(), g(lp.up_w), g(lp.up_b), dF3.data(), ln2, p(lp.up_w), R, E, F);
    norm_backward(c, dres.data(), g(lp.ln2_w), g(lp.ln2_b), dtmp.data(), mid, p(lp.ln2_w),
                  a.ln2_mean.data() + l * R, a.ln2_rstd.data() + l * R, R);
    // Attention: dres is now d(mid) = d(x) through the skip.
    const float* q = a.q.data() + l * R * H * D;
    const float* k = a.k.data() + l * R * G * D;
    const float* v = a.v.data() + l * R * G * D;
    const float* att = a.att.data() + l * R * H * D;
    linear_backward(datt.data(), g(lp.wo), g(lp.bo), dres.data(), att, p(lp.wo), R, H * D, E, false);
    AttentionOptions opts;
    opts.causal = true;
    opts.window_left = window_left(c);
    opts.deterministic = true;  // training is bitwise repeatable from its seed, whatever the thread schedule
    AttentionGrads grads;
    grads.dq = TensorView::contiguous(dq.data(), DType::f32, {B, T, H, D});
    grads.dk = TensorView::contiguous(dk.data(), DType::f32, {B, T, G, D});
    grads.dv = TensorView::contiguous(dv.data(), DType::f32, {B, T, G, D});
    const auto ta = std::chrono::steady_clock::now();
    attention_backward(TensorView::contiguous(q, DType::f32, {B, T, H, D}), TensorView::contiguous(k, DType::f32, {B, T, G, D}),
                       TensorView::contiguous(v, DType::f32, {B, T, G, D}), TensorView::contiguous(att, DType::f32, {B, T, H, D}),
                       TensorView::contiguous(datt.data(), DType::f32, {B, T, H, D}),
                       TensorView::contiguous(a.lse.data() + l * R * H, DType::f32, {B, H, T}), grads, opts);
    a.attention_backward_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - ta).count();
    if (c.position == PositionKind::rope) {  // RoPE is a rotation: its backward rotates back
      rope_apply(dq.data(), R, T, H, D, 0, rope_freq.data(), true);
      rope_apply(dk.data(), R, T, G, D, 0, rope_freq.data(), true);
    }
    linear_backward(dtmp.data(), g(lp.wq), g(lp.bq), dq.data(), ln1, p(lp.wq), R, E, H * D, false);
    linear_backward(dtmp.data(), g(lp.wk), g(lp.bk), dk.data(), ln1, p(lp.wk), R, E, G * D);
    linear_backward(dtmp.data(), g(lp.wv), g(lp.bv), dv.data(), ln1, p(lp.wv), R, E, G * D);
    norm_backward(c, dres.data(), g(lp.ln1_w), g(lp.ln1_b), dtmp.data(), x, p(lp.ln1_w), a.ln1_mean.data() + l * R,
                  a.ln1_rstd.data() + l * R, R);
  }
  embedding_backward(g(wte), wpe >= 0 ? g(wpe) : nullptr, dres.data(), tokens, R, T, E);
  return loss;
}

}  // namespace attend::nn
