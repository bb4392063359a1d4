// One logit specification (src/kernels/logit.h): every entry (attention, attention_backward,
// decode on both caches, and the double references) runs the same validation of the logit's
// options, so the same bad option gives the same message everywhere, and the head-size limit is
// the same for all of them.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "test_util.h"

namespace attend {
namespace {

// The logit options, set alike on AttentionOptions (causal, as decode always is) and DecodeOptions.
struct LogitCase {
  float scale = 0.25f, softcap = 0;
  std::int64_t window_left = -1;
  float slope = 0.5f;  // every head's ALiBi slope
};

// Every entry on 3 tokens of 2 heads with head sizes d, dv.
class Entries {
 public:
  Entries(std::int64_t d, std::int64_t dv)
      : q_(DType::f32, {1, kN, kH, d}), k_(DType::f32, {1, kN, kH, d}), v_(DType::f32, {1, kN, kH, dv}),
        out_(DType::f32, {1, kN, kH, dv}), lse_(DType::f32, {1, kH, kN}), dq_(DType::f32, {1, kN, kH, d}),
        dk_(DType::f32, {1, kN, kH, d}), dv_(DType::f32, {1, kN, kH, dv}), cache_(1, kN, kH, d, dv, DType::f32),
        paged_(4, 4, kH, d, dv, DType::f32) {
    for (const Tensor* t : {&q_, &k_, &v_, &out_, &lse_}) test::fill_uniform(*t, 1);  // out, lse: any finite values
    const TensorView k3 = TensorView::contiguous(k_.data(), DType::f32, {kN, kH, d});
    const TensorView v3 = TensorView::contiguous(v_.data(), DType::f32, {kN, kH, dv});
    cache_.append(0, k3, v3);
    paged_.append(paged_.add_sequence(), k3, v3);
  }

  // (entry, the attend::Error message it throws, or "" when it accepts the options)
  std::vector<std::pair<std::string, std::string>> messages(const LogitCase& c) {
    const std::vector<float> slopes(static_cast<std::size_t>(kH), c.slope);
    AttentionOptions ao;
    ao.scale = c.scale;
    ao.causal = true;
    ao.softcap = c.softcap;
    ao.window_left = c.window_left;
    ao.alibi_slopes = slopes;
    DecodeOptions dopt;
    dopt.scale = c.scale;
    dopt.softcap = c.softcap;
    dopt.window_left = c.window_left;
    dopt.alibi_slopes = slopes;
    Tensor o(DType::f32, out_.view().shape, 4), dec(DType::f32, {1, 1, kH, out_.dim(3)});
    TensorView q1 = q_.view();
    q1.shape[1] = 1;  // decode: the first token's query
    const AttentionGrads g{dq_.view(), dk_.view(), dv_.view(), {}};
    std::vector<std::pair<std::string, std::function<void()>>> calls{
        {"attention", [&] { attention(q_.view(), k_.view(), v_.view(), o.view(), ao); }},
        {"reference::attention", [&] { reference::attention(q_.view(), k_.view(), v_.view(), o.view(), ao); }},
        {"attention_backward",
         [&] { attention_backward(q_.view(), k_.view(), v_.view(), out_.view(), out_.view(), lse_.view(), g, ao); }},
        {"reference::attention_backward",
         [&] { reference::attention_backward(q_.view(), k_.view(), v_.view(), out_.view(), out_.view(), lse_.view(), g, ao); }},
        {"decode", [&] { decode(q1, cache_, dec.view(), dopt); }},
        {"decode", [&] { decode(q1, paged_, dec.view(), dopt); }},
    };
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [name, fn] : calls) {
      std::string msg;
      try {
        fn();
      } catch (const Error& e) {
        msg = e.what();
      }
      out.emplace_back(name, msg);
    }
    return out;
  }

 private:
  static constexpr std::int64_t kN = 3, kH = 2;
  Tensor q_, k_, v_, out_, lse_, dq_, dk_, dv_;
  KVCache cache_;
  PagedKVCache paged_;
};

// Each entry rejects the case with "<entry>: <want>".
void expect_same_error(Entries& e, const LogitCase& c, const std::string& want) {
  for (const auto& [name, msg] : e.messages(c)) EXPECT_EQ(msg, name + ": " + want);
}

TEST(LogitSpec, EveryEntryAcceptsTheSameValidOptions) {
  Entries e(16, 8);
  for (const auto& [name, msg] : e.messages({0.25f, 5.0f, 1, 0.5f})) EXPECT_EQ(msg, "") << name;
}

TEST(LogitSpec, NonFiniteAlibiSlopeRejectedByEveryEntryWithOneMessage) {
  Entries e(16, 16);
  expect_same_error(e, {.slope = std::numeric_limits<float>::quiet_NaN()}, "alibi_slopes must be finite, got nan");
  expect_same_error(e, {.slope = std::numeric_limits<float>::infinity()}, "alibi_slopes must be finite, got inf");
}

TEST(LogitSpec, BadScaleSoftcapAndWindowRejectedByEveryEntryWithOneMessage) {
  Entries e(16, 16);
  expect_same_error(e, {.scale = std::numeric_limits<float>::infinity()}, "scale must be finite, got inf");
  expect_same_error(e, {.softcap = -1.0f}, "softcap must be >= 0 and finite, got -1");
  expect_same_error(e, {.softcap = std::numeric_limits<float>::quiet_NaN()}, "softcap must be >= 0 and finite, got nan");
  expect_same_error(e, {.window_left = -3}, "window sizes must be >= 0 or -1 (unbounded), got window_left = -3");
}

TEST(LogitSpec, HeadSizeLimitIsTheSameForEveryEntry) {
  Entries at_limit(1024, 1024);  // the largest D and Dv every entry accepts
  for (const auto& [name, msg] : at_limit.messages({})) EXPECT_EQ(msg, "") << name;
  Entries wide_k(1025, 64), wide_v(64, 1025);
  expect_same_error(wide_k, {}, "head size D = 1025, Dv = 64 exceeds the supported maximum 1024");
  expect_same_error(wide_v, {}, "head size D = 64, Dv = 1025 exceeds the supported maximum 1024");
}

}  // namespace
}  // namespace attend
