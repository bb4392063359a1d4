#pragma once
// Validation of the backward's extra arguments on top of the forward's Problem.
#include "attend/backward.h"
#include "kernels/problem.h"

namespace attend::kernels {

struct BackwardProblem {
  Problem fwd;  // q, k, v, out (as the forward's), masks and options
  TensorView dout, dq, dk, dv, dbias;
  bool deterministic = false;  // opts.deterministic
};

BackwardProblem make_backward_problem(const char* fn, const TensorView& q, const TensorView& k, const TensorView& v,
                                      const TensorView& out, const TensorView& dout, const TensorView& lse,
                                      const AttentionGrads& grads, const AttentionOptions& opts);

}  // namespace attend::kernels
