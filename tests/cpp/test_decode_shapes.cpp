// Decode on every SIMD path against the double reference of the forward: odd head sizes (7, 65,
// D ≠ Dv), group sizes 1 and 8, a single cached token, windows that mask whole chunks, softcap and
// ALiBi, and several new tokens per sequence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::rel_l2;
using test::to_f32;

struct Case {
  std::int64_t n, t, g, hq, d, dv;
  std::int64_t window_left = -1;
  float softcap = 0;
  bool alibi = false;
};

// The specification of decode: reference::attention (double) of the T new tokens against the n
// cached ones rounded to the cache dtype, with the forward's own options (causal bottom-right,
// window_left, soft-cap, ALiBi): decode's masks and logit are the forward's.
std::vector<float> reference(const Case& c, DType dt, const std::vector<float>& q, const std::vector<float>& k,
                             const std::vector<float>& v, const std::vector<float>& slopes) {
  Tensor qt(DType::f32, {1, c.t, c.hq, c.d}), kt(dt, {1, c.n, c.g, c.d}), vt(dt, {1, c.n, c.g, c.dv});
  std::copy(q.begin(), q.end(), qt.data_as<float>());
  convert_from_f32(k.data(), kt.data(), dt, k.size());
  convert_from_f32(v.data(), vt.data(), dt, v.size());
  AttentionOptions o;
  o.causal = true;
  o.window_left = c.window_left;
  o.softcap = c.softcap;
  if (c.alibi) o.alibi_slopes = slopes;
  Tensor out(DType::f32, {1, c.t, c.hq, c.dv});
  reference::attention(qt.view(), kt.view(), vt.view(), out.view(), o);
  return to_f32(out.view());
}

std::string describe(const Case& c, DType dt, Isa isa) {
  return std::string(isa_name(isa)) + " " + std::string(dtype_name(dt)) + " n=" + std::to_string(c.n) + " T=" + std::to_string(c.t) +
         " G=" + std::to_string(c.g) + " Hq=" + std::to_string(c.hq) + " D=" + std::to_string(c.d) + " Dv=" + std::to_string(c.dv) +
         " window=" + std::to_string(c.window_left) + " softcap=" + std::to_string(c.softcap) + (c.alibi ? " alibi" : "");
}

TEST(DecodeShapes, EverySimdPathEqualsTheForwardReference) {
  std::vector<Isa> isas{Isa::scalar};
  if (detected_isa() != Isa::scalar) isas.push_back(Isa::avx2);
  if (detected_isa() == Isa::avx512) isas.push_back(Isa::avx512);
  const std::vector<Case> cases{
      {1, 1, 1, 1, 7, 7},            // a single cached token, one head
      {1, 1, 8, 8, 65, 65},          // L = 1, group 1, odd D past a 64-dim register block
      {37, 1, 1, 8, 7, 65},          // MQA (group 8), D ≠ Dv, ragged last key block
      {100, 3, 2, 16, 65, 7},        // group 8, three new tokens (24 rows per KV head)
      {130, 1, 8, 32, 128, 128},     // the benchmark's head layout
      {1000, 2, 2, 6, 33, 33, 5},    // a window: the first chunk is fully masked for both tokens
      {600, 1, 1, 3, 64, 64, -1, 2.0f, true},  // softcap and ALiBi, group 3 (a 3-row block)
      // AVX-512 bf16 reads full 32-element chunks in even/odd order: a pair then a ragged 16 (50),
      // pairs then a full single 16 (96, 80), a pair then a 1-element tail (33, D ≠ Dv)
      {45, 1, 2, 8, 50, 50},
      {70, 2, 1, 4, 96, 80},
      {19, 1, 4, 4, 33, 64},
  };
  for (Isa isa : isas)
    for (DType dt : {DType::f32, DType::bf16, DType::f16})
      for (const Case& c : cases) {
        std::vector<float> k(static_cast<std::size_t>(c.n * c.g * c.d)), v(static_cast<std::size_t>(c.n * c.g * c.dv));
        Tensor kt(DType::f32, {c.n, c.g, c.d}), vt(DType::f32, {c.n, c.g, c.dv});
        fill_uniform(kt, static_cast<std::uint64_t>(c.n + c.d));
        fill_uniform(vt, static_cast<std::uint64_t>(c.n + c.dv + 1));
        KVCache cache(1, c.n, c.g, c.d, c.dv, dt);
        cache.append(0, kt.view(), vt.view());
        Tensor q(DType::f32, {1, c.t, c.hq, c.d}), out(DType::f32, {1, c.t, c.hq, c.dv});
        fill_uniform(q, 11, -2, 2);
        std::vector<float> slopes;
        for (std::int64_t h = 0; h < c.hq; ++h) slopes.push_back(0.5f / static_cast<float>(h + 1));
        DecodeOptions o;
        o.window_left = c.window_left;
        o.softcap = c.softcap;
        if (c.alibi) o.alibi_slopes = slopes;
        set_isa_override(isa);
        decode(q.view(), cache, out.view(), o);
        clear_isa_override();
        const auto want = reference(c, dt, to_f32(q.view()), to_f32(kt.view()), to_f32(vt.view()), slopes);
        EXPECT_LE(rel_l2(to_f32(out.view()), want), 1e-5) << describe(c, dt, isa);
      }
}

// Sequences long enough for chunks of 1024 and 2048 tokens (decode_chunk), on every path and
// cache dtype; one with a window that masks the first chunks entirely.
TEST(DecodeShapes, LongSequencesTakeLongerChunks) {
  std::vector<Isa> isas{Isa::scalar};
  if (detected_isa() != Isa::scalar) isas.push_back(Isa::avx2);
  if (detected_isa() == Isa::avx512) isas.push_back(Isa::avx512);
  const std::vector<Case> cases{
      {20000, 1, 1, 2, 16, 16},
      {70001, 1, 1, 2, 33, 8, 9000},
  };
  for (const Case& c : cases) {
    Tensor kt(DType::f32, {c.n, c.g, c.d}), vt(DType::f32, {c.n, c.g, c.dv});
    fill_uniform(kt, 31);
    fill_uniform(vt, 32);
    Tensor q(DType::f32, {1, c.t, c.hq, c.d});
    fill_uniform(q, 33, -2, 2);
    for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
      KVCache cache(1, c.n, c.g, c.d, c.dv, dt);
      cache.append(0, kt.view(), vt.view());
      const auto want = reference(c, dt, to_f32(q.view()), to_f32(kt.view()), to_f32(vt.view()), {});
      for (Isa isa : isas) {
        Tensor o1(DType::f32, {1, c.t, c.hq, c.dv}), o2(DType::f32, {1, c.t, c.hq, c.dv});
        DecodeOptions o;
        o.window_left = c.window_left;
        set_isa_override(isa);
        o.threads = 1;
        decode(q.view(), cache, o1.view(), o);
        o.threads = 2;
        decode(q.view(), cache, o2.view(), o);
        clear_isa_override();
        EXPECT_LE(rel_l2(to_f32(o1.view()), want), 1e-5) << describe(c, dt, isa);
        EXPECT_EQ(to_f32(o1.view()), to_f32(o2.view())) << describe(c, dt, isa);  // the split does not depend on threads
      }
    }
  }
}

// A sink + window cache after many evictions (the middle of the sequence is gone) and a paged
// cache with small blocks (many 5-token segments): every path against the contiguous f32 result.
TEST(DecodeShapes, EvictedAndPagedSegmentsOnEveryPath) {
  std::vector<Isa> isas{Isa::scalar};
  if (detected_isa() != Isa::scalar) isas.push_back(Isa::avx2);
  if (detected_isa() == Isa::avx512) isas.push_back(Isa::avx512);
  const std::int64_t G = 2, H = 8, D = 65, N = 203;
  Tensor k(DType::f32, {N, G, D}), v(DType::f32, {N, G, D});
  fill_uniform(k, 21);
  fill_uniform(v, 22);
  Tensor q(DType::f32, {1, 1, H, D});
  fill_uniform(q, 23);
  for (Isa isa : isas)
    for (DType dt : {DType::bf16, DType::f16}) {
      KVCache evicting(1, 60, G, D, D, dt, EvictionPolicy{40, 3});
      PagedKVCache paged(64, 5, G, D, D, dt);
      const std::int64_t s = paged.add_sequence();
      KVCache whole(1, N, G, D, D, dt);
      for (std::int64_t i = 0; i < N; i += 9) {
        const std::int64_t c = std::min<std::int64_t>(9, N - i);
        TensorView kc = k.view(), vc = v.view();
        kc.data = k.data_as<float>() + i * G * D;
        vc.data = v.data_as<float>() + i * G * D;
        kc.shape[0] = vc.shape[0] = c;
        evicting.append(0, kc, vc);
        paged.append(s, kc, vc);
        whole.append(0, kc, vc);
      }
      set_isa_override(isa);
      Tensor o1(DType::f32, {1, 1, H, D}), o2(DType::f32, {1, 1, H, D}), o3(DType::f32, {1, 1, H, D});
      decode(q.view(), evicting, o1.view());
      const std::vector<std::int64_t> ids{s};
      DecodeOptions ps;
      ps.sequences = ids;
      decode(q.view(), paged, o2.view(), ps);
      decode(q.view(), whole, o3.view());
      clear_isa_override();
      // Evicted: attention over positions {0, 1, 2} ∪ [N − 40, N) of the whole stream.
      std::vector<float> kk, vv;
      std::vector<std::int64_t> pos{0, 1, 2};
      for (std::int64_t p = N - 40; p < N; ++p) pos.push_back(p);
      for (std::int64_t p : pos) {
        kk.insert(kk.end(), k.data_as<float>() + p * G * D, k.data_as<float>() + (p + 1) * G * D);
        vv.insert(vv.end(), v.data_as<float>() + p * G * D, v.data_as<float>() + (p + 1) * G * D);
      }
      const Case c{static_cast<std::int64_t>(pos.size()), 1, G, H, D, D};
      EXPECT_LE(rel_l2(to_f32(o1.view()), reference(c, dt, to_f32(q.view()), kk, vv, {})), 1e-5) << isa_name(isa);
      const Case full{N, 1, G, H, D, D};
      const auto want = reference(full, dt, to_f32(q.view()), to_f32(k.view()), to_f32(v.view()), {});
      EXPECT_LE(rel_l2(to_f32(o2.view()), want), 1e-5) << isa_name(isa);
      EXPECT_LE(rel_l2(to_f32(o3.view()), want), 1e-5) << isa_name(isa);
    }
}

}  // namespace
}  // namespace attend
