// AttentionOptions::position_offset: a query block placed anywhere in a longer sequence sees the
// keys (causal, window, ALiBi) that the same rows see in the whole sequence's attention.
#include <gtest/gtest.h>

#include <vector>

#include "attend/attend.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::rel_l2;
using test::to_f32;

// Rows [q0, q1) of attention over keys [k0, k1) of an N-token self-attention, by position_offset.
void check_block(std::int64_t n, std::int64_t q0, std::int64_t q1, std::int64_t k0, std::int64_t k1,
                 AttentionOptions opts, bool backward) {
  const std::int64_t hq = 4, hkv = 2, d = 16;
  Tensor q(DType::f32, {1, n, hq, d}), k(DType::f32, {1, n, hkv, d}), v(DType::f32, {1, n, hkv, d});
  fill_uniform(q, 1), fill_uniform(k, 2), fill_uniform(v, 3);
  auto rows = [](const Tensor& t, std::int64_t a, std::int64_t b) {
    TensorView x = t.view();
    x.data = static_cast<char*>(x.data) + a * x.step(1) * static_cast<std::int64_t>(dtype_size(x.dtype));
    x.shape[1] = b - a;
    return x;
  };
  // Whole-sequence reference with key rows outside [k0, k1) removed by a -inf bias.
  Tensor bias(DType::f32, {1, 1, n, n});
  float* bp = bias.data_as<float>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) bp[i * n + j] = (j >= k0 && j < k1) ? 0.0f : -INFINITY;
  AttentionOptions full = opts;
  full.bias = bias.view();
  Tensor ro(DType::f32, {1, n, hq, d}), rl(DType::f32, {1, hq, n});
  reference::attention(q.view(), k.view(), v.view(), ro.view(), full, rl.view());

  const std::int64_t nq = q1 - q0, nk = k1 - k0;
  opts.position_offset = (q0 - k0) - (nk - nq);  // i' = q0 + i in the block's key coordinates
  Tensor o(DType::f32, {1, nq, hq, d}), l(DType::f32, {1, hq, nq});
  attention(rows(q, q0, q1), rows(k, k0, k1), rows(v, k0, k1), o.view(), opts, l.view());
  EXPECT_LT(rel_l2(to_f32(o.view()), to_f32(rows(ro, q0, q1))), 1e-5);
  const std::vector<float> got_l = to_f32(l.view()), all_l = to_f32(rl.view());
  for (std::int64_t h = 0; h < hq; ++h)
    for (std::int64_t i = 0; i < nq; ++i) {
      const float a = got_l[static_cast<std::size_t>(h * nq + i)], b = all_l[static_cast<std::size_t>(h * n + q0 + i)];
      if (std::isinf(b)) EXPECT_TRUE(std::isinf(a) && a < 0) << h << " " << i;
      else EXPECT_NEAR(a, b, 1e-4) << h << " " << i;
    }
  if (!backward) return;
  Tensor dout(DType::f32, {1, nq, hq, d});
  fill_uniform(dout, 4);
  Tensor dq(DType::f32, {1, nq, hq, d}), dk(DType::f32, {1, nk, hkv, d}), dv(DType::f32, {1, nk, hkv, d});
  Tensor rdq(DType::f32, {1, nq, hq, d}), rdk(DType::f32, {1, nk, hkv, d}), rdv(DType::f32, {1, nk, hkv, d});
  attention_backward(rows(q, q0, q1), rows(k, k0, k1), rows(v, k0, k1), o.view(), dout.view(), l.view(),
                     {dq.view(), dk.view(), dv.view(), {}}, opts);
  reference::attention_backward(rows(q, q0, q1), rows(k, k0, k1), rows(v, k0, k1), o.view(), dout.view(), l.view(),
                                {rdq.view(), rdk.view(), rdv.view(), {}}, opts);
  EXPECT_LT(rel_l2(to_f32(dq.view()), to_f32(rdq.view())), 1e-4);
  EXPECT_LT(rel_l2(to_f32(dk.view()), to_f32(rdk.view())), 1e-4);
  EXPECT_LT(rel_l2(to_f32(dv.view()), to_f32(rdv.view())), 1e-4);
}

TEST(PositionOffset, CausalBlocksMatchWholeSequence) {
  AttentionOptions o;
  o.causal = true;
  check_block(100, 40, 65, 0, 100, o, true);   // all keys, middle rows
  check_block(100, 40, 65, 30, 58, o, true);   // diagonal block: some rows see part
  check_block(100, 0, 7, 50, 100, o, false);   // wholly hidden: lse -inf, out 0
  check_block(100, 70, 100, 0, 1, o, true);    // one key, fully visible
}

TEST(PositionOffset, WindowAndAlibiBlocks) {
  AttentionOptions o;
  o.window_left = 9;
  o.window_right = 3;
  const std::vector<float> slopes = {0.5f, 0.25f, 0.125f, 0.0625f};
  o.alibi_slopes = slopes;
  check_block(65, 20, 40, 10, 30, o, true);
  check_block(65, 20, 40, 38, 65, o, true);
  o.causal = true;
  check_block(65, 33, 34, 0, 65, o, false);
}

}  // namespace
}  // namespace attend
