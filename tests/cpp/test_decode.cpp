// KV caches and decode attention against the double reference over the same (kept) keys.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "attend/attend.h"
#include "test_util.h"

namespace attend {
namespace {

using test::supported_isas;

using test::fill_uniform;
using test::rel_l2;
using test::to_f32;

// Reference for decode: q [1, T, Hq, D] against the given positions' keys (gathered rows of the
// full f32 K/V [N, G, D] rounded to the cache dtype), causal by position, optional ALiBi by position.
std::vector<float> reference_decode(const Tensor& q, const Tensor& k_full, const Tensor& v_full, DType cache_dtype,
                                    const std::vector<std::int64_t>& positions, std::int64_t len, const std::vector<float>& slopes = {}) {
  const std::int64_t T = q.dim(1), H = q.dim(2), D = q.dim(3), G = k_full.dim(1), Dv = v_full.dim(2);
  const auto n = static_cast<std::int64_t>(positions.size());
  Tensor k(cache_dtype, {1, n, G, D}), v(cache_dtype, {1, n, G, Dv});
  for (std::int64_t i = 0; i < n; ++i) {
    convert_from_f32(k_full.data_as<float>() + positions[static_cast<std::size_t>(i)] * G * D, static_cast<char*>(k.data()) + i * G * D * dtype_size(cache_dtype), cache_dtype, static_cast<std::size_t>(G * D));
    convert_from_f32(v_full.data_as<float>() + positions[static_cast<std::size_t>(i)] * G * Dv, static_cast<char*>(v.data()) + i * G * Dv * dtype_size(cache_dtype), cache_dtype, static_cast<std::size_t>(G * Dv));
  }
  // Causality and ALiBi by position through an additive bias (the gathered index is not the position).
  Tensor bias(DType::f32, {1, H, T, n});
  for (std::int64_t h = 0; h < H; ++h)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t qpos = len - T + t, pos = positions[static_cast<std::size_t>(i)];
        float b = pos > qpos ? -INFINITY : 0.0f;
        if (!slopes.empty() && pos <= qpos) b -= slopes[static_cast<std::size_t>(h)] * static_cast<float>(qpos - pos);
        bias.data_as<float>()[((h * T) + t) * n + i] = b;
      }
  AttentionOptions opts;
  opts.bias = bias.view();
  Tensor out(DType::f32, {1, T, H, Dv});
  reference::attention(q.view(), k.view(), v.view(), out.view(), opts);
  return to_f32(out.view());
}

double tol_for(DType t) { return t == DType::f32 ? 1e-5 : 1e-5; }  // the reference sees the same rounded K/V

struct Stream {  // N tokens of random K/V for one sequence
  Tensor k, v;
  Stream(std::int64_t n, std::int64_t g, std::int64_t d, std::int64_t dv, std::uint64_t seed)
      : k(DType::f32, {n, g, d}), v(DType::f32, {n, g, dv}) {
    fill_uniform(k, seed);
    fill_uniform(v, seed + 1);
  }
  TensorView rows(const Tensor& t, std::int64_t from, std::int64_t count) const {
    TensorView r = t.view();
    r.data = t.data_as<float>() + from * t.dim(1) * t.dim(2);
    r.shape[0] = count;
    return r;
  }
};

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
  return p;
}

TEST(Decode, EqualsAttentionOverTheWholeSequence) {
  for (DType dt : {DType::f32, DType::bf16, DType::f16})
    for (std::int64_t n : {1, 7, 65, 1000})
      for (std::int64_t T : {1, 3}) {
        if (T > n) continue;
        const std::int64_t G = 2, H = 8, D = 64;
        Stream st(n, G, D, D, static_cast<std::uint64_t>(n));
        KVCache cache(1, n, G, D, D, dt);
        cache.append(0, st.rows(st.k, 0, n - T), st.rows(st.v, 0, n - T));
        cache.append(0, st.rows(st.k, n - T, T), st.rows(st.v, n - T, T));
        Tensor q(DType::f32, {1, T, H, D}), out(DType::f32, {1, T, H, D}), lse(DType::f32, {1, H, T});
        fill_uniform(q, 99);
        decode(q.view(), cache, out.view(), {}, lse.view());
        const auto want = reference_decode(q, st.k, st.v, dt, iota(n), n);
        EXPECT_LE(rel_l2(to_f32(out.view()), want), tol_for(dt)) << dtype_name(dt) << " n=" << n << " T=" << T;
        for (float x : to_f32(lse.view())) EXPECT_TRUE(std::isfinite(x));
      }
}

// Every SIMD path (scalar, AVX2, AVX-512) against the reference: MQA (one KV head, 7 query heads:
// a 4-row block plus 3 single rows), an odd head size, a ragged last block.
// Decode of T new tokens over a cache holding n tokens (G KV heads, H query heads, head size D),
// on one SIMD path, against the double reference: the relative L2 error.
double full_cache_decode_error(Isa isa, std::int64_t n, std::int64_t T, std::int64_t G, std::int64_t H, std::int64_t D,
                               DType dt, std::uint64_t seed) {
  Stream st(n, G, D, D, seed);
  KVCache cache(1, n, G, D, D, dt);
  cache.append(0, st.rows(st.k, 0, n), st.rows(st.v, 0, n));
  Tensor q(DType::f32, {1, T, H, D}), out(DType::f32, {1, T, H, D});
  fill_uniform(q, seed + 2);
  set_isa_override(isa);
  decode(q.view(), cache, out.view());
  clear_isa_override();
  return rel_l2(to_f32(out.view()), reference_decode(q, st.k, st.v, dt, iota(n), n));
}

TEST(Decode, EverySimdPathEqualsTheReference) {
  for (Isa isa : supported_isas())
    for (DType dt : {DType::f32, DType::bf16})
      EXPECT_LE(full_cache_decode_error(isa, 65, 2, 1, 7, 33, dt, 5), tol_for(dt)) << isa_name(isa) << " " << dtype_name(dt);
}

// More than 16 query rows per KV head (18: more than one AVX-512 vector of rows) and two KV heads,
// f16 cache, every SIMD path.
TEST(Decode, ManyRowsPerKvHeadEqualTheReference) {
  for (Isa isa : supported_isas()) EXPECT_LE(full_cache_decode_error(isa, 40, 1, 2, 36, 16, DType::f16, 11), 1e-5) << isa_name(isa);
}

TEST(Decode, EvictionWindowAndSinksEqualAttentionOverKeptTokens) {
  const std::int64_t G = 1, H = 4, D = 32, N = 300;
  for (EvictionPolicy pol : {EvictionPolicy{64, 0}, EvictionPolicy{64, 4}, EvictionPolicy{10, 1}}) {
    Stream st(N, G, D, D, 5);
    KVCache cache(1, pol.window + pol.sink_tokens + 20, G, D, D, DType::f32, pol);
    std::vector<float> slopes{0.5f, 0.25f, 0.125f, 0.0625f};
    for (std::int64_t i = 0; i < N; i += 7) {  // ragged appends force compactions
      const std::int64_t c = std::min<std::int64_t>(7, N - i);
      cache.append(0, st.rows(st.k, i, c), st.rows(st.v, i, c));
      Tensor q(DType::f32, {1, 1, H, D}), out(DType::f32, {1, 1, H, D});
      fill_uniform(q, static_cast<std::uint64_t>(i));
      DecodeOptions o;
      o.alibi_slopes = slopes;
      decode(q.view(), cache, out.view(), o);
      const std::int64_t len = i + c;
      std::vector<std::int64_t> kept;
      for (std::int64_t p = 0; p < len; ++p)
        if (p < pol.sink_tokens || p >= len - pol.window) kept.push_back(p);
      EXPECT_EQ(cache.kept_positions(0), kept);
      EXPECT_LE(rel_l2(to_f32(out.view()), reference_decode(q, st.k, st.v, DType::f32, kept, len, slopes)), 1e-5)
          << "window " << pol.window << " sinks " << pol.sink_tokens << " len " << len;
    }
  }
}

TEST(Decode, PagedEqualsContiguousAndForkIsCopyOnWrite) {
  const std::int64_t G = 2, H = 4, D = 32, N = 100;
  Stream a(N, G, D, D, 1), b(N, G, D, D, 2);
  PagedKVCache paged(64, 16, G, D, D, DType::bf16);
  const std::int64_t s0 = paged.add_sequence();
  paged.append(s0, a.rows(a.k, 0, 40), a.rows(a.v, 0, 40));  // shared prefix (2.5 blocks)
  const std::int64_t s1 = paged.fork(s0);
  EXPECT_EQ(paged.block_table(s1), paged.block_table(s0));
  paged.append(s0, a.rows(a.k, 40, 60), a.rows(a.v, 40, 60));
  // s1 continues with b's tokens 40.. : its rows 0..39 are a's, then b's.
  Tensor mixk(DType::f32, {N, G, D}), mixv(DType::f32, {N, G, D});
  std::copy_n(a.k.data_as<float>(), 40 * G * D, mixk.data_as<float>());
  std::copy_n(a.v.data_as<float>(), 40 * G * D, mixv.data_as<float>());
  std::copy_n(b.k.data_as<float>() + 40 * G * D, 60 * G * D, mixk.data_as<float>() + 40 * G * D);
  std::copy_n(b.v.data_as<float>() + 40 * G * D, 60 * G * D, mixv.data_as<float>() + 40 * G * D);
  paged.append(s1, b.rows(b.k, 40, 60), b.rows(b.v, 40, 60));
  EXPECT_NE(paged.block_table(s1)[2], paged.block_table(s0)[2]);  // the partly shared block was copied
  EXPECT_EQ(paged.block_table(s1)[0], paged.block_table(s0)[0]);  // full prefix blocks stay shared
  Tensor q(DType::f32, {2, 1, H, D}), out(DType::f32, {2, 1, H, D});
  fill_uniform(q, 3);
  const std::vector<std::int64_t> ids{s0, s1};
  DecodeOptions o;
  o.sequences = ids;
  decode(q.view(), paged, out.view(), o);
  KVCache contiguous(2, N, G, D, D, DType::bf16);
  contiguous.append(0, a.rows(a.k, 0, N), a.rows(a.v, 0, N));
  contiguous.append(1, TensorView::contiguous(mixk.data(), DType::f32, {N, G, D}), TensorView::contiguous(mixv.data(), DType::f32, {N, G, D}));
  Tensor out2(DType::f32, {2, 1, H, D});
  decode(q.view(), contiguous, out2.view());
  EXPECT_EQ(to_f32(out.view()), to_f32(out2.view()));  // same values, same order, same arithmetic
  const std::int64_t before = paged.free_blocks();
  paged.remove_sequence(s1);
  EXPECT_GT(paged.free_blocks(), before);
}

TEST(Decode, RollbackRestoresTheExactState) {
  const std::int64_t G = 2, H = 4, D = 32;
  Stream a(60, G, D, D, 1), b(60, G, D, D, 2);
  KVCache c1(1, 100, G, D, D, DType::f16), c2(1, 100, G, D, D, DType::f16);
  c1.append(0, a.rows(a.k, 0, 40), a.rows(a.v, 0, 40));
  c1.append(0, b.rows(b.k, 40, 15), b.rows(b.v, 40, 15));  // speculative tokens, rejected:
  c1.truncate(0, 40);
  c1.append(0, a.rows(a.k, 40, 20), a.rows(a.v, 40, 20));
  c2.append(0, a.rows(a.k, 0, 60), a.rows(a.v, 0, 60));
  Tensor q(DType::f32, {1, 2, H, D}), o1(DType::f32, {1, 2, H, D}), o2(DType::f32, {1, 2, H, D});
  fill_uniform(q, 4);
  decode(q.view(), c1, o1.view());
  decode(q.view(), c2, o2.view());
  EXPECT_EQ(to_f32(o1.view()), to_f32(o2.view()));
  PagedKVCache p(16, 8, G, D, D, DType::f32);
  const std::int64_t s = p.add_sequence();
  p.append(s, a.rows(a.k, 0, 30), a.rows(a.v, 0, 30));
  p.truncate(s, 9);
  EXPECT_EQ(p.block_table(s).size(), 2u);
  EXPECT_EQ(p.free_blocks(), 14);
}

TEST(Decode, ChunkedPrefillEqualsOneCall) {
  const std::int64_t G = 2, H = 4, D = 32, N = 200;
  Stream st(N, G, D, D, 8);
  Tensor q(DType::f32, {1, N, H, D});
  fill_uniform(q, 9);
  Tensor full(DType::f32, {1, N, H, D});
  AttentionOptions causal;
  causal.causal = true;
  attention(q.view(), TensorView::contiguous(st.k.data(), DType::f32, {1, N, G, D}),
            TensorView::contiguous(st.v.data(), DType::f32, {1, N, G, D}), full.view(), causal);
  KVCache cache(1, N, G, D, D, DType::f32);
  std::vector<float> pieces;
  for (std::int64_t i = 0; i < N; i += 64) {
    const std::int64_t c = std::min<std::int64_t>(64, N - i);
    cache.append(0, st.rows(st.k, i, c), st.rows(st.v, i, c));
    TensorView qc = q.view();
    qc.data = q.data_as<float>() + i * H * D;
    qc.shape[1] = c;
    Tensor oc(DType::f32, {1, c, H, D});
    decode(qc, cache, oc.view());
    const auto v = to_f32(oc.view());
    pieces.insert(pieces.end(), v.begin(), v.end());
  }
  EXPECT_LE(rel_l2(pieces, to_f32(full.view())), 1e-5);
}

TEST(Decode, ParallelSplitIsDeterministic) {
  const std::int64_t G = 1, H = 4, D = 64, N = 3000;
  Stream st(N, G, D, D, 3);
  KVCache cache(1, N, G, D, D, DType::f32);
  cache.append(0, st.rows(st.k, 0, N), st.rows(st.v, 0, N));
  Tensor q(DType::f32, {1, 1, H, D}), o1(DType::f32, {1, 1, H, D}), o2(DType::f32, {1, 1, H, D});
  fill_uniform(q, 4);
  DecodeOptions o;
  o.threads = 1;
  decode(q.view(), cache, o1.view(), o);
  o.threads = 2;
  decode(q.view(), cache, o2.view(), o);
  EXPECT_EQ(to_f32(o1.view()), to_f32(o2.view()));
  EXPECT_LE(rel_l2(to_f32(o1.view()), reference_decode(q, st.k, st.v, DType::f32, iota(N), N)), 1e-5);
}

TEST(Decode, BadInputNamesTheProblem) {
  KVCache cache(2, 8, 2, 16, 16, DType::f32);
  Tensor q(DType::f32, {2, 1, 3, 16}), out(DType::f32, {2, 1, 3, 16});
  EXPECT_THROW(decode(q.view(), cache, out.view()), Error);  // 2 cache heads do not divide 3
  Tensor q4(DType::f32, {2, 1, 4, 16}), o4(DType::f32, {2, 1, 4, 16});
  try {
    decode(q4.view(), cache, o4.view());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cached tokens"), std::string::npos) << e.what();
  }
  Tensor k(DType::f32, {9, 2, 16});
  EXPECT_THROW(cache.append(0, k.view(), k.view()), Error);  // over capacity
  EXPECT_THROW(cache.append(5, k.view(), k.view()), Error);  // no such sequence
  EXPECT_THROW(cache.truncate(0, 3), Error);                 // longer than the sequence
  EXPECT_THROW(KVCache(1, 4, 1, 8, 8, DType::f32, EvictionPolicy{8, 0}), Error);
  PagedKVCache p(1, 4, 2, 16, 16, DType::f32);
  const std::int64_t s = p.add_sequence();
  Tensor k5(DType::f32, {5, 2, 16});
  EXPECT_THROW(p.append(s, k5.view(), k5.view()), Error);  // pool exhausted
}

}  // namespace
}  // namespace attend
