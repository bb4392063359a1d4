// attend::Span (include/attend/span.h), the public headers' array view, under C++20: it views
// containers in place, its parts agree with std::span's on every offset and count, it converts
// both ways with std::span, and the public API takes vectors and std::spans through it.
// (tests/cxx17/span_cxx17.cpp checks the same conversions under C++17.)
#include <gtest/gtest.h>

#include <numeric>
#include <span>
#include <vector>

#include "attend/attention.h"
#include "attend/span.h"

namespace {

using attend::Span;

float sum_std(std::span<const float> s) { return std::accumulate(s.begin(), s.end(), 0.0f); }
float sum_ours(Span<const float> s) { return std::accumulate(s.begin(), s.end(), 0.0f); }
Span<const float> view_of(const std::vector<float>& v) { return v; }

TEST(Span, ViewsContainersInPlace) {
  std::vector<float> v{1, 2, 3};
  Span<float> s = v;
  EXPECT_EQ(s.data(), v.data());
  EXPECT_EQ(s.size(), 3u);
  s[1] = 20;
  EXPECT_EQ(v[1], 20);
  float c[4] = {1, 2, 3, 4};
  Span<const float> sc = c;
  EXPECT_EQ(sc.data(), c);
  EXPECT_EQ(sc.size(), 4u);
  Span<const float> p(v.data() + 1, 2);
  EXPECT_EQ(p[0], 20);
  EXPECT_EQ(p.back(), 3);
}

TEST(Span, PartsAgreeWithStdSpan) {
  std::vector<int> v(9);
  std::iota(v.begin(), v.end(), 10);
  const Span<const int> ours = v;
  const std::span<const int> theirs = v;
  for (std::size_t off = 0; off <= v.size(); ++off) {
    EXPECT_EQ(ours.subspan(off).data(), theirs.subspan(off).data());
    EXPECT_EQ(ours.subspan(off).size(), theirs.subspan(off).size());
    for (std::size_t n = 0; off + n <= v.size(); ++n) {
      EXPECT_EQ(ours.subspan(off, n).data(), theirs.subspan(off, n).data());
      EXPECT_EQ(ours.subspan(off, n).size(), n);
    }
    EXPECT_EQ(ours.first(off).data(), theirs.first(off).data());
    EXPECT_EQ(ours.last(off).data(), theirs.last(off).data());
    EXPECT_EQ(ours.last(off).size(), off);
  }
  EXPECT_EQ(std::vector<int>(ours.rbegin(), ours.rend()), std::vector<int>(theirs.rbegin(), theirs.rend()));
}

TEST(Span, ConvertsBothWaysWithStdSpan) {
  std::vector<float> v{1, 2, 3, 4};
  const std::span<float> std_span(v);
  const Span<const float> from_std = std_span;  // std::span -> Span
  EXPECT_EQ(from_std.data(), v.data());
  EXPECT_EQ(sum_ours(std_span), 10);
  const Span<float> ours = v;
  const std::span<const float> to_std = ours;  // Span -> std::span (lvalue)
  EXPECT_EQ(to_std.data(), v.data());
  EXPECT_EQ(to_std.size(), 4u);
  EXPECT_EQ(sum_std(ours), 10);
  EXPECT_EQ(sum_std(view_of(v)), 10);           // a temporary Span -> std::span (a borrowed range)
  static_assert(std::ranges::contiguous_range<Span<float>> && std::ranges::borrowed_range<Span<float>>);
}

TEST(Span, PublicApiTakesVectorsAndStdSpans) {
  // ALiBi slopes from a std::vector and from a std::span give the same output as from a Span.
  attend::Tensor q(attend::DType::f32, {1, 9, 2, 8});
  for (std::int64_t i = 0; i < q.numel(); ++i) q.data_as<float>()[i] = static_cast<float>(i % 11) / 11.0f;
  const std::vector<float> slopes{0.5f, 0.25f};
  attend::Tensor a(attend::DType::f32, {1, 9, 2, 8}), b(attend::DType::f32, {1, 9, 2, 8}), none(attend::DType::f32, {1, 9, 2, 8});
  attend::AttentionOptions o;
  o.causal = true;
  attend::attention(q.view(), q.view(), q.view(), none.view(), o);
  o.alibi_slopes = slopes;
  attend::attention(q.view(), q.view(), q.view(), a.view(), o);
  o.alibi_slopes = std::span<const float>(slopes);
  attend::attention(q.view(), q.view(), q.view(), b.view(), o);
  bool differs_from_none = false;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    EXPECT_EQ(a.data_as<float>()[i], b.data_as<float>()[i]);
    differs_from_none |= a.data_as<float>()[i] != none.data_as<float>()[i];
  }
  EXPECT_TRUE(differs_from_none);  // the slopes were seen
}

}  // namespace
