// The concurrency contracts of the public headers, each exercised from many threads at once and
// compared bitwise with serial results: decode over one KV cache (contiguous and paged, many
// readers); one KVCache whose sequences are appended, rolled back and decoded by different threads
// at once (kv_cache.h); the model's forward, Decoder and generate over one set of weights
// (model.h); runtime settings changed while kernels run (runtime.h). The names match the
// ThreadSanitizer stage's filter (*Concurren*).
#include <gtest/gtest.h>

#include <atomic>
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

// One KVCache, one sequence per thread: each thread appends its tokens in chunks (the eviction
// window compacts its buffer), rolls back one step now and then, and decodes its own sequence
// after every append, all at once; every output equals the same steps run serially.
TEST(ConcurrentKVCache, DistinctSequencesAppendRollBackAndDecodeAtOnce) {
  const std::int64_t G = 2, D = 16, Hq = 4, N = 90, kChunk = 3;
  KVCache cache(kThreads, 60, G, D, D, DType::bf16, EvictionPolicy{40, 2});
  std::vector<Tensor> ks, vs;
  for (int s = 0; s < kThreads; ++s) {
    ks.push_back(Tensor(DType::f32, {N, G, D}));
    vs.push_back(Tensor(DType::f32, {N, G, D}));
    fill_uniform(ks.back(), static_cast<std::uint64_t>(100 + s));
    fill_uniform(vs.back(), static_cast<std::uint64_t>(200 + s));
  }
  Tensor q(DType::f32, {1, 1, Hq, D});
  fill_uniform(q, 5);
  // Sequence s's steps; returns every decode output in order.
  auto steps = [&](int s) {
    std::vector<float> outs;
    const std::vector<std::int64_t> ids{s};
    DecodeOptions o;
    o.sequences = ids;
    o.threads = s % 2;  // half the callers also ask for the pool
    Tensor out(DType::f32, {1, 1, Hq, D});
    for (std::int64_t i = 0; i < N; i += kChunk) {
      auto rows = [&](const Tensor& t) {
        TensorView r = t.view();
        r.data = t.data_as<float>() + i * G * D;
        r.shape[0] = kChunk;
        return r;
      };
      cache.append(s, rows(ks[static_cast<std::size_t>(s)]), rows(vs[static_cast<std::size_t>(s)]));
      if ((i / kChunk) % 5 == 4) {  // roll back the last token and append it again
        cache.truncate(s, cache.length(s) - 1);
        TensorView k1 = rows(ks[static_cast<std::size_t>(s)]), v1 = rows(vs[static_cast<std::size_t>(s)]);
        k1.data = static_cast<float*>(k1.data) + (kChunk - 1) * G * D;
        v1.data = static_cast<float*>(v1.data) + (kChunk - 1) * G * D;
        k1.shape[0] = v1.shape[0] = 1;
        cache.append(s, k1, v1);
      }
      decode(q.view(), cache, out.view(), o);
      const auto r = to_f32(out.view());
      outs.insert(outs.end(), r.begin(), r.end());
    }
    return outs;
  };
  std::vector<std::vector<float>> want;
  for (int s = 0; s < kThreads; ++s) want.push_back(steps(s));
  for (int s = 0; s < kThreads; ++s) cache.clear(s);
  std::vector<std::vector<float>> got(kThreads);
  run_at_once([&](int t) { got[static_cast<std::size_t>(t)] = steps(t); });
  for (int s = 0; s < kThreads; ++s) {
    EXPECT_TRUE(same_bits(got[static_cast<std::size_t>(s)], want[static_cast<std::size_t>(s)])) << "sequence " << s;
    EXPECT_EQ(cache.length(s), N);
  }
}

// Threads run attention and decode while another changes the thread count and the SIMD path: a
// call reads both once when it starts, so each result is bitwise the result of one path (the
// forward and decode do not depend on the thread count).
TEST(ConcurrentRuntime, SettingsChangeWhileKernelsRun) {
  std::vector<Isa> isas{Isa::scalar};
  if (detected_isa() >= Isa::avx2) isas.push_back(Isa::avx2);
  if (detected_isa() >= Isa::avx512) isas.push_back(Isa::avx512);
  const std::int64_t N = 150, H = 4, D = 32;
  Tensor q(DType::f32, {1, N, H, D}), k(DType::f32, {1, N, 2, D}), v(DType::f32, {1, N, 2, D});
  fill_uniform(q, 1);
  fill_uniform(k, 2);
  fill_uniform(v, 3);
  KVCache cache(1, N, 2, D, D, DType::f32);
  cache.append(0, TensorView::contiguous(k.data(), DType::f32, {N, 2, D}), TensorView::contiguous(v.data(), DType::f32, {N, 2, D}));
  TensorView q1 = q.view();
  q1.shape[1] = 1;
  AttentionOptions ao;
  ao.causal = true;
  auto forward = [&] {
    Tensor o(DType::f32, {1, N, H, D});
    attention(q.view(), k.view(), v.view(), o.view(), ao);
    return to_f32(o.view());
  };
  auto step = [&] {
    Tensor o(DType::f32, {1, 1, H, D});
    decode(q1, cache, o.view());
    return to_f32(o.view());
  };
  std::vector<std::vector<float>> want_fwd, want_dec;  // per path
  for (Isa isa : isas) {
    set_isa_override(isa);
    want_fwd.push_back(forward());
    want_dec.push_back(step());
  }
  clear_isa_override();
  auto one_of = [](const std::vector<float>& got, const std::vector<std::vector<float>>& want) {
    for (const auto& w : want)
      if (same_bits(got, w)) return true;
    return false;
  };
  std::atomic<bool> stop{false};
  std::thread changer([&] {
    for (int i = 0; !stop.load(); ++i) {
      set_isa_override(isas[static_cast<std::size_t>(i) % isas.size()]);
      set_num_threads(i % 3);  // 0 (hardware), 1, 2
      if (i % 4 == 3) clear_isa_override();
      std::this_thread::yield();
    }
  });
  std::vector<int> bad(kThreads, 0);
  run_at_once([&](int t) {
    for (int rep = 0; rep < 4; ++rep) {
      const bool ok = t % 2 == 0 ? one_of(forward(), want_fwd) : one_of(step(), want_dec);
      if (!ok) ++bad[static_cast<std::size_t>(t)];
    }
  });
  stop.store(true);
  changer.join();
  clear_isa_override();
  set_num_threads(0);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(bad[static_cast<std::size_t>(t)], 0) << "caller " << t;
}

}  // namespace
}  // namespace attend
