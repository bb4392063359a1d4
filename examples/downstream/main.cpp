// Uses attend as an installed library: one attention call, checked against the reference.
#include <attend/attend.h>

#include <cmath>
#include <cstdio>

int main() {
  attend::Tensor q(attend::DType::f32, {1, 16, 2, 32}), k(attend::DType::f32, {1, 16, 2, 32}),
      v(attend::DType::f32, {1, 16, 2, 32}), o(attend::DType::f32, {1, 16, 2, 32}), r(attend::DType::f32, {1, 16, 2, 32});
  for (std::int64_t i = 0; i < q.numel(); ++i) {
    q.data_as<float>()[i] = std::sin(0.1f * static_cast<float>(i));
    k.data_as<float>()[i] = std::cos(0.07f * static_cast<float>(i));
    v.data_as<float>()[i] = std::sin(0.03f * static_cast<float>(i) + 1);
  }
  attend::AttentionOptions opts;
  opts.causal = true;
  attend::attention(q.view(), k.view(), v.view(), o.view(), opts);
  attend::reference::attention(q.view(), k.view(), v.view(), r.view(), opts);
  double err = 0;
  for (std::int64_t i = 0; i < o.numel(); ++i) err = std::fmax(err, std::fabs(o.data_as<float>()[i] - r.data_as<float>()[i]));
  std::printf("downstream: max |fast - reference| = %.2e\n", err);
  return err < 1e-5 ? 0 : 1;
}
