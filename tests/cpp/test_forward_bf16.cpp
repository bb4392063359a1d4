// The AVX512-BF16 forward path (src/kernels/forward_bf16_avx512.cpp) against the double reference
// on awkward shapes, masks, GQA, strided inputs and non-finite values; and which calls take it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "attend/attend.h"
#include "kernels/dispatch.h"
#include "kernels/forward_bf16.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::to_f32;

struct Bf16Case {
  std::int64_t nq, nk, hq, hkv, d, dv;
  bool causal = false;
  std::int64_t left = -1;
  bool bhsd = false;  // [B, H, N, D] memory: strided q/k/v rows
  bool bf16_out = false;  // out as bf16 (rows converted 16 at a time) instead of f32
};

std::string describe(const Bf16Case& c) {
  return "nq " + std::to_string(c.nq) + " nk " + std::to_string(c.nk) + " hq " + std::to_string(c.hq) + " hkv " +
         std::to_string(c.hkv) + " d " + std::to_string(c.d) + " dv " + std::to_string(c.dv) +
         (c.causal ? " causal" : "") + (c.left >= 0 ? " left " + std::to_string(c.left) : "") + (c.bhsd ? " bhsd" : "") + (c.bf16_out ? " bf16 out" : "");
}

bool takes_bf16_path(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& o,
                     const AttentionOptions& opts) {
  return kernels::forward_bf16_applies(kernels::make_problem("attention", q, k, v, o, opts, {}), kernels::active_kernels());
}

// Tolerance: q, k, v are exactly bf16 for both sides, S is exact up to f32 accumulation, and the
// only bf16 rounding is of P (round-to-nearest: |ΔP_j| ≤ 2^-9 P_j). With l summed from the
// unrounded weights, |Δout| ≤ Σ|ΔP_j|·|V_j| / l ≤ 2^-9 · max|V| = 2^-9 for V in [-1, 1]; the f32
// parts (accumulation over D ≤ 128, exp2 ≤ 2 ulp, the sum l) add < 1e-5. The output is f32, so no
// output rounding (measured worst: 1.1e-3 at N = 7, 3e-4 at N = 1000, i.e. the bound is tight to
// 2x). lse does not see P's rounding: f32 accuracy.
constexpr double kOutTol = 1.0 / 512 + 2e-5;
constexpr double kLseTol = 2e-5;

void check_case(const Bf16Case& c, std::uint64_t seed) {
  auto make = [&](DType t, std::int64_t n, std::int64_t h, std::int64_t d) {
    return c.bhsd ? Tensor(t, {1, h, n, d}) : Tensor(t, {1, n, h, d});
  };
  auto view = [&](const Tensor& t) { return c.bhsd ? t.view().permuted(0, 2, 1, 3) : t.view(); };
  Tensor q = make(DType::bf16, c.nq, c.hq, c.d), k = make(DType::bf16, c.nk, c.hkv, c.d),
         v = make(DType::bf16, c.nk, c.hkv, c.dv), o = make(c.bf16_out ? DType::bf16 : DType::f32, c.nq, c.hq, c.dv);
  Tensor r(DType::f32, {1, c.nq, c.hq, c.dv}), lse(DType::f32, {1, c.hq, c.nq}), rlse(DType::f32, {1, c.hq, c.nq});
  fill_uniform(q, seed, -2, 2);  // logits up to ~±10 after scaling: sharp and flat rows
  fill_uniform(k, seed + 1, -2, 2);
  fill_uniform(v, seed + 2);
  AttentionOptions opts;
  opts.causal = c.causal;
  opts.window_left = c.left;
  if (active_isa() == Isa::avx512) {  // ATTEND_ISA=avx2 / scalar: the same checks test the fallback
    EXPECT_TRUE(takes_bf16_path(view(q), view(k), view(v), view(o), opts)) << describe(c);
  }
  attention(view(q), view(k), view(v), view(o), opts, lse.view());
  reference::attention(view(q), view(k), view(v), r.view(), opts, rlse.view());
  const auto fast = to_f32(view(o)), ref = to_f32(r.view()), fl = to_f32(lse.view()), rl = to_f32(rlse.view());
  double worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(double{fast[i]} - ref[i]));
  EXPECT_LE(worst, kOutTol + (c.bf16_out ? 1.0 / 256 : 0.0)) << describe(c);  // + output rounding, |out| ≤ 1
  for (std::size_t i = 0; i < rl.size(); ++i) {
    if (std::isinf(rl[i])) {
      EXPECT_TRUE(std::isinf(fl[i]) && fl[i] < 0) << describe(c) << " lse " << i;
      continue;
    }
    ASSERT_NEAR(fl[i], rl[i], kLseTol * std::max(1.0f, std::fabs(rl[i]))) << describe(c) << " lse " << i;
  }
}

TEST(ForwardBf16, AwkwardShapesMatchReference) {
  std::uint64_t seed = 100;
  for (std::int64_t n : {1, 7, 65, 1000})
    for (std::int64_t d : {64, 128, 72}) check_case({n, n, 2, 2, d, d}, seed += 3);
}

TEST(ForwardBf16, MasksGqaAndStridesMatchReference) {
  const Bf16Case cases[] = {
      {65, 65, 4, 1, 64, 64, true},               // causal, GQA 4:1
      {1000, 1000, 2, 1, 128, 128, true},         // causal over many tiles
      {300, 130, 3, 1, 72, 40, true},             // Nq > Nk causal: 170 fully masked rows; odd-ish Dv
      {7, 200, 2, 2, 33, 17, false},              // odd D (zero-padded pair), Dv not a multiple of 16
      {200, 200, 2, 1, 64, 64, false, 50},        // sliding window: key tiles partly and fully hidden
      {129, 129, 4, 2, 64, 64, true, -1, true},   // [B, H, N, D] memory: strided rows
      {77, 301, 2, 1, 128, 96, false, -1, false, true},  // bf16 out; Dv = 96 (3 interleave chunks)
      {65, 65, 2, 2, 64, 48, true, -1, true, true},      // bf16 out from strided rows; Dv not /32
  };
  std::uint64_t seed = 500;
  for (const Bf16Case& c : cases) check_case(c, seed += 3);
}

TEST(ForwardBf16, InfInValueStaysInRowsThatSeeIt) {
  Tensor q(DType::bf16, {1, 70, 1, 64}), k(DType::bf16, {1, 70, 1, 64}), v(DType::bf16, {1, 70, 1, 64}),
      o(DType::f32, {1, 70, 1, 64});
  fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
  v.data_as<std::uint16_t>()[66 * 64 + 1] = 0x7f80;  // +inf at key 66
  AttentionOptions opts;
  opts.causal = true;  // rows < 66 cannot see key 66
  attention(q.view(), k.view(), v.view(), o.view(), opts);
  const auto out = to_f32(o.view());
  for (std::int64_t i = 0; i < 70; ++i)
    for (std::int64_t c = 0; c < 64; ++c)
      EXPECT_EQ(std::isfinite(out[static_cast<std::size_t>(i * 64 + c)]), i < 66 || c != 1)
          << "row " << i << " col " << c;
}

// Inf in V at every kind of key position the V packing handles: an even and an odd key of a full
// pair (interleaved 32 columns at a time) and the odd last key of a tile (packed one by one).
TEST(ForwardBf16, InfInValueFoundWhereverPacked) {
  for (std::int64_t key : {40, 41, 68}) {
    Tensor q(DType::bf16, {1, 69, 1, 64}), k(DType::bf16, {1, 69, 1, 64}), v(DType::bf16, {1, 69, 1, 64}),
        o(DType::f32, {1, 69, 1, 64});
    fill_uniform(q, 7); fill_uniform(k, 8); fill_uniform(v, 9);
    v.data_as<std::uint16_t>()[key * 64 + 33] = 0xff80;  // -inf, column 33 (second 32-column chunk)
    AttentionOptions opts;
    opts.causal = true;  // rows < key cannot see it
    attention(q.view(), k.view(), v.view(), o.view(), opts);
    const auto out = to_f32(o.view());
    for (std::int64_t i = 0; i < 69; ++i)
      for (std::int64_t c = 0; c < 64; ++c)
        ASSERT_EQ(std::isfinite(out[static_cast<std::size_t>(i * 64 + c)]), i < key || c != 33)
            << "key " << key << " row " << i << " col " << c;
  }
}

TEST(ForwardBf16, NanQueryPoisonsOnlyItsRow) {
  Tensor q(DType::bf16, {1, 9, 1, 64}), k(DType::bf16, {1, 9, 1, 64}), v(DType::bf16, {1, 9, 1, 64}),
      o(DType::f32, {1, 9, 1, 64});
  fill_uniform(q, 4); fill_uniform(k, 5); fill_uniform(v, 6);
  q.data_as<std::uint16_t>()[3 * 64 + 10] = 0x7fc0;  // NaN in row 3
  attention(q.view(), k.view(), v.view(), o.view());
  const auto out = to_f32(o.view());
  for (std::int64_t i = 0; i < 9; ++i)
    EXPECT_EQ(std::isnan(out[static_cast<std::size_t>(i * 64)]), i == 3) << "row " << i;
}

// Which calls take the path: bf16 q/k/v on avx512 without capture, dropout or logit modifiers
// (those fall back to the f32 path, tested by the Forward* suites); never under ATTEND_ISA=avx2.
TEST(ForwardBf16, DispatchAndFallbacks) {
  if (active_isa() != Isa::avx512) GTEST_SKIP() << "avx512 (with avx512_bf16) not active";
  Tensor q(DType::bf16, {1, 8, 1, 64}), kv(DType::bf16, {1, 8, 1, 64}), o(DType::bf16, {1, 8, 1, 64});
  Tensor qf(DType::f32, {1, 8, 1, 64});
  AttentionOptions plain, drop, cap;
  drop.dropout_p = 0.1f;
  cap.softcap = 30;
  EXPECT_TRUE(takes_bf16_path(q.view(), kv.view(), kv.view(), o.view(), plain));
  EXPECT_FALSE(takes_bf16_path(q.view(), kv.view(), kv.view(), o.view(), drop));
  EXPECT_FALSE(takes_bf16_path(q.view(), kv.view(), kv.view(), o.view(), cap));
  EXPECT_FALSE(takes_bf16_path(qf.view(), kv.view(), kv.view(), o.view(), plain));
  set_isa_override(Isa::avx2);
  EXPECT_FALSE(takes_bf16_path(q.view(), kv.view(), kv.view(), o.view(), plain));
  clear_isa_override();
}

}  // namespace
}  // namespace attend
