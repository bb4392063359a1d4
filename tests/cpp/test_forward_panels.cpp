// The forward's shared K/V panels: several batches of (sequence, KV head) groups, GQA heads
// reading their group's panel, packed and in-place V, windows that start mid-tile, and NaN/Inf in
// V kept out of rows that give the key zero weight, on every ISA this CPU has.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attend/attend.h"
#include "test_util.h"

namespace attend {
namespace {

using test::fill_uniform;
using test::rel_l2;
using test::to_f32;

// q: [1, nq, hq, d], k: [1, nk, hkv, d], v: [1, nk, hkv, dv]; fast vs the double reference.
double max_rel_error(std::int64_t nq, std::int64_t nk, std::int64_t hq, std::int64_t hkv, std::int64_t d,
                     std::int64_t dv, const AttentionOptions& opts) {
  Tensor q(DType::f32, {1, nq, hq, d}), k(DType::f32, {1, nk, hkv, d}), v(DType::f32, {1, nk, hkv, dv});
  fill_uniform(q, 11); fill_uniform(k, 12); fill_uniform(v, 13);
  Tensor o(DType::f32, {1, nq, hq, dv}), r(DType::f32, {1, nq, hq, dv});
  reference::attention(q.view(), k.view(), v.view(), r.view(), opts);
  const auto ref = to_f32(r.view());
  double worst = 0;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(detected_isa())) continue;
    set_isa_override(isa);
    attention(q.view(), k.view(), v.view(), o.view(), opts);
    const double e = rel_l2(to_f32(o.view()), ref);
    EXPECT_TRUE(test::all_finite(to_f32(o.view()))) << isa_name(isa);
    if (e > worst) worst = e;
  }
  clear_isa_override();
  return worst;
}

TEST(ForwardPanels, SeveralBatchesOfGroupsWithGqa) {
  // D = 1024, Dv = 1000 (V packed): 4 groups x 18 tiles x 130048 floats exceed one 32 MiB batch.
  AttentionOptions opts;
  EXPECT_LE(max_rel_error(7, 1100, 8, 4, 1024, 1000, opts), 1e-5);
}

TEST(ForwardPanels, InPlaceVWindowsStartingMidTile) {
  AttentionOptions opts;
  opts.causal = true;
  opts.window_left = 37;  // first visible key of a block is not a multiple of the tile
  EXPECT_LE(max_rel_error(200, 200, 4, 2, 32, 32, opts), 1e-5);
  opts.causal = false;
  opts.window_right = 5;
  EXPECT_LE(max_rel_error(65, 1000, 2, 1, 16, 16, opts), 1e-5);
}

TEST(ForwardPanels, InfInValueStaysInRowsThatSeeIt) {
  for (std::int64_t dv : {16, 7}) {  // V read in place, V packed
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
      if (static_cast<int>(isa) > static_cast<int>(detected_isa())) continue;
      set_isa_override(isa);
      Tensor q(DType::f32, {1, 70, 1, 16}), k(DType::f32, {1, 70, 1, 16}), v(DType::f32, {1, 70, 1, dv}),
          o(DType::f32, {1, 70, 1, dv});
      fill_uniform(q, 1); fill_uniform(k, 2); fill_uniform(v, 3);
      v.data_as<float>()[66 * dv + 1] = std::numeric_limits<float>::infinity();  // second tile
      AttentionOptions opts;
      opts.causal = true;  // rows < 66 cannot see key 66
      attention(q.view(), k.view(), v.view(), o.view(), opts);
      const auto out = to_f32(o.view());
      for (std::int64_t i = 0; i < 70; ++i)
        for (std::int64_t c = 0; c < dv; ++c)
          EXPECT_EQ(std::isfinite(out[static_cast<std::size_t>(i * dv + c)]), i < 66 || c != 1)
              << isa_name(isa) << " dv " << dv << " row " << i << " col " << c;
    }
  }
  clear_isa_override();
}

}  // namespace
}  // namespace attend
