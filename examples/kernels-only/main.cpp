// Uses only attend's kernels layer: a prefill with attention(), then decode steps over a KVCache,
// each checked against the double-precision reference over the same keys.
#include <attend/attention.h>
#include <attend/decode.h>
#include <attend/kv_cache.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

int main() {
  using attend::DType;
  const std::int64_t n = 24, hq = 4, g = 2, d = 32;
  attend::Tensor q(DType::f32, {1, n, hq, d}), k(DType::f32, {1, n, g, d}), v(DType::f32, {1, n, g, d});
  for (std::int64_t i = 0; i < q.numel(); ++i) q.data_as<float>()[i] = std::sin(0.1f * static_cast<float>(i));
  for (std::int64_t i = 0; i < k.numel(); ++i) {
    k.data_as<float>()[i] = std::cos(0.07f * static_cast<float>(i));
    v.data_as<float>()[i] = std::sin(0.03f * static_cast<float>(i) + 1);
  }
  attend::KVCache cache(1, n, g, d, d, DType::f32);
  attend::AttentionOptions causal;
  causal.causal = true;
  double err = 0;
  for (std::int64_t t = 0; t < n; ++t) {
    const auto kt = attend::TensorView::contiguous(k.data_as<float>() + t * g * d, DType::f32, {1, g, d});
    const auto vt = attend::TensorView::contiguous(v.data_as<float>() + t * g * d, DType::f32, {1, g, d});
    cache.append(0, kt, vt);
    const auto qt = attend::TensorView::contiguous(q.data_as<float>() + t * hq * d, DType::f32, {1, 1, hq, d});
    attend::Tensor out(DType::f32, {1, 1, hq, d}), ref(DType::f32, {1, 1, hq, d});
    attend::decode(qt, cache, out.view());
    const auto kp = attend::TensorView::contiguous(k.data(), DType::f32, {1, t + 1, g, d});
    const auto vp = attend::TensorView::contiguous(v.data(), DType::f32, {1, t + 1, g, d});
    attend::reference::attention(qt, kp, vp, ref.view(), causal);
    for (std::int64_t i = 0; i < out.numel(); ++i)
      err = std::max(err, static_cast<double>(std::fabs(out.data_as<float>()[i] - ref.data_as<float>()[i])));
  }
  std::printf("kernels-only: %lld decode steps, max |decode - reference| = %.2e\n", static_cast<long long>(n), err);
  return err < 1e-5 ? 0 : 1;
}
