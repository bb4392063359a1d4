#include "kernels/backward_problem.h"

#include "core/check.h"
#include "core/view_checks.h"

namespace attend::kernels {

using detail::fail;

BackwardProblem make_backward_problem(const char* fn, const TensorView& q, const TensorView& k, const TensorView& v,
                                      const TensorView& out, const TensorView& dout, const TensorView& lse,
                                      const AttentionGrads& grads, const AttentionOptions& opts) {
  if (lse.empty()) fail(fn, "lse (the forward's log-sum-exp) is required");
  BackwardProblem b;
  b.fwd = make_problem(fn, q, k, v, out, opts, lse);
  auto same_shape = [&](const char* name, const TensorView& t, const TensorView& like, const char* like_name) {
    core::check_view(fn, name, t, 4);
    for (int i = 0; i < 4; ++i)
      if (t.dim(i) != like.dim(i)) fail(fn, name, " has shape ", t.shape_string(), " but ", like_name, " has ", like.shape_string());
  };
  same_shape("dout", dout, out, "out");
  same_shape("dq", grads.dq, q, "q");
  same_shape("dk", grads.dk, k, "k");
  same_shape("dv", grads.dv, v, "v");
  const std::initializer_list<std::pair<const char*, const TensorView*>> inputs = {
      {"q", &q}, {"k", &k}, {"v", &v}, {"out", &out}, {"dout", &dout}, {"lse", &lse}};
  core::check_no_overlap(fn, "dq", grads.dq, inputs);
  core::check_no_overlap(fn, "dk", grads.dk, inputs);
  core::check_no_overlap(fn, "dv", grads.dv, inputs);
  core::check_no_overlap(fn, "dq", grads.dq, {{"dk", &grads.dk}, {"dv", &grads.dv}});
  core::check_no_overlap(fn, "dk", grads.dk, {{"dv", &grads.dv}});
  core::check_writable(fn, "dq", grads.dq);
  core::check_writable(fn, "dk", grads.dk);
  core::check_writable(fn, "dv", grads.dv);
  if (!grads.dbias.empty()) {
    if (opts.bias.empty()) fail(fn, "dbias was given but the options have no bias");
    core::check_view(fn, "dbias", grads.dbias, 4);
    for (int i = 0; i < 4; ++i)
      if (grads.dbias.dim(i) != opts.bias.dim(i))
        fail(fn, "dbias has shape ", grads.dbias.shape_string(), " but bias has ", opts.bias.shape_string());
    if (grads.dbias.dtype != DType::f32) fail(fn, "dbias must be f32, got ", dtype_name(grads.dbias.dtype));
    core::check_no_overlap(fn, "dbias", grads.dbias, inputs);
    core::check_writable(fn, "dbias", grads.dbias);
  }
  b.dout = dout;
  b.dq = grads.dq;
  b.deterministic = opts.deterministic;
  b.dk = grads.dk;
  b.dv = grads.dv;
  b.dbias = grads.dbias;
  return b;
}

}  // namespace attend::kernels
