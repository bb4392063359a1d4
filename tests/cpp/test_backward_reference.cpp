// The reference backward against central finite differences of the reference forward.
#include <gtest/gtest.h>

#include <functional>

#include "attend/attend.h"
#include "test_util.h"

namespace attend {
namespace {

// loss = Σ out ∘ w for a fixed random w, so dout = w.
double loss_of(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias, const Tensor& w, const AttentionOptions& base) {
  AttentionOptions o = base;
  if (bias.rank()) o.bias = bias.view();
  Tensor out(DType::f32, {w.dim(0), w.dim(1), w.dim(2), w.dim(3)});
  reference::attention(q.view(), k.view(), v.view(), out.view(), o);
  double l = 0;
  for (std::int64_t i = 0; i < out.numel(); ++i) l += static_cast<double>(out.data_as<float>()[i]) * w.data_as<float>()[i];
  return l;
}

void check_grad(const char* what, Tensor& x, const Tensor& grad, const std::function<double()>& loss) {
  const float eps = 2e-3f;
  for (std::int64_t i = 0; i < x.numel(); i += std::max<std::int64_t>(1, x.numel() / 40)) {
    float& e = x.data_as<float>()[i];
    const float keep = e;
    e = keep + eps;
    const double lp = loss();
    e = keep - eps;
    const double lm = loss();
    e = keep;
    const double fd = (lp - lm) / (2 * eps);
    EXPECT_NEAR(grad.data_as<float>()[i], fd, 2e-3 * (1 + std::fabs(fd))) << what << "[" << i << "]";
  }
}

TEST(ReferenceBackward, MatchesFiniteDifferences) {
  for (int variant = 0; variant < 3; ++variant) {
    Tensor q(DType::f32, {1, 5, 4, 8}), k(DType::f32, {1, 7, 2, 8}), v(DType::f32, {1, 7, 2, 6}), w(DType::f32, {1, 5, 4, 6});
    test::fill_uniform(q, 1); test::fill_uniform(k, 2); test::fill_uniform(v, 3); test::fill_uniform(w, 4);
    AttentionOptions opts;
    Tensor bias;
    if (variant >= 1) { opts.causal = true; opts.softcap = 2.0f; }
    if (variant == 2) {
      bias = Tensor(DType::f32, {1, 4, 5, 7});
      test::fill_uniform(bias, 5);
      opts.bias = bias.view();
      opts.window_left = 3;
    }
    Tensor out(DType::f32, {1, 5, 4, 6}), lse(DType::f32, {1, 4, 5});
    reference::attention(q.view(), k.view(), v.view(), out.view(), opts, lse.view());
    Tensor dq(DType::f32, {1, 5, 4, 8}), dk(DType::f32, {1, 7, 2, 8}), dv(DType::f32, {1, 7, 2, 6}), db;
    AttentionGrads g{dq.view(), dk.view(), dv.view(), {}};
    if (variant == 2) { db = Tensor(DType::f32, {1, 4, 5, 7}); g.dbias = db.view(); }
    reference::attention_backward(q.view(), k.view(), v.view(), out.view(), w.view(), lse.view(), g, opts);
    AttentionOptions plain = opts;
    plain.bias = {};
    auto loss = [&] { return loss_of(q, k, v, bias, w, plain); };
    check_grad("dq", q, dq, loss);
    check_grad("dk", k, dk, loss);
    check_grad("dv", v, dv, loss);
    if (variant == 2) check_grad("dbias", bias, db, loss);
  }
}

}  // namespace
}  // namespace attend
