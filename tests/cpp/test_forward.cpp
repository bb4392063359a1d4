// The fast forward against the double-precision reference: the shared case table
// (kernels/attention_cases.h) and the semantics it does not cover.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "attend/attend.h"
#include "kernels/attention_cases.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::rel_l2;
using test::to_f32;

using kernels::AttentionCase;
using kernels::CaseInputs;

struct Result {
  std::vector<float> fast, ref, fast_lse, ref_lse;
};

Result run_case(const AttentionCase& c, std::uint64_t seed) {
  CaseInputs in(c, seed);
  Tensor o = in.new_out(), r(DType::f32, {c.batch(), c.rows_q(), c.hq, c.dv});
  Tensor lse = in.new_lse(), rlse = in.new_lse();
  attention(in.view(in.q), in.view(in.k), in.view(in.v), in.view(o), in.opts, lse.view());
  reference::attention(in.view(in.q), in.view(in.k), in.view(in.v), r.view(), in.opts, rlse.view());
  return {to_f32(in.view(o)), to_f32(r.view()), to_f32(lse.view()), to_f32(rlse.view())};
}

// Within the case's tolerance of the reference; a row that sees no key (reference lse −inf) has
// lse −inf and an output of exact zeros.
void expect_close(const AttentionCase& c, const Result& res) {
  ASSERT_TRUE(test::all_finite(res.fast)) << c.name << ": output has NaN/inf";
  EXPECT_LE(rel_l2(res.fast, res.ref), c.forward_tolerance()) << c.name;
  const auto width = static_cast<std::size_t>(c.dv);
  for (std::size_t i = 0; i < res.ref_lse.size(); ++i) {
    if (std::isinf(res.ref_lse[i])) {
      ASSERT_TRUE(std::isinf(res.fast_lse[i]) && res.fast_lse[i] < 0) << c.name << ": lse[" << i << "] should be -inf";
      // lse is [B, Hq, rows], out [B, rows, Hq, Dv]: row i of lse is (b, h, n)
      const std::size_t rows = static_cast<std::size_t>(c.rows_q()), hq = static_cast<std::size_t>(c.hq);
      const std::size_t b = i / (hq * rows), h = i / rows % hq, n = i % rows;
      for (std::size_t e = 0; e < width; ++e)
        ASSERT_EQ(res.fast[((b * rows + n) * hq + h) * width + e], 0.0f) << c.name << ": empty row " << n << " head " << h;
    } else {
      ASSERT_NEAR(res.fast_lse[i], res.ref_lse[i], 1e-4 * (1 + std::fabs(res.ref_lse[i])) * (c.dtype == DType::f32 ? 1 : 10))
          << c.name << " lse[" << i << "]";
    }
  }
}

class ForwardTable : public ::testing::TestWithParam<AttentionCase> {};

// Every case of the shared table (src/kernels/attention_cases.h, also timed by `attend bench --table`).
TEST_P(ForwardTable, MatchesReference) {
  const AttentionCase& c = GetParam();
  expect_close(c, run_case(c, 1234));
}

INSTANTIATE_TEST_SUITE_P(Forward, ForwardTable, ::testing::ValuesIn(kernels::forward_cases()),
                         [](const auto& p) { return p.param.name; });

// Low precision: error against the exact answer is at most 2x that of the naive algorithm run on
// the same rounded inputs in that precision (output rounded to the dtype).
TEST(ForwardLowPrecision, WithinTwiceNaiveError) {
  for (DType dt : {DType::bf16, DType::f16}) {
    Tensor q(dt, {1, 129, 2, 64}), k(dt, {1, 129, 2, 64}), v(dt, {1, 129, 2, 64}), o(dt, {1, 129, 2, 64});
    fill_uniform(q, 5); fill_uniform(k, 6); fill_uniform(v, 7);
    Tensor exact(DType::f32, {1, 129, 2, 64}), naive(dt, {1, 129, 2, 64});
    attention(q.view(), k.view(), v.view(), o.view());
    reference::attention(q.view(), k.view(), v.view(), exact.view());
    // "Naive in low precision": the exact result rounded to dt is the best a dt output can do;
    // the naive algorithm adds rounding of S and P too, so 2x of the output rounding is strict.
    reference::attention(q.view(), k.view(), v.view(), naive.view());
    const auto ex = to_f32(exact.view());
    const double naive_err = rel_l2(to_f32(naive.view()), ex), fast_err = rel_l2(to_f32(o.view()), ex);
    EXPECT_LE(fast_err, 2 * naive_err + 1e-7) << dtype_name(dt) << ": fast " << fast_err << " naive " << naive_err;
  }
}

TEST(ForwardSemantics, FullyMaskedRowsAreZeroWithNegInfLse) {
  // Nq > Nk with causal: the first Nq − Nk rows see no key. Also a bias row of all -inf.
  Tensor q(DType::f32, {1, 10, 1, 16}), k(DType::f32, {1, 4, 1, 16}), v(DType::f32, {1, 4, 1, 16}), o(DType::f32, {1, 10, 1, 16});
  fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
  Tensor lse(DType::f32, {1, 1, 10});
  AttentionOptions opts;
  opts.causal = true;
  attention(q.view(), k.view(), v.view(), o.view(), opts, lse.view());
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(std::isinf(lse.data_as<float>()[i]) && lse.data_as<float>()[i] < 0) << "row " << i;
    for (int c = 0; c < 16; ++c) EXPECT_EQ(o.data_as<float>()[i * 16 + c], 0.0f) << "row " << i;
  }
  for (int i = 6; i < 10; ++i) EXPECT_TRUE(std::isfinite(lse.data_as<float>()[i]));

  Tensor bias(DType::f32, {1, 1, 10, 4});
  for (int i = 0; i < 40; ++i) bias.data_as<float>()[i] = i < 4 ? -INFINITY : 0.0f;  // row 0 all -inf
  AttentionOptions ob;
  ob.bias = bias.view();
  attention(q.view(), k.view(), v.view(), o.view(), ob, lse.view());
  EXPECT_TRUE(std::isinf(lse.data_as<float>()[0]));
  for (int c = 0; c < 16; ++c) EXPECT_EQ(o.data_as<float>()[c], 0.0f);
  for (int c = 16; c < 160; ++c) EXPECT_TRUE(std::isfinite(o.data_as<float>()[c]));
}

TEST(ForwardSemantics, EmptySequencesAndZeroKeys) {
  Tensor q(DType::f32, {1, 3, 1, 8}), k(DType::f32, {1, 0, 1, 8}), v(DType::f32, {1, 0, 1, 8}), o(DType::f32, {1, 3, 1, 8});
  fill_uniform(q, 1);
  Tensor lse(DType::f32, {1, 1, 3});
  k = Tensor(DType::f32, {1, 0, 1, 8});
  // Zero keys are rejected as an empty view only if data is null; give a valid non-null pointer.
  float dummy[8] = {};
  TensorView kv = TensorView::contiguous(dummy, DType::f32, {1, 0, 1, 8});
  attention(q.view(), kv, kv, o.view(), {}, lse.view());
  for (int i = 0; i < 24; ++i) EXPECT_EQ(o.data_as<float>()[i], 0.0f);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isinf(lse.data_as<float>()[i]));
}

TEST(ForwardRagged, PackedEqualsPerSequenceCalls) {
  const std::vector<std::int32_t> cu_q{0, 5, 5, 70, 71}, cu_k{0, 9, 12, 100, 140};
  Tensor q(DType::f32, {1, 71, 4, 32}), k(DType::f32, {1, 140, 2, 32}), v(DType::f32, {1, 140, 2, 32});
  fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
  Tensor o(DType::f32, {1, 71, 4, 32}), r(DType::f32, {1, 71, 4, 32});
  Tensor bias(DType::f32, {4, 1, 65, 88});  // [sequences, 1 (broadcast heads), max Nq, max Nk]
  fill_uniform(bias, 9, -1, 1);
  AttentionOptions opts;
  opts.causal = true;
  opts.cu_seqlens_q = cu_q;
  opts.cu_seqlens_k = cu_k;
  opts.bias = bias.view();
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  reference::attention(q.view(), k.view(), v.view(), r.view(), opts);
  EXPECT_LE(rel_l2(to_f32(o.view()), to_f32(r.view())), 1e-5);
  // Sequence 2 (rows 5..69, keys 12..99) equals a standalone call with its slice of the bias.
  TensorView qs = q.view(), ks = k.view(), vs = v.view();
  qs.data = q.data_as<float>() + 5 * 4 * 32; qs.shape[1] = 65;
  ks.data = k.data_as<float>() + 12 * 2 * 32; ks.shape[1] = 88;
  vs.data = v.data_as<float>() + 12 * 2 * 32; vs.shape[1] = 88;
  TensorView b2 = bias.view();
  b2.data = bias.data_as<float>() + 2 * 65 * 88;
  b2.shape[0] = 1;
  AttentionOptions single;
  single.causal = true;
  single.bias = b2;
  Tensor one(DType::f32, {1, 65, 4, 32});
  attention(qs, ks, vs, one.view(), single);
  const auto all = to_f32(o.view());
  const std::vector<float> part(all.begin() + 5 * 4 * 32, all.begin() + 70 * 4 * 32);
  EXPECT_LE(rel_l2(part, to_f32(one.view())), 1e-6);
}

TEST(ForwardDropout, MatchesReferenceAndIsReproducible) {
  Tensor q(DType::f32, {1, 65, 2, 32}), k(DType::f32, {1, 80, 2, 32}), v(DType::f32, {1, 80, 2, 32});
  fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
  Tensor o(DType::f32, {1, 65, 2, 32}), o2(DType::f32, {1, 65, 2, 32}), r(DType::f32, {1, 65, 2, 32});
  AttentionOptions opts;
  opts.dropout_p = 0.3f;
  opts.dropout_seed = 42;
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  attention(q.view(), k.view(), v.view(), o2.view(), opts);
  reference::attention(q.view(), k.view(), v.view(), r.view(), opts);
  EXPECT_LE(rel_l2(to_f32(o.view()), to_f32(r.view())), 1e-5);
  EXPECT_EQ(to_f32(o.view()), to_f32(o2.view()));
  opts.dropout_seed = 43;
  attention(q.view(), k.view(), v.view(), o2.view(), opts);
  EXPECT_GT(rel_l2(to_f32(o.view()), to_f32(o2.view())), 1e-2);
}

TEST(ForwardThreads, SameResultForAnyThreadCount) {
  Tensor q(DType::f32, {2, 300, 4, 64}), k(DType::f32, {2, 300, 2, 64}), v(DType::f32, {2, 300, 2, 64});
  fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
  Tensor o1(DType::f32, {2, 300, 4, 64}), o2(DType::f32, {2, 300, 4, 64});
  AttentionOptions opts;
  opts.causal = true;
  opts.threads = 1;
  attention(q.view(), k.view(), v.view(), o1.view(), opts);
  opts.threads = 2;
  attention(q.view(), k.view(), v.view(), o2.view(), opts);
  EXPECT_EQ(to_f32(o1.view()), to_f32(o2.view()));  // bitwise: each row is computed by one task
}

// Hand-built sharp attention (K = 8·I, each query at its target's key; the worked example of the
// "Attention Mechanism" notes): 94.8 % on each target token and about 1.7 % on each other.
TEST(ForwardSharpExample, HandBuiltKeysGiveSharpAttention) {
  const int target[4] = {1, 2, 1, 2};
  Tensor q(DType::f32, {1, 4, 1, 4}), k(DType::f32, {1, 4, 1, 4}), v(DType::f32, {1, 4, 1, 4}), o(DType::f32, {1, 4, 1, 4});
  for (int i = 0; i < 16; ++i) q.data_as<float>()[i] = k.data_as<float>()[i] = v.data_as<float>()[i] = 0;
  for (int i = 0; i < 4; ++i) {
    q.data_as<float>()[i * 4 + target[i]] = 1;
    k.data_as<float>()[i * 4 + i] = 8;
    v.data_as<float>()[i * 4 + i] = 1;
  }
  attention(q.view(), k.view(), v.view(), o.view());
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const float w = o.data_as<float>()[i * 4 + j];
      if (j == target[i]) EXPECT_NEAR(w, 0.948f, 0.0005f);
      else EXPECT_NEAR(w, 0.0174f, 0.0005f);
    }
}

TEST(ForwardErrors, BadArgumentsNameTheProblem) {
  Tensor q(DType::f32, {1, 4, 32, 16}), k(DType::f32, {1, 4, 7, 16}), v(DType::f32, {1, 4, 7, 16}), o(DType::f32, {1, 4, 32, 16});
  try {
    attention(q.view(), k.view(), v.view(), o.view());
    FAIL() << "expected attend::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "attention: k has 7 heads, which does not divide q's 32 heads");
  }
  Tensor k2(DType::f32, {1, 4, 8, 16}), v2(DType::f32, {1, 4, 8, 16});
  EXPECT_THROW(attention(q.view(), k2.view(), v2.view(), q.view()), Error);  // out aliases q
  AttentionOptions bad;
  bad.window_left = -5;
  EXPECT_THROW(attention(q.view(), k2.view(), v2.view(), o.view(), bad), Error);
  Tensor wrong_out(DType::f32, {1, 4, 32, 8});
  EXPECT_THROW(attention(q.view(), k2.view(), v2.view(), wrong_out.view()), Error);
  EXPECT_THROW(attention(TensorView{}, k2.view(), v2.view(), o.view()), Error);
}

}  // namespace
}  // namespace attend
