// A C++17 program using attend: std::vector arguments where the API takes attend::Span (ALiBi
// slopes, an attention matrix for the observatory's metrics), checked against the reference.
#include <attend/attend.h>

#include <cmath>
#include <cstdio>
#include <vector>

static_assert(__cplusplus == 201703L, "this example is compiled as C++17");

int main() {
  using attend::DType;
  const std::int64_t n = 40, h = 4, d = 16;
  attend::Tensor q(DType::f32, {1, n, h, d}), out(DType::f32, {1, n, h, d}), ref(DType::f32, {1, n, h, d});
  for (std::int64_t i = 0; i < q.numel(); ++i) q.data_as<float>()[i] = std::sin(0.05f * static_cast<float>(i));
  const std::vector<float> slopes{0.5f, 0.25f, 0.125f, 0.0625f};
  attend::AttentionOptions opts;
  opts.causal = true;
  opts.alibi_slopes = slopes;  // std::vector -> attend::Span<const float>
  attend::attention(q.view(), q.view(), q.view(), out.view(), opts);
  attend::reference::attention(q.view(), q.view(), q.view(), ref.view(), opts);
  double err = 0;
  for (std::int64_t i = 0; i < out.numel(); ++i)
    err = std::fmax(err, std::fabs(out.data_as<float>()[i] - ref.data_as<float>()[i]));

  // A causal uniform attention matrix: the decay curve at distance 0 is the mean of 1/(i+1).
  std::vector<float> a(static_cast<std::size_t>(n * n), 0.0f);
  double want = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j <= i; ++j) a[static_cast<std::size_t>(i * n + j)] = 1.0f / static_cast<float>(i + 1);
    want += 1.0 / static_cast<double>(i + 1) / static_cast<double>(n);
  }
  const std::vector<double> decay = attend::observe::decay_by_distance(a, n);  // std::vector -> Span
  std::printf("cpp17: attend %s, max |fast - reference| = %.2e, decay[0] = %.6f (expected %.6f)\n",
              ATTEND_VERSION_STRING, err, decay[0], want);
  return err < 1e-5 && std::fabs(decay[0] - want) < 1e-6 ? 0 : 1;
}
