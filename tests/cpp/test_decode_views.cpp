// Decode over the caller's own K/V memory (attend/decode.h: KVView, PagedKVView) against the
// double reference: every dtype, token-major and head-major layouts with padding, several
// sequences of lengths 1, 7, 65, 1000 and 0 (an empty slot: out 0, lse −inf) in one call, GQA,
// shuffled block tables over a pool whose unused blocks and padding hold NaN (so a read of anything
// the view does not describe shows), and the errors a bad view gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::rel_l2;
using test::to_f32;

constexpr std::int64_t G = 2, H = 6, D = 40, Dv = 24;  // GQA 3:1, widths that are not multiples of 16
const std::vector<std::int64_t> kLengths = {65, 1, 1000, 0, 7};

// Element strides of a [tokens, G, W] layout: token-major ([L, G, W], `pad` spare elements after
// each token) or head-major ([G, L, W], `pad` after each row and each head).
struct Strides {
  std::int64_t ts, hs;
};
Strides strides_of(bool head_major, std::int64_t tokens, std::int64_t w, std::int64_t pad) {
  if (!head_major) return {G * w + pad, w};
  return {w + pad, tokens * (w + pad) + pad};
}
std::int64_t extent_of(Strides s, std::int64_t tokens, std::int64_t w) { return (tokens - 1) * s.ts + (G - 1) * s.hs + w; }

// Writes the [len, G, W] dtype tensor src into dst (dtype elements) at base + t·ts + g·hs.
void scatter(const Tensor& src, std::int64_t len, std::int64_t w, Strides s, void* dst, std::int64_t base) {
  const std::size_t es = dtype_size(src.dtype());
  for (std::int64_t t = 0; t < len; ++t)
    for (std::int64_t g = 0; g < G; ++g)
      std::memcpy(static_cast<char*>(dst) + static_cast<std::size_t>(base + t * s.ts + g * s.hs) * es,
                  static_cast<const char*>(src.data()) + static_cast<std::size_t>((t * G + g) * w) * es, static_cast<std::size_t>(w) * es);
}

std::vector<unsigned char> nan_buffer(std::int64_t elems, DType dt) {  // all-ones bytes: NaN in f32, bf16 and f16
  return std::vector<unsigned char>(static_cast<std::size_t>(std::max<std::int64_t>(1, elems)) * dtype_size(dt), 0xFF);
}

// The sequences' keys and values (dtype-rounded), queries and the reference per sequence.
struct Batch {
  DType dt;
  std::int64_t T;
  std::vector<Tensor> k, v;
  Tensor q;
  Batch(DType dtype, std::int64_t t, std::uint64_t seed) : dt(dtype), T(t), q(DType::f32, {static_cast<std::int64_t>(kLengths.size()), t, H, D}) {
    for (std::size_t s = 0; s < kLengths.size(); ++s) {
      const std::int64_t n = std::max<std::int64_t>(1, kLengths[s]);
      k.push_back(Tensor(dt, {1, n, G, D}));
      v.push_back(Tensor(dt, {1, n, G, Dv}));
      fill_uniform(k.back(), seed + 2 * s, -2, 2);
      fill_uniform(v.back(), seed + 2 * s + 1);
    }
    fill_uniform(q, seed + 100, -2, 2);
  }
  std::int64_t S() const { return static_cast<std::int64_t>(kLengths.size()); }
  // Checks decode's out [S, T, H, Dv] and lse [S, H, T] sequence by sequence.
  // `lengths`: the view's (0 where a sequence was made an empty slot), default kLengths.
  void check(const Tensor& out, const Tensor& lse, const std::string& what, const std::vector<std::int64_t>& lengths = kLengths) const {
    for (std::int64_t s = 0; s < S(); ++s) {
      const std::int64_t len = lengths[static_cast<std::size_t>(s)];
      TensorView os = out.view(), ls = lse.view(), qs = q.view();
      os.data = out.data_as<float>() + s * T * H * Dv;
      ls.data = lse.data_as<float>() + s * H * T;
      qs.data = q.data_as<float>() + s * T * H * D;
      os.shape[0] = ls.shape[0] = qs.shape[0] = 1;
      const std::vector<float> got = to_f32(os), got_lse = to_f32(ls);
      if (len == 0) {
        for (float x : got) ASSERT_EQ(x, 0.0f) << what << " empty slot " << s;
        for (float x : got_lse) ASSERT_EQ(x, -INFINITY) << what << " empty slot " << s;
        continue;
      }
      TensorView ks = k[static_cast<std::size_t>(s)].view(), vs = v[static_cast<std::size_t>(s)].view();
      Tensor want(DType::f32, {1, T, H, Dv}), want_lse(DType::f32, {1, H, T});
      AttentionOptions o;
      o.causal = true;  // bottom-right: query t of T sits at len − T + t
      reference::attention(qs, ks, vs, want.view(), o, want_lse.view());
      EXPECT_LE(rel_l2(got, to_f32(want.view())), 1e-5) << what << " sequence " << s << " of length " << len;
      EXPECT_LE(rel_l2(got_lse, to_f32(want_lse.view())), 1e-6) << what << " lse, sequence " << s;
    }
  }
};

TEST(DecodeViews, PerSequenceBuffersMatchTheReference) {
  for (DType dt : {DType::f32, DType::bf16, DType::f16})
    for (bool head_major : {false, true})
      for (std::int64_t T : {1, 3}) {
        if (T > 1 && dt != DType::f32 && head_major) continue;  // the dtype x layout grid is covered at T = 1
        Batch b(dt, T, 7 + static_cast<std::uint64_t>(T));
        std::vector<std::vector<unsigned char>> kbuf, vbuf;
        std::vector<const void*> kp, vp;
        std::vector<std::int64_t> lengths;
        const std::int64_t cap = 1000 + 3;  // every buffer holds the longest sequence plus spare tokens
        const Strides ks = strides_of(head_major, cap, D, 5), vs = strides_of(head_major, cap, Dv, 3);
        for (std::int64_t s = 0; s < b.S(); ++s) {
          const std::int64_t len = kLengths[static_cast<std::size_t>(s)];
          lengths.push_back(len < T ? 0 : len);  // a sequence shorter than T becomes an empty slot
          kbuf.push_back(nan_buffer(extent_of(ks, cap, D), dt));
          vbuf.push_back(nan_buffer(extent_of(vs, cap, Dv), dt));
          scatter(b.k[static_cast<std::size_t>(s)], len, D, ks, kbuf.back().data(), 0);
          scatter(b.v[static_cast<std::size_t>(s)], len, Dv, vs, vbuf.back().data(), 0);
          kp.push_back(lengths.back() == 0 ? nullptr : kbuf.back().data());
          vp.push_back(lengths.back() == 0 ? nullptr : vbuf.back().data());
        }
        KVView view;
        view.dtype = dt;
        view.kv_heads = G;
        view.head_dim = D;
        view.value_dim = Dv;
        view.k = kp;
        view.v = vp;
        view.lengths = lengths;
        view.k_token_stride = ks.ts;
        view.k_head_stride = ks.hs;
        view.v_token_stride = vs.ts;
        view.v_head_stride = vs.hs;
        Tensor out(DType::f32, {b.S(), T, H, Dv}), lse(DType::f32, {b.S(), H, T});
        decode(b.q.view(), view, out.view(), {}, lse.view());
        b.check(out, lse, std::string(dtype_name(dt)) + (head_major ? " head-major" : " token-major") + " T " + std::to_string(T), lengths);
      }
}

// A paged pool: the sequences' blocks in shuffled order, unused blocks and padding NaN, table
// entries past a sequence's last block -1.
struct Pool {
  std::vector<unsigned char> k, v;
  std::vector<std::int32_t> tables;
  std::vector<std::int64_t> lengths;
  PagedKVView view;
  Pool(const Batch& b, std::int64_t block, bool head_major, std::uint64_t seed) {
    const std::int64_t maxb = (1000 + block - 1) / block + 1;
    std::int64_t used = 0;
    for (std::int64_t len : kLengths) used += (len + block - 1) / block;
    const std::int64_t nblocks = used + 5;
    const Strides ks = strides_of(head_major, block, D, 1), vs = strides_of(head_major, block, Dv, 2);
    const std::int64_t kbs = extent_of(ks, block, D) + 3, vbs = extent_of(vs, block, Dv);
    k = nan_buffer(nblocks * kbs, b.dt);
    v = nan_buffer(nblocks * vbs, b.dt);
    std::vector<std::int32_t> order(static_cast<std::size_t>(nblocks));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
    tables.assign(kLengths.size() * static_cast<std::size_t>(maxb), -1);
    std::size_t next = 0;
    const std::size_t es = dtype_size(b.dt);
    for (std::size_t s = 0; s < kLengths.size(); ++s) {
      const std::int64_t len = kLengths[s];
      lengths.push_back(len);
      for (std::int64_t i = 0; i * block < len; ++i) {
        const std::int32_t blk = order[next++];
        tables[s * static_cast<std::size_t>(maxb) + static_cast<std::size_t>(i)] = blk;
        const std::int64_t n = std::min(block, len - i * block);
        for (std::int64_t t = 0; t < n; ++t)
          for (std::int64_t g = 0; g < G; ++g) {
            const std::int64_t src = ((i * block + t) * G + g);
            std::memcpy(k.data() + static_cast<std::size_t>(blk * kbs + t * ks.ts + g * ks.hs) * es,
                        static_cast<const char*>(b.k[s].data()) + static_cast<std::size_t>(src * D) * es, static_cast<std::size_t>(D) * es);
            std::memcpy(v.data() + static_cast<std::size_t>(blk * vbs + t * vs.ts + g * vs.hs) * es,
                        static_cast<const char*>(b.v[s].data()) + static_cast<std::size_t>(src * Dv) * es, static_cast<std::size_t>(Dv) * es);
          }
      }
    }
    view.dtype = b.dt;
    view.kv_heads = G;
    view.head_dim = D;
    view.value_dim = Dv;
    view.k_blocks = k.data();
    view.v_blocks = v.data();
    view.num_blocks = nblocks;
    view.block_size = block;
    view.k_block_stride = kbs;
    view.k_token_stride = ks.ts;
    view.k_head_stride = ks.hs;
    view.v_block_stride = vbs;
    view.v_token_stride = vs.ts;
    view.v_head_stride = vs.hs;
    view.block_tables = tables;
    view.max_blocks_per_sequence = maxb;
    view.lengths = lengths;
  }
};

TEST(DecodeViews, PagedShuffledBlocksMatchTheReference) {
  for (DType dt : {DType::f32, DType::bf16, DType::f16})
    for (bool head_major : {false, true})
      for (std::int64_t block : {16, 7}) {
        if (block == 7 && dt != DType::f32) continue;
        Batch b(dt, 1, 31);
        Pool pool(b, block, head_major, 5 + static_cast<std::uint64_t>(block));
        for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {  // the layouts on every SIMD path this CPU has
          if (isa > detected_isa()) continue;
          set_isa_override(isa);
          Tensor out(DType::f32, {b.S(), 1, H, Dv}), lse(DType::f32, {b.S(), H, 1});
          decode(b.q.view(), pool.view, out.view(), {}, lse.view());
          b.check(out, lse, "paged " + std::string(dtype_name(dt)) + (head_major ? " head-major" : " token-major") + " block " +
                                std::to_string(block) + " " + std::string(isa_name(isa)));
        }
        clear_isa_override();
      }
}

// opts.sequences picks view sequences for q's rows; a view decode equals the paged cache's decode
// of the same tokens (both run the same planner and kernels over segments).
TEST(DecodeViews, SequencesOptionAndTheSamePathAsTheCache) {
  Batch b(DType::f32, 1, 3);
  Pool pool(b, 16, false, 9);
  const std::vector<std::int64_t> pick = {2, 0};  // the 1000- and 65-token sequences
  Tensor q(DType::f32, {2, 1, H, D}), out(DType::f32, {2, 1, H, Dv});
  for (std::size_t r = 0; r < pick.size(); ++r)
    std::memcpy(q.data_as<float>() + r * H * D, b.q.data_as<float>() + pick[r] * H * D, sizeof(float) * H * D);
  DecodeOptions opts;
  opts.sequences = pick;
  decode(q.view(), pool.view, out.view(), opts);
  PagedKVCache cache(200, 16, G, D, Dv, DType::f32);
  Tensor want(DType::f32, {2, 1, H, Dv});
  for (std::size_t r = 0; r < pick.size(); ++r) {
    const std::int64_t s = cache.add_sequence(), len = kLengths[static_cast<std::size_t>(pick[r])];
    cache.append(s, TensorView::contiguous(b.k[static_cast<std::size_t>(pick[r])].data(), DType::f32, {len, G, D}),
                 TensorView::contiguous(b.v[static_cast<std::size_t>(pick[r])].data(), DType::f32, {len, G, Dv}));
  }
  decode(q.view(), cache, want.view());
  const std::vector<float> got = to_f32(out.view()), ref = to_f32(want.view());
  EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), got.size() * sizeof(float))) << "view and cache differ";
}

void expect_error(const std::function<void()>& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one mentioning \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(DecodeViews, BadViewsAreRefusedWithClearErrors) {
  Batch b(DType::f32, 1, 3);
  Pool pool(b, 16, false, 9);
  Tensor out(DType::f32, {b.S(), 1, H, Dv});
  auto paged = [&](auto&& change, const std::string& needle) {
    Pool p(b, 16, false, 9);
    change(p);
    std::fill(out.data_as<float>(), out.data_as<float>() + out.numel(), 7.0f);
    expect_error([&] { decode(b.q.view(), p.view, out.view()); }, needle);
    EXPECT_EQ(out.data_as<float>()[0], 7.0f) << "out written despite the error";
  };
  paged([](Pool& p) { p.tables[1] = -1; }, "block_tables[0][1] = -1 is outside the pool's");
  paged([](Pool& p) { p.tables[p.view.max_blocks_per_sequence * 2 + 3] = static_cast<std::int32_t>(p.view.num_blocks); },
        "block_tables[2][3] = ");
  paged([](Pool& p) { p.view.k_token_stride = 0; }, "k_token_stride must be a positive");
  paged([](Pool& p) { p.view.v_head_stride = -Dv; }, "v_head_stride must be a positive");
  paged([](Pool& p) { p.view.k_head_stride = D / 2; }, "k block's rows overlap");
  paged([](Pool& p) { p.view.v_block_stride = 10; }, "block strides");
  paged([](Pool& p) { p.lengths[1] = p.view.max_blocks_per_sequence * 16 + 1; }, "exceeds the table's");
  paged([](Pool& p) { p.lengths[0] = -1; }, "lengths[0] = -1");
  paged([](Pool& p) { p.view.block_tables = Span<const std::int32_t>(p.tables.data(), p.tables.size() - 1); }, "block_tables has");
  paged([](Pool& p) { p.view.k_blocks = nullptr; }, "k_blocks is null");
  paged([](Pool& p) { p.view.block_size = 0; }, "block_size must be positive");
  paged([](Pool& p) { p.view.dtype = static_cast<DType>(9); }, "is not f32, bf16 or f16");
  // A length below T that is not 0, and an id outside the view.
  Tensor q3(DType::f32, {b.S(), 3, H, D}), out3(DType::f32, {b.S(), 3, H, Dv});
  expect_error([&] { decode(q3.view(), pool.view, out3.view()); }, "sequence 1 has 1 cached tokens but q brings 3");
  DecodeOptions opts;
  const std::vector<std::int64_t> ids = {0, 1, 2, 3, 5};
  opts.sequences = ids;
  expect_error([&] { decode(b.q.view(), pool.view, out.view(), opts); }, "sequence 5 is outside the view's 5 sequences");
  // out inside the K/V memory.
  TensorView inside = TensorView::contiguous(pool.k.data(), DType::f32, {b.S(), 1, H, Dv});
  expect_error([&] { decode(b.q.view(), pool.view, inside); }, "out overlaps the cache's keys or values");

  // Per-sequence views: pointer count, null pointer with tokens, overlapping rows.
  std::vector<float> kb(1000 * G * D), vb(1000 * G * Dv);
  std::vector<const void*> kp(static_cast<std::size_t>(b.S()), kb.data()), vp(static_cast<std::size_t>(b.S()), vb.data());
  std::vector<std::int64_t> lens(kLengths);
  KVView v;
  v.kv_heads = G;
  v.head_dim = D;
  v.value_dim = Dv;
  v.k = kp;
  v.v = vp;
  v.lengths = lens;
  v.k_token_stride = G * D;
  v.k_head_stride = D;
  v.v_token_stride = G * Dv;
  v.v_head_stride = Dv;
  decode(b.q.view(), v, out.view());  // the valid view runs
  KVView bad = v;
  bad.k = Span<const void* const>(kp.data(), kp.size() - 1);
  expect_error([&] { decode(b.q.view(), bad, out.view()); }, "lengths but 4 key");
  bad = v;
  bad.k_token_stride = D;  // heads of one token overlap the next token
  expect_error([&] { decode(b.q.view(), bad, out.view()); }, "k's rows overlap");
  std::vector<const void*> kn(kp);
  kn[2] = nullptr;
  bad = v;
  bad.k = kn;
  expect_error([&] { decode(b.q.view(), bad, out.view()); }, "sequence 2 has 1000 tokens but a null k pointer");
}

}  // namespace
}  // namespace attend
