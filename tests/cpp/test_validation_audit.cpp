// Validation gaps found by an audit of the entry points: each test asserts the error names the
// offending argument.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>

#include "attend/attend.h"
#include "attend/model.h"
#include "test_util.h"

namespace attend {
namespace {

void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected attend::Error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// decode's out or lse aliasing the cached keys/values (or lse aliasing q/out) is rejected.
TEST(Validation, DecodeOutputsMayNotAliasTheCacheOrEachOther) {
  KVCache cache(1, 8, 1, 4, 4, DType::f32);
  Tensor k(DType::f32, {8, 1, 4});
  test::fill_uniform(k, 1);
  cache.append(0, k.view(), k.view());
  Tensor q(DType::f32, {1, 2, 1, 4});
  test::fill_uniform(q, 2);
  // out = the cache's first two cached keys viewed as [1, 2, 1, 4]
  const TensorView keys = cache.keys(0);
  TensorView out_on_keys = TensorView::contiguous(const_cast<void*>(keys.data), DType::f32, {1, 2, 1, 4});
  expect_error([&] { decode(q.view(), cache, out_on_keys); }, "out overlaps the cache");
  const TensorView values = cache.values(0);
  TensorView out_on_values = TensorView::contiguous(const_cast<void*>(values.data), DType::f32, {1, 2, 1, 4});
  expect_error([&] { decode(q.view(), cache, out_on_values); }, "out overlaps the cache");
  Tensor out(DType::f32, {1, 2, 1, 4});
  TensorView lse_on_out = TensorView::contiguous(out.data(), DType::f32, {1, 1, 2});
  expect_error([&] { decode(q.view(), cache, out.view(), {}, lse_on_out); }, "lse");
  PagedKVCache paged(4, 4, 1, 4, 4, DType::f32);
  paged.append(paged.add_sequence(), k.view(), k.view());
  const KVSegment seg = paged.segments(0)[0];
  TensorView out_on_block = TensorView::contiguous(const_cast<void*>(seg.v), DType::f32, {1, 2, 1, 4});
  expect_error([&] { decode(q.view(), paged, out_on_block); }, "out overlaps the cache");
  decode(q.view(), cache, out.view());  // a separate out is fine
}

// window + sink_tokens must not overflow int64 in the capacity check.
TEST(Validation, KVCacheHugeWindowIsRejectedWithoutOverflow) {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  expect_error([&] { KVCache(1, 8, 1, 4, 4, DType::f32, EvictionPolicy{big, big}); }, "capacity 8 cannot hold the window");
  expect_error([&] { KVCache(1, 8, 1, 4, 4, DType::f32, EvictionPolicy{4, big}); }, "capacity 8 cannot hold the window");
}

// A model whose parameters need more memory than the machine has fails before allocating.
TEST(Validation, HugeModelFailsEarlyWithAMessage) {
  nn::ModelConfig c;
  c.vocab = 1 << 24;
  c.d_model = 65536;
  c.heads = 64;
  c.kv_heads = 64;
  c.d_ff = 1 << 18;
  c.layers = 256;
  expect_error([&] { nn::Model m(c, 1); }, "memory");
}

// Each bad generation option is named in the error (previously one message listed three).
TEST(Validation, GenerateOptionsNameTheArgument) {
  nn::ModelConfig c;
  c.vocab = 8;
  c.context = 8;
  c.d_model = 8;
  c.heads = 2;
  c.kv_heads = 2;
  c.d_ff = 8;
  c.layers = 1;
  const nn::Model m(c, 1);
  const std::int32_t prompt[] = {1, 2};
  auto with = [&](auto set, const std::string& needle) {
    nn::Model::GenerateOptions o;
    set(o);
    expect_error([&] { (void)m.generate(prompt, o); }, needle);
  };
  with([](auto& o) { o.max_new_tokens = -1; }, "max_new_tokens");
  with([](auto& o) { o.temperature = -0.5f; }, "temperature");
  with([](auto& o) { o.temperature = std::numeric_limits<float>::quiet_NaN(); }, "temperature");
  with([](auto& o) { o.top_k = -2; }, "top_k");
  with([](auto& o) { o.top_p = 0; }, "top_p");
  with([](auto& o) { o.top_p = 1.5f; }, "top_p");
  with([](auto& o) { o.stop_token = 8; }, "stop_token");
  with([](auto& o) { o.stop_token = -7; }, "stop_token");
  const std::int32_t bad_prompt[] = {1, 9};
  expect_error([&] { (void)m.generate(bad_prompt, {}); }, "token 9");
  nn::Model::GenerateOptions ok;
  ok.max_new_tokens = 0;
  EXPECT_TRUE(m.generate(prompt, ok).empty());
}

}  // namespace
}  // namespace attend
