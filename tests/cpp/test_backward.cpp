// The fast backward against the double-precision reference backward: the shared case table
// (kernels/attention_cases.h) through every work split, determinism, and what the table does not cover.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "attend/attend.h"
#include "kernels/attention_cases.h"
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

using kernels::AttentionCase;
using kernels::CaseInputs;

struct Grads {
  std::vector<float> dq, dk, dv, dbias;
};

// Runs forward (reference, for exact out/lse), then the reference backward and the fast backward
// once per mode. Returns {fast per mode..., reference}.
std::vector<Grads> run_modes(const AttentionCase& c, const std::vector<Mode>& modes) {
  CaseInputs in(c, 11);
  Tensor out = in.new_out(), lse = in.new_lse();
  reference::attention(in.view(in.q), in.view(in.k), in.view(in.v), in.view(out), in.opts, lse.view());
  auto grads = [&](const Mode* mode) {
    Tensor dq = in.tensor(c.rows_q(), c.hq, c.d), dk = in.tensor(c.rows_k(), c.hkv, c.d), dv = in.tensor(c.rows_k(), c.hkv, c.dv), db;
    AttentionGrads g{in.view(dq), in.view(dk), in.view(dv), {}};
    if (c.bias) {
      db = Tensor(DType::f32, in.bias.view().shape, 4);
      g.dbias = db.view();
    }
    const TensorView q = in.view(in.q), k = in.view(in.k), v = in.view(in.v), o = in.view(out), dout = in.view(in.dout);
    if (mode) {
      AttentionOptions opts = in.opts;
      opts.threads = mode->threads;
      opts.deterministic = mode->deterministic;
      if (mode->split == BackwardSplit::automatic)
        attention_backward(q, k, v, o, dout, lse.view(), g, opts);
      else
        kernels::backward(kernels::make_backward_problem("test", q, k, v, o, dout, lse.view(), g, opts), mode->split);
    } else {
      reference::attention_backward(q, k, v, o, dout, lse.view(), g, in.opts);
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

class BackwardTable : public ::testing::TestWithParam<AttentionCase> {};

// Every case of the shared table (src/kernels/attention_cases.h, also timed by `attend bench
// --table`) through every path: the public entry, one task per (sequence, KV head), and the
// KV-block split on 1 and 3 threads (partial dQ slots: in place and buffered).
TEST_P(BackwardTable, MatchesReference) {
  const AttentionCase& c = GetParam();
  const std::vector<Mode> modes{{BackwardSplit::automatic, 0, false},
                                {BackwardSplit::per_head, 2, false},
                                {BackwardSplit::kv_blocks, 1, false},
                                {BackwardSplit::kv_blocks, 3, false}};
  const auto r = run_modes(c, modes);
  const char* names[] = {"automatic", "per_head", "kv_blocks/1", "kv_blocks/3"};
  for (std::size_t m = 0; m < modes.size(); ++m) expect_close(r[m], r.back(), c.backward_tolerance(), c.name + " " + names[m]);
}

INSTANTIATE_TEST_SUITE_P(Backward, BackwardTable, ::testing::ValuesIn(kernels::backward_cases()),
                         [](const auto& p) { return p.param.name; });

TEST(BackwardDeterminism, BitwiseIdenticalForAnyThreadCount) {
  // Balanced heads (no split), a single KV head where the automatic mode would split (causal,
  // H = 1), and GQA with an odd head count: deterministic = true on 1, 2, 3 threads.
  for (const AttentionCase& c :
       {AttentionCase{.name = "det", .b = 2, .nq = 150, .nk = 150, .hq = 4, .hkv = 2, .d = 64, .dv = 64, .causal = true},
        AttentionCase{.name = "det_h1", .nq = 300, .nk = 300, .hq = 1, .hkv = 1, .d = 64, .dv = 64, .causal = true},
        AttentionCase{.name = "det_gqa", .b = 3, .nq = 97, .nk = 120, .hq = 3, .hkv = 1, .d = 32, .dv = 32, .bhsd = true}}) {
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
  const AttentionCase c{.name = "kv_repeat", .nq = 257, .nk = 257, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .causal = true};
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
  const AttentionCase c{.name = "masked", .nq = 30, .nk = 10, .hq = 1, .hkv = 1, .d = 16, .dv = 16, .causal = true};
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
