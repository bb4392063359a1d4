#pragma once
// One-head attention through attend::attention on plain row-major float buffers.
#include <cstring>
#include <vector>

#include "attend/attention.h"
#include "attend/tensor.h"

namespace attend::graph::internal {

// q: [nq, d], k: [nk, d], v: [nk, dv] -> out: [nq, dv]; lse (optional): [nq].
inline std::vector<float> attend_rows(const std::vector<float>& q, const std::vector<float>& k,
                                      const std::vector<float>& v, int nq, int nk, int d, int dv, float scale,
                                      std::vector<float>* lse = nullptr) {
  Tensor tq(DType::f32, {1, nq, 1, d}), tk(DType::f32, {1, nk, 1, d}), tv(DType::f32, {1, nk, 1, dv}),
      to(DType::f32, {1, nq, 1, dv}), tl(DType::f32, {1, 1, nq});
  std::memcpy(tq.data(), q.data(), q.size() * sizeof(float));
  std::memcpy(tk.data(), k.data(), k.size() * sizeof(float));
  std::memcpy(tv.data(), v.data(), v.size() * sizeof(float));
  AttentionOptions o;
  o.scale = scale;
  attention(tq.view(), tk.view(), tv.view(), to.view(), o, lse ? tl.view() : TensorView{});
  std::vector<float> out(to.data_as<float>(), to.data_as<float>() + static_cast<std::size_t>(nq) * dv);
  if (lse) lse->assign(tl.data_as<float>(), tl.data_as<float>() + nq);
  return out;
}

}  // namespace attend::graph::internal
