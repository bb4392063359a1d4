// Table-driven tests of the fast backward against the double-precision reference backward.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "attend/attend.h"
#include "kernels/backward_plan.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::rel_l2;
using test::to_f32;
using kernels::BackwardSplit;

// Which fast backward a test runs: the public entry (automatic split) or a forced work split.
struct Mode {
  BackwardSplit split = BackwardSplit::automatic;
  int threads = 0;
  bool deterministic = false;
};

struct BwdCase {
  std::string name;
  std::int64_t b, nq, nk, hq, hkv, d, dv;
  DType dtype = DType::f32;
  bool bhsd = false, causal = false;
  std::int64_t left = -1, right = -1;
  float softcap = 0;
  bool bias = false, alibi = false;
  float dropout = 0;
};
void PrintTo(const BwdCase& c, std::ostream* os) { *os << c.name; }

struct Grads {
  std::vector<float> dq, dk, dv, dbias;
};

// Runs forward (reference, for exact out/lse), then the reference backward and the fast backward
// once per mode. Returns {fast per mode..., reference}.
std::vector<Grads> run_modes(const BwdCase& c, const std::vector<Mode>& modes) {
  auto make = [&](std::int64_t n, std::int64_t h, std::int64_t w) {
    return c.bhsd ? Tensor(c.dtype, {c.b, h, n, w}) : Tensor(c.dtype, {c.b, n, h, w});
  };
  auto view = [&](const Tensor& t) { return c.bhsd ? t.view().permuted(0, 2, 1, 3) : t.view(); };
  Tensor q = make(c.nq, c.hq, c.d), k = make(c.nk, c.hkv, c.d), v = make(c.nk, c.hkv, c.dv), dout = make(c.nq, c.hq, c.dv);
  fill_uniform(q, 11); fill_uniform(k, 12); fill_uniform(v, 13); fill_uniform(dout, 14);
  AttentionOptions opts;
  opts.causal = c.causal;
  opts.window_left = c.left;
  opts.window_right = c.right;
  opts.softcap = c.softcap;
  opts.dropout_p = c.dropout;
  opts.dropout_seed = 7;
  Tensor bias;
  if (c.bias) {
    bias = Tensor(DType::f32, {1, c.hq, c.nq, c.nk});
    fill_uniform(bias, 15, -2, 2);
    for (std::int64_t i = 0; i < bias.numel(); i += 5) bias.data_as<float>()[i] = -std::numeric_limits<float>::infinity();
    opts.bias = bias.view();
  }
  std::vector<float> slopes;
  if (c.alibi) {
    for (std::int64_t h = 0; h < c.hq; ++h) slopes.push_back(0.1f * static_cast<float>(h + 1));
    opts.alibi_slopes = slopes;
  }
  Tensor out = make(c.nq, c.hq, c.dv), lse(DType::f32, {c.b, c.hq, c.nq});
  reference::attention(view(q), view(k), view(v), view(out), opts, lse.view());
  auto grads = [&](const Mode* mode) {
    Tensor dq = make(c.nq, c.hq, c.d), dk = make(c.nk, c.hkv, c.d), dv = make(c.nk, c.hkv, c.dv), db;
    AttentionGrads g{view(dq), view(dk), view(dv), {}};
    if (c.bias) { db = Tensor(DType::f32, {1, c.hq, c.nq, c.nk}); g.dbias = db.view(); }
    if (mode) {
      AttentionOptions o = opts;
      o.threads = mode->threads;
      o.deterministic = mode->deterministic;
      if (mode->split == BackwardSplit::automatic)
        attention_backward(view(q), view(k), view(v), view(out), view(dout), lse.view(), g, o);
      else
        kernels::backward(kernels::make_backward_problem("test", view(q), view(k), view(v), view(out), view(dout), lse.view(), g, o), mode->split);
    } else {
      reference::attention_backward(view(q), view(k), view(v), view(out), view(dout), lse.view(), g, opts);
    }
    Grads r{to_f32(g.dq), to_f32(g.dk), to_f32(g.dv), {}};
    if (c.bias) r.dbias = to_f32(g.dbias);
    return r;
  };
  std::vector<Grads> r;
  for (const Mode& m : modes) r.push_back(grads(&m));
  r.push_back(grads(nullptr));
  return r;
}

void expect_close(const Grads& fast, const Grads& ref, double tol, const std::string& what) {
  for (const auto* v : {&fast.dq, &fast.dk, &fast.dv}) ASSERT_TRUE(test::all_finite(*v)) << what;
  EXPECT_LE(rel_l2(fast.dq, ref.dq), tol) << what << " dq";
  EXPECT_LE(rel_l2(fast.dk, ref.dk), tol) << what << " dk";
  EXPECT_LE(rel_l2(fast.dv, ref.dv), tol) << what << " dv";
  if (!ref.dbias.empty()) {
    EXPECT_LE(rel_l2(fast.dbias, ref.dbias), tol) << what << " dbias";
  }
}

class BackwardTable : public ::testing::TestWithParam<BwdCase> {};

// Every case through every path: the public entry, one task per (sequence, KV head), and the
// KV-block split on 1 and 3 threads (partial dQ slots: in place and buffered).
TEST_P(BackwardTable, MatchesReference) {
  const BwdCase& c = GetParam();
  const std::vector<Mode> modes{{BackwardSplit::automatic, 0, false},
                                {BackwardSplit::per_head, 2, false},
                                {BackwardSplit::kv_blocks, 1, false},
                                {BackwardSplit::kv_blocks, 3, false}};
  const auto r = run_modes(c, modes);
  // f32: relative L2 ≤ 1e-5 (DESIGN.md). Low precision: the gradients are rounded to the dtype.
  const double tol = c.dtype == DType::f32 ? 1e-5 : 1.5e-2;
  const char* names[] = {"automatic", "per_head", "kv_blocks/1", "kv_blocks/3"};
  for (std::size_t m = 0; m < modes.size(); ++m) expect_close(r[m], r.back(), tol, c.name + " " + names[m]);
}

std::vector<BwdCase> table() {
  std::vector<BwdCase> t;
  for (std::int64_t n : {1, 7, 65, 300})
    for (std::int64_t d : {8, 64, 80, 128}) {
      t.push_back({"n" + std::to_string(n) + "_d" + std::to_string(d), 1, n, n, 2, 1, d, d});
      t.push_back({"n" + std::to_string(n) + "_d" + std::to_string(d) + "_causal", 1, n, n, 2, 2, d, d, DType::f32, false, true});
    }
  t.push_back({"n1000_d64_causal_gqa", 1, 1000, 1000, 2, 1, 64, 64, DType::f32, false, true});
  t.push_back({"d256", 1, 70, 70, 1, 1, 256, 256});
  t.push_back({"mqa_dv_differs_bhsd", 2, 33, 50, 6, 1, 32, 24, DType::f32, true});
  t.push_back({"causal_nq_gt_nk", 1, 90, 30, 2, 1, 32, 32, DType::f32, false, true});
  t.push_back({"causal_nq_lt_nk", 2, 17, 130, 4, 2, 32, 32, DType::f32, false, true});
  t.push_back({"window", 1, 200, 200, 2, 2, 32, 32, DType::f32, false, false, 20, 5});
  t.push_back({"softcap", 1, 65, 70, 2, 1, 32, 32, DType::f32, false, false, -1, -1, 3.0f});
  t.push_back({"bias_dbias", 2, 50, 60, 4, 2, 32, 32, DType::f32, false, false, -1, -1, 0, true});
  t.push_back({"alibi_causal", 1, 100, 100, 4, 4, 32, 32, DType::f32, false, true, -1, -1, 0, false, true});
  t.push_back({"dropout", 1, 65, 80, 2, 1, 32, 32, DType::f32, false, false, -1, -1, 0, false, false, 0.25f});
  t.push_back({"everything", 2, 77, 99, 4, 2, 48, 24, DType::f32, true, true, 40, -1, 10.0f, true, true, 0.1f});
  for (DType dt : {DType::bf16, DType::f16}) {
    const std::string n = std::string(dtype_name(dt));
    t.push_back({n + "_causal", 1, 130, 130, 2, 1, 64, 64, dt, false, true});
    t.push_back({n + "_bhsd_window", 2, 65, 70, 4, 2, 32, 32, dt, true, false, 10, 3});
  }
  return t;
}

INSTANTIATE_TEST_SUITE_P(Backward, BackwardTable, ::testing::ValuesIn(table()), [](const auto& p) { return p.param.name; });

TEST(BackwardDeterminism, BitwiseIdenticalForAnyThreadCount) {
  // Balanced heads (no split), a single KV head where the automatic mode would split (causal,
  // H = 1), and GQA with an odd head count: deterministic = true on 1, 2, 3 threads.
  for (const BwdCase& c : {BwdCase{"det", 2, 150, 150, 4, 2, 64, 64, DType::f32, false, true},
                           BwdCase{"det_h1", 1, 300, 300, 1, 1, 64, 64, DType::f32, false, true},
                           BwdCase{"det_gqa", 3, 97, 120, 3, 1, 32, 32, DType::f32, true, false}}) {
    const auto r = run_modes(c, {{BackwardSplit::automatic, 1, true}, {BackwardSplit::automatic, 2, true},
                                 {BackwardSplit::automatic, 3, true}, {BackwardSplit::automatic, 2, false}});
    for (int m : {1, 2}) {
      EXPECT_EQ(r[0].dq, r[m].dq) << c.name << " threads " << m + 1;
      EXPECT_EQ(r[0].dk, r[m].dk) << c.name << " threads " << m + 1;
      EXPECT_EQ(r[0].dv, r[m].dv) << c.name << " threads " << m + 1;
    }
    for (int m : {0, 3}) expect_close(r[m], r.back(), 1e-5, c.name + (m ? " default" : " deterministic"));
  }
}

TEST(BackwardDeterminism, KvBlockSplitIsRepeatableRunToRun) {
  // The KV-block split sums dQ through per-slot partials; tasks go to slots statically, so calls
  // with the same thread count agree bitwise (repeated many times to give a race a chance).
  const BwdCase c{"kv_repeat", 1, 257, 257, 2, 1, 64, 64, DType::f32, false, true};
  std::vector<Mode> modes;
  for (int i = 0; i < 8; ++i) modes.push_back({BackwardSplit::kv_blocks, 2, false});
  const auto r = run_modes(c, modes);
  for (std::size_t m = 1; m + 1 < r.size(); ++m) {
    EXPECT_EQ(r[0].dq, r[m].dq) << "call " << m;
    EXPECT_EQ(r[0].dk, r[m].dk) << "call " << m;
    EXPECT_EQ(r[0].dv, r[m].dv) << "call " << m;
  }
  expect_close(r[0], r.back(), 1e-5, "kv_blocks/2");
}

TEST(BackwardSemantics, FullyMaskedRowsGiveZeroGradients) {
  // Nq > Nk, causal: the first 20 query rows see no key.
  const BwdCase c{"masked", 1, 30, 10, 1, 1, 16, 16, DType::f32, false, true};
  const auto r = run_modes(c, {{BackwardSplit::automatic, 0, false}, {BackwardSplit::per_head, 2, false}, {BackwardSplit::kv_blocks, 2, false}});
  for (std::size_t m = 0; m + 1 < r.size(); ++m) {
    for (std::size_t i = 0; i < 20 * 16; ++i) ASSERT_EQ(r[m].dq[i], 0.0f) << "mode " << m;
    expect_close(r[m], r.back(), 1e-5, "masked mode " + std::to_string(m));
  }
}

TEST(BackwardRagged, PackedAndPaddedMatchReference) {
  const std::vector<std::int32_t> cu_q{0, 5, 5, 70}, cu_k{0, 9, 12, 100};
  Tensor q(DType::f32, {1, 70, 4, 32}), k(DType::f32, {1, 100, 2, 32}), v(DType::f32, {1, 100, 2, 32}), dout(DType::f32, {1, 70, 4, 32});
  fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3); fill_uniform(dout, 4);
  AttentionOptions opts;
  opts.causal = true;
  opts.cu_seqlens_q = cu_q;
  opts.cu_seqlens_k = cu_k;
  Tensor out(DType::f32, {1, 70, 4, 32}), lse(DType::f32, {1, 4, 70});
  attention(q.view(), k.view(), v.view(), out.view(), opts, lse.view());
  Tensor dq(DType::f32, {1, 70, 4, 32}), dk(DType::f32, {1, 100, 2, 32}), dv(DType::f32, {1, 100, 2, 32});
  Tensor rq(DType::f32, {1, 70, 4, 32}), rk(DType::f32, {1, 100, 2, 32}), rv(DType::f32, {1, 100, 2, 32});
  attention_backward(q.view(), k.view(), v.view(), out.view(), dout.view(), lse.view(), {dq.view(), dk.view(), dv.view(), {}}, opts);
  reference::attention_backward(q.view(), k.view(), v.view(), out.view(), dout.view(), lse.view(), {rq.view(), rk.view(), rv.view(), {}}, opts);
  EXPECT_LE(rel_l2(to_f32(dq.view()), to_f32(rq.view())), 1e-5);
  EXPECT_LE(rel_l2(to_f32(dk.view()), to_f32(rk.view())), 1e-5);
  EXPECT_LE(rel_l2(to_f32(dv.view()), to_f32(rv.view())), 1e-5);
  for (const BackwardSplit split : {BackwardSplit::per_head, BackwardSplit::kv_blocks})
    for (const int threads : {1, 3}) {
      AttentionOptions o = opts;
      o.threads = threads;
      fill_uniform(dq, 50); fill_uniform(dk, 51); fill_uniform(dv, 52);  // garbage must be overwritten
      kernels::backward(kernels::make_backward_problem("test", q.view(), k.view(), v.view(), out.view(), dout.view(), lse.view(),
                                                       {dq.view(), dk.view(), dv.view(), {}}, o), split);
      const std::string what = std::string(split == BackwardSplit::kv_blocks ? "kv_blocks/" : "per_head/") + std::to_string(threads);
      EXPECT_LE(rel_l2(to_f32(dq.view()), to_f32(rq.view())), 1e-5) << what;
      EXPECT_LE(rel_l2(to_f32(dk.view()), to_f32(rk.view())), 1e-5) << what;
      EXPECT_LE(rel_l2(to_f32(dv.view()), to_f32(rv.view())), 1e-5) << what;
    }

  const std::vector<std::int32_t> lens{50, 0, 64};
  Tensor q2(DType::f32, {3, 20, 2, 16}), k2(DType::f32, {3, 64, 1, 16}), v2(DType::f32, {3, 64, 1, 16}), do2(DType::f32, {3, 20, 2, 16});
  fill_uniform(q2, 5); fill_uniform(k2, 6); fill_uniform(v2, 7); fill_uniform(do2, 8);
  AttentionOptions o2;
  o2.seqlens_k = lens;
  Tensor out2(DType::f32, {3, 20, 2, 16}), lse2(DType::f32, {3, 2, 20});
  attention(q2.view(), k2.view(), v2.view(), out2.view(), o2, lse2.view());
  Tensor a(DType::f32, {3, 20, 2, 16}), bk(DType::f32, {3, 64, 1, 16}), c(DType::f32, {3, 64, 1, 16});
  Tensor ra(DType::f32, {3, 20, 2, 16}), rb(DType::f32, {3, 64, 1, 16}), rc(DType::f32, {3, 64, 1, 16});
  fill_uniform(bk, 99);  // garbage that must be overwritten with zeros for padding keys
  attention_backward(q2.view(), k2.view(), v2.view(), out2.view(), do2.view(), lse2.view(), {a.view(), bk.view(), c.view(), {}}, o2);
  reference::attention_backward(q2.view(), k2.view(), v2.view(), out2.view(), do2.view(), lse2.view(), {ra.view(), rb.view(), rc.view(), {}}, o2);
  EXPECT_LE(rel_l2(to_f32(a.view()), to_f32(ra.view())), 1e-5);
  EXPECT_EQ(to_f32(bk.view()).size(), to_f32(rb.view()).size());
  EXPECT_LE(rel_l2(to_f32(bk.view()), to_f32(rb.view())), 1e-5);
  EXPECT_LE(rel_l2(to_f32(c.view()), to_f32(rc.view())), 1e-5);
  fill_uniform(a, 60); fill_uniform(bk, 61); fill_uniform(c, 62);
  o2.threads = 2;
  kernels::backward(kernels::make_backward_problem("test", q2.view(), k2.view(), v2.view(), out2.view(), do2.view(), lse2.view(),
                                                   {a.view(), bk.view(), c.view(), {}}, o2), BackwardSplit::kv_blocks);
  EXPECT_LE(rel_l2(to_f32(a.view()), to_f32(ra.view())), 1e-5) << "padded kv_blocks";
  EXPECT_LE(rel_l2(to_f32(bk.view()), to_f32(rb.view())), 1e-5) << "padded kv_blocks";
  EXPECT_LE(rel_l2(to_f32(c.view()), to_f32(rc.view())), 1e-5) << "padded kv_blocks";
}

TEST(BackwardErrors, BadArgumentsNameTheProblem) {
  Tensor q(DType::f32, {1, 4, 2, 8}), k(DType::f32, {1, 4, 2, 8}), v(DType::f32, {1, 4, 2, 8}), o(DType::f32, {1, 4, 2, 8});
  Tensor lse(DType::f32, {1, 2, 4}), dq(DType::f32, {1, 4, 2, 8}), dk(DType::f32, {1, 4, 2, 8}), dv(DType::f32, {1, 4, 2, 8});
  Tensor bad(DType::f32, {1, 4, 2, 7});
  EXPECT_THROW(attention_backward(q.view(), k.view(), v.view(), o.view(), o.view(), {}, {dq.view(), dk.view(), dv.view(), {}}), Error);
  EXPECT_THROW(attention_backward(q.view(), k.view(), v.view(), o.view(), o.view(), lse.view(), {bad.view(), dk.view(), dv.view(), {}}), Error);
  EXPECT_THROW(attention_backward(q.view(), k.view(), v.view(), o.view(), o.view(), lse.view(), {q.view(), dk.view(), dv.view(), {}}), Error);
  try {
    attention_backward(q.view(), k.view(), v.view(), o.view(), o.view(), lse.view(), {bad.view(), dk.view(), dv.view(), {}});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dq has shape"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace attend
