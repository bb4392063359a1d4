// Many threads at once on shared read-only state give exactly (bitwise) the serial results:
// decode over one KV cache (contiguous and paged) and the model's forward, Decoder and generate
// over one set of weights. The names match the ThreadSanitizer stage's filter (*Concurren*).
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "attend/attend.h"
#include "attend/model.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::to_f32;
constexpr int kThreads = 6;

// Runs fn(t) on kThreads threads at once (each also repeats, so calls overlap).
template <typename Fn>
void run_at_once(Fn&& fn) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&fn, t] { fn(t); });
  for (auto& th : threads) th.join();
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// cache: 3 sequences of lengths 5, 67, 300 (the long one is split over threads inside decode).
// q: [3, 2, 4, 16] against G = 2 KV heads.
TEST(ConcurrentDecode, SharedCacheGivesSerialResultsBitwise) {
  const std::int64_t S = 3, G = 2, D = 16, Hq = 4, T = 2;
  const std::int64_t lens[] = {5, 67, 300};
  KVCache cache(S, 300, G, D, D, DType::f32);
  PagedKVCache paged(64, 16, G, D, D, DType::f32);
  for (std::int64_t s = 0; s < S; ++s) {
    Tensor k(DType::f32, {lens[s], G, D}), v(DType::f32, {lens[s], G, D});
    fill_uniform(k, static_cast<std::uint64_t>(10 + s));
    fill_uniform(v, static_cast<std::uint64_t>(20 + s));
    cache.append(s, k.view(), v.view());
    paged.append(paged.add_sequence(), k.view(), v.view());
  }
  Tensor q(DType::f32, {S, T, Hq, D});
  fill_uniform(q, 7);
  for (int threads : {1, 0}) {  // single-threaded calls, and each call also using the pool
    DecodeOptions opts;
    opts.threads = threads;
    Tensor expect(DType::f32, {S, T, Hq, D}), expect_lse(DType::f32, {S, Hq, T}), expect_paged(DType::f32, {S, T, Hq, D});
    decode(q.view(), cache, expect.view(), opts, expect_lse.view());
    decode(q.view(), paged, expect_paged.view(), opts);
    const auto want = to_f32(expect.view()), want_lse = to_f32(expect_lse.view()), want_paged = to_f32(expect_paged.view());
    std::vector<int> bad(kThreads, 0);
    run_at_once([&](int t) {
      Tensor o(DType::f32, {S, T, Hq, D}), lse(DType::f32, {S, Hq, T}), op(DType::f32, {S, T, Hq, D});
      for (int rep = 0; rep < 4; ++rep) {
        decode(q.view(), cache, o.view(), opts, lse.view());
        decode(q.view(), paged, op.view(), opts);
        if (!same_bits(to_f32(o.view()), want) || !same_bits(to_f32(lse.view()), want_lse) || !same_bits(to_f32(op.view()), want_paged))
          ++bad[static_cast<std::size_t>(t)];
      }
    });
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(bad[static_cast<std::size_t>(t)], 0) << "caller " << t << ", threads " << threads;
  }
}

nn::ModelConfig small_config(nn::PositionKind pos, std::int64_t kv_heads) {
  nn::ModelConfig c;
  c.vocab = 40;
  c.context = 24;
  c.d_model = 32;
  c.layers = 2;
  c.heads = 4;
  c.kv_heads = kv_heads;
  c.d_ff = 48;
  c.position = pos;
  if (pos == nn::PositionKind::rope) {
    c.norm = nn::NormKind::rmsnorm;
    c.mlp = nn::MlpKind::swiglu;
    c.bias = false;
  }
  return c;
}

// forward, incremental Decoder steps and sampled generation on shared weights, from many threads.
TEST(ConcurrentModel, SharedWeightsGiveSerialResultsBitwise) {
  for (const auto& c : {small_config(nn::PositionKind::learned, 4), small_config(nn::PositionKind::rope, 2)}) {
    const nn::Model model(c, 3);
    std::vector<std::int32_t> tokens;
    for (int i = 0; i < 17; ++i) tokens.push_back(static_cast<std::int32_t>((i * 7 + 3) % c.vocab));
    nn::Model::GenerateOptions g;
    g.max_new_tokens = 6;
    g.temperature = 0.9f;
    g.top_k = 8;
    g.seed = 11;
    const auto want_logits = to_f32(model.forward(tokens).view());
    const auto want_gen = model.generate(std::span<const std::int32_t>(tokens.data(), 5), g);
    auto decoder_logits = [&] {
      nn::Decoder dec(model);
      std::vector<float> all;
      for (std::size_t i = 0; i < tokens.size(); i += 4) {
        const auto n = std::min<std::size_t>(4, tokens.size() - i);
        const auto step = to_f32(dec.step(std::span<const std::int32_t>(tokens.data() + i, n)).view());
        all.insert(all.end(), step.begin(), step.end());
      }
      return all;
    };
    const auto want_dec = decoder_logits();
    std::vector<int> bad(kThreads, 0);
    run_at_once([&](int t) {
      for (int rep = 0; rep < 3; ++rep) {
        bool ok = true;
        if (t % 3 == 0) ok = same_bits(to_f32(model.forward(tokens).view()), want_logits);
        if (t % 3 == 1) ok = same_bits(decoder_logits(), want_dec);
        if (t % 3 == 2) ok = model.generate(std::span<const std::int32_t>(tokens.data(), 5), g) == want_gen;
        if (!ok) ++bad[static_cast<std::size_t>(t)];
      }
    });
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(bad[static_cast<std::size_t>(t)], 0) << "caller " << t << " (kind " << t % 3 << ")";
  }
}

}  // namespace
}  // namespace attend
