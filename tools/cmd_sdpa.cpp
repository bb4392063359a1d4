// attend sdpa: attention forward on .npy files.
#include <cstdio>
#include <memory>
#include <string>

#include "attend/attend.h"
#include "cli_paths.h"
#include "command.h"
#include "core/check.h"

namespace attend::cli {
namespace {

struct SdpaArgs {
  std::string q, k, v, out, lse, bias, alibi, layout = "bshd";
  std::string dout, dq, dk, dv;  // backward: all four together
  bool causal = false;
  std::vector<std::int64_t> window;
  float scale = 0, softcap = 0;
  bool has_scale = false;
  int threads = 0;
};

// [B, N, H, D] view of a loaded array given the layout name.
TensorView as_bnhd(const Tensor& t, const std::string& layout, const char* name) {
  if (t.rank() != 4) detail::fail("sdpa", name, " must have 4 dimensions (", layout, "), got ", t.view().shape_string());
  return layout == "bhsd" ? t.view().permuted(0, 2, 1, 3) : t.view();
}

int run_sdpa(const SdpaArgs& a) {
  PathCheck("sdpa")
      .input("--q", a.q).input("--k", a.k).input("--v", a.v).input("--bias", a.bias).input("--alibi", a.alibi).input("--dout", a.dout)
      .output("--out", a.out, {".npy"}).output("--lse", a.lse, {".npy"})
      .output("--dq", a.dq, {".npy"}).output("--dk", a.dk, {".npy"}).output("--dv", a.dv, {".npy"})
      .check();
  const Tensor q = read_npy(a.q), k = read_npy(a.k), v = read_npy(a.v);
  const TensorView qv = as_bnhd(q, a.layout, "--q"), kv = as_bnhd(k, a.layout, "--k"), vv = as_bnhd(v, a.layout, "--v");
  AttentionOptions opts;
  opts.causal = a.causal;
  if (!a.window.empty()) {
    if (a.window.size() != 2) throw UsageError("--window takes L,R");
    opts.window_left = a.window[0];
    opts.window_right = a.window[1];
  }
  if (a.has_scale) opts.scale = a.scale;
  opts.softcap = a.softcap;
  opts.threads = a.threads;
  Tensor bias, alibi;
  if (!a.bias.empty()) {
    bias = read_npy(a.bias);
    if (bias.rank() != 4) detail::fail("sdpa", "--bias must have 4 dimensions broadcastable to [B, H, Nq, Nk], got ", bias.view().shape_string());
    opts.bias = bias.view();
  }
  std::vector<float> slopes;
  if (!a.alibi.empty()) {
    alibi = read_npy(a.alibi);
    if (alibi.rank() != 1) detail::fail("sdpa", "--alibi must be a 1-D array of per-head slopes, got ", alibi.view().shape_string());
    slopes.resize(static_cast<std::size_t>(alibi.numel()));
    convert_to_f32(alibi.data(), alibi.dtype(), slopes.data(), slopes.size());
    opts.alibi_slopes = slopes;
  }
  const std::int64_t B = qv.dim(0), Nq = qv.dim(1), H = qv.dim(2), Dv = vv.dim(3);
  Tensor out = a.layout == "bhsd" ? Tensor(q.dtype(), {B, H, Nq, Dv}) : Tensor(q.dtype(), {B, Nq, H, Dv});
  const TensorView ov = a.layout == "bhsd" ? out.view().permuted(0, 2, 1, 3) : out.view();
  const bool backward = !a.dout.empty();
  if (backward && (a.dq.empty() || a.dk.empty() || a.dv.empty()))
    throw UsageError("--dout needs --dq, --dk and --dv (the gradient outputs)");
  if (!backward && (!a.dq.empty() || !a.dk.empty() || !a.dv.empty()))
    throw UsageError("--dq/--dk/--dv need --dout (the gradient of the loss with respect to the output)");
  Tensor lse;
  if (!a.lse.empty() || backward) lse = Tensor(DType::f32, {B, H, Nq});
  attention(qv, kv, vv, ov, opts, lse.view());
  write_npy(a.out, out.view());
  if (!a.lse.empty()) write_npy(a.lse, lse.view());
  if (backward) {
    const Tensor dout = read_npy(a.dout);
    const TensorView dov = as_bnhd(dout, a.layout, "--dout");
    auto like = [&](const Tensor& t) { return Tensor(t.dtype(), t.view().shape, t.rank()); };
    Tensor dq = like(q), dk = like(k), dv = like(v);
    attention_backward(qv, kv, vv, ov, dov, lse.view(),
                       {as_bnhd(dq, a.layout, "dq"), as_bnhd(dk, a.layout, "dk"), as_bnhd(dv, a.layout, "dv"), {}}, opts);
    write_npy(a.dq, dq.view());
    write_npy(a.dk, dk.view());
    write_npy(a.dv, dv.view());
  }
  return 0;
}

const bool registered = register_command("sdpa", "scaled-dot-product attention on .npy files", [](CLI::App& sub) {
  auto a = std::make_shared<SdpaArgs>();
  sub.add_option("--q", a->q, "queries .npy [B,N,H,D] (or [B,H,N,D] with --layout bhsd)")->required();
  sub.add_option("--k", a->k, "keys .npy")->required();
  sub.add_option("--v", a->v, "values .npy")->required();
  sub.add_option("--out", a->out, "output .npy (written atomically)")->required();
  sub.add_option("--lse", a->lse, "optional log-sum-exp output .npy [B,H,Nq]");
  sub.add_flag("--causal", a->causal, "causal mask (bottom-right aligned)");
  sub.add_option("--window", a->window, "sliding window L,R (-1 = unbounded)")->delimiter(',')->expected(2);
  sub.add_option("--scale", a->scale, "softmax scale (default 1/sqrt(D))")->each([a](const std::string&) { a->has_scale = true; });
  sub.add_option("--softcap", a->softcap, "logit soft-capping c: s <- c*tanh(s/c)")->check(CLI::NonNegativeNumber);
  sub.add_option("--bias", a->bias, "additive bias .npy broadcastable to [B,H,Nq,Nk]");
  sub.add_option("--alibi", a->alibi, "ALiBi slopes .npy [H]");
  sub.add_option("--layout", a->layout, "memory layout of the arrays")->check(CLI::IsMember({"bshd", "bhsd"}));
  sub.add_option("--dout", a->dout, "gradient of the loss w.r.t. the output .npy: runs the backward too");
  sub.add_option("--dq", a->dq, "output: gradient w.r.t. q .npy");
  sub.add_option("--dk", a->dk, "output: gradient w.r.t. k .npy");
  sub.add_option("--dv", a->dv, "output: gradient w.r.t. v .npy");
  sub.add_option("--threads", a->threads, "worker threads (0 = all)")->check(CLI::NonNegativeNumber);
  return [a] { return run_sdpa(*a); };
});

}  // namespace
}  // namespace attend::cli
