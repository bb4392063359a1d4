#pragma once
// One description of an attention case, and the tables of them, shared by the table-driven
// correctness tests (ForwardTable in tests/cpp/test_forward.cpp, BackwardTable in
// tests/cpp/test_backward.cpp) and the benchmark `attend bench --table`
// (bench/bench_table.cpp), as ggml's test-backend-ops: each case carries its shape, options,
// dtype, tolerance and FLOP count, so the same description is checked and timed. Header-only: the
// library never compiles it.
//
//   q: [B, Nq, Hq, D]  k: [B, Nk, Hkv, D]  v: [B, Nk, Hkv, Dv]  dout: [B, Nq, Hq, Dv]
//   ragged, packed: q [1, Σ Nq_s, Hq, D], k and v [1, Σ Nk_s, Hkv, ·] for B sequences (cu_seqlens)
//   ragged, padded: as dense, sequence s using only its first Nk_s keys (seqlens_k)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "attend/attention.h"
#include "attend/dtype.h"
#include "attend/tensor.h"

namespace attend::kernels {

enum class Ragged { none, packed, padded };

struct AttentionCase {
  std::string name;
  std::int64_t b = 1, nq = 1, nk = 1, hq = 1, hkv = 1, d = 64, dv = 64;
  DType dtype = DType::f32;            // of q, k, v, out (and dout, the gradients)
  bool bhsd = false;                   // [B, H, N, D] memory: strided rows
  bool causal = false;
  std::int64_t left = -1, right = -1;  // window (-1: unbounded)
  float softcap = 0;
  bool bias = false;                   // broadcast bias with -inf entries (see CaseInputs)
  bool alibi = false;                  // slopes 2^(−8(h+1)/Hq)
  float dropout = 0;
  Ragged ragged = Ragged::none;        // B sequences of unequal lengths, one of them empty
  float amplitude = 1;                 // q and k uniform in [−a, a]: large logits when a ≫ 1

  // Relative L2 error allowed against the double reference (DESIGN.md): f32 1e-5; bf16/f16
  // inputs and outputs: the bound of their rounding (the backward's gradients are rounded too).
  double forward_tolerance() const { return dtype == DType::f32 ? 1e-5 : 2e-2; }
  double backward_tolerance() const { return dtype == DType::f32 ? 1e-5 : 1.5e-2; }

  // Sequence s's query rows and keys. Ragged: packed sequences shrink in queries and grow in keys,
  // and sequence 1 (of B ≥ 3) has no queries; padded sequences use (s + 1)/B of the keys, and
  // sequence 1 none (its rows see nothing: zero output, lse −inf).
  std::int64_t seq_nq(std::int64_t s) const {
    if (ragged != Ragged::packed) return nq;
    return b >= 3 && s == 1 ? 0 : std::max<std::int64_t>(1, nq * (b - s) / b);
  }
  std::int64_t seq_nk(std::int64_t s) const {
    if (ragged == Ragged::none) return nk;
    if (ragged == Ragged::padded && b >= 3 && s == 1) return 0;
    return std::max<std::int64_t>(1, nk * (s + 1) / b);
  }
  std::int64_t rows_q() const { return ragged == Ragged::packed ? sum([&](std::int64_t s) { return seq_nq(s); }) : nq; }
  std::int64_t rows_k() const { return ragged == Ragged::packed ? sum([&](std::int64_t s) { return seq_nk(s); }) : nk; }
  std::int64_t batch() const { return ragged == Ragged::packed ? 1 : b; }

  // FLOPs under the project's convention (attention_flops: 2·(D + Dv) per visible pair and head;
  // the backward counts 2.5x the forward).
  double forward_flops() const {
    AttentionOptions o;
    o.causal = causal;
    o.window_left = left;
    o.window_right = right;
    double f = 0;
    for (std::int64_t s = 0; s < b; ++s) f += attention_flops(1, hq, seq_nq(s), seq_nk(s), d, dv, o);
    return f;
  }
  double backward_flops() const { return 2.5 * forward_flops(); }

 private:
  template <class Fn>
  std::int64_t sum(Fn&& fn) const {
    std::int64_t t = 0;
    for (std::int64_t s = 0; s < b; ++s) t += fn(s);
    return t;
  }
};

// gtest prints a case by its name.
inline void PrintTo(const AttentionCase& c, std::ostream* os) { *os << c.name; }

// A case's inputs, filled from a seed, and its AttentionOptions (which point into this object:
// not copyable). Seeds: q seed, k seed + 1, v + 2, dout + 3, bias + 4, dropout + 5. Tensors come in the case's layout; view() gives their [B, N, H, ·] view.
class CaseInputs {
 public:
  CaseInputs(const AttentionCase& c, std::uint64_t seed)
      : c_(c), q(tensor(c.rows_q(), c.hq, c.d)), k(tensor(c.rows_k(), c.hkv, c.d)), v(tensor(c.rows_k(), c.hkv, c.dv)),
        dout(tensor(c.rows_q(), c.hq, c.dv)) {
    fill(q, seed, -c.amplitude, c.amplitude);
    fill(k, seed + 1, -c.amplitude, c.amplitude);
    fill(v, seed + 2, -1, 1);
    fill(dout, seed + 3, -1, 1);
    opts.causal = c.causal;
    opts.window_left = c.left;
    opts.window_right = c.right;
    opts.softcap = c.softcap;
    opts.dropout_p = c.dropout;
    opts.dropout_seed = seed + 5;
    if (c.ragged == Ragged::packed) {
      cu_q.push_back(0);
      cu_k.push_back(0);
      for (std::int64_t s = 0; s < c.b; ++s) {
        cu_q.push_back(cu_q.back() + static_cast<std::int32_t>(c.seq_nq(s)));
        cu_k.push_back(cu_k.back() + static_cast<std::int32_t>(c.seq_nk(s)));
      }
      opts.cu_seqlens_q = cu_q;
      opts.cu_seqlens_k = cu_k;
    } else if (c.ragged == Ragged::padded) {
      for (std::int64_t s = 0; s < c.b; ++s) seqlens.push_back(static_cast<std::int32_t>(c.seq_nk(s)));
      opts.seqlens_k = seqlens;
    }
    if (c.bias) {
      // [1, Hq, Nq, Nk] broadcast over the batch; packed: [B, 1 (broadcast heads), max Nq, max Nk].
      std::int64_t mq = 0, mk = 0;
      for (std::int64_t s = 0; s < c.b; ++s) mq = std::max(mq, c.seq_nq(s)), mk = std::max(mk, c.seq_nk(s));
      bias = c.ragged == Ragged::packed ? Tensor(DType::f32, {c.b, 1, mq, mk}) : Tensor(DType::f32, {1, c.hq, c.nq, c.nk});
      fill(bias, seed + 4, -2, 2);
      float* bp = bias.data_as<float>();
      for (std::int64_t i = 0; i < bias.numel(); i += 7) bp[i] = -std::numeric_limits<float>::infinity();
      opts.bias = bias.view();
    }
    if (c.alibi) {
      for (std::int64_t h = 0; h < c.hq; ++h)
        slopes.push_back(std::pow(2.0f, -8.0f * static_cast<float>(h + 1) / static_cast<float>(c.hq)));
      opts.alibi_slopes = slopes;
    }
  }
  CaseInputs(const CaseInputs&) = delete;
  CaseInputs& operator=(const CaseInputs&) = delete;

  // A tensor of n rows, h heads, width w in the case's dtype and layout.
  Tensor tensor(std::int64_t n, std::int64_t h, std::int64_t w, DType dt) const {
    return c_.bhsd ? Tensor(dt, {c_.batch(), h, n, w}) : Tensor(dt, {c_.batch(), n, h, w});
  }
  Tensor tensor(std::int64_t n, std::int64_t h, std::int64_t w) const { return tensor(n, h, w, c_.dtype); }
  TensorView view(const Tensor& t) const { return c_.bhsd ? t.view().permuted(0, 2, 1, 3) : t.view(); }
  Tensor new_out() const { return tensor(c_.rows_q(), c_.hq, c_.dv); }
  Tensor new_lse() const { return Tensor(DType::f32, {c_.batch(), c_.hq, c_.rows_q()}); }

  static void fill(const Tensor& t, std::uint64_t seed, float lo, float hi) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> tmp(static_cast<std::size_t>(t.numel()));
    for (float& x : tmp) x = u(rng);
    convert_from_f32(tmp.data(), t.data(), t.dtype(), tmp.size());
  }

 private:
  AttentionCase c_;

 public:
  Tensor q, k, v, dout, bias;
  std::vector<float> slopes;
  std::vector<std::int32_t> cu_q, cu_k, seqlens;
  AttentionOptions opts;
};

// "n<n>_d<d>" (appended piece by piece: GCC 12 warns falsely on "literal" + std::string temporaries).
inline std::string size_name(std::int64_t n, std::int64_t d) {
  std::string s = "n";
  s += std::to_string(n);
  s += "_d";
  s += std::to_string(d);
  return s;
}

// The forward table: sizes 1, 7, 65, 1000 (and 2048) over head sizes and GQA ratios, layouts,
// masks (rows that see no key included), windows, logit modifiers, dropout, ragged batches, large
// logits, and every dtype.
inline std::vector<AttentionCase> forward_cases() {
  using C = AttentionCase;
  std::vector<C> t;
  for (std::int64_t n : {1, 7, 65, 1000})
    for (std::int64_t d : {8, 64, 80, 128, 256}) {
      if (n == 1000 && d > 128) continue;  // the 2048 cases below cover long and wide
      const std::string name = size_name(n, d);
      t.push_back({.name = name, .nq = n, .nk = n, .hq = 4, .hkv = 2, .d = d, .dv = d});
      t.push_back({.name = name + "_causal", .nq = n, .nk = n, .hq = 4, .hkv = 2, .d = d, .dv = d, .causal = true});
    }
  t.push_back({.name = "n2048_d128_causal_gqa4", .nq = 2048, .nk = 2048, .hq = 4, .hkv = 1, .d = 128, .dv = 128, .causal = true});
  t.push_back({.name = "n2048_d64", .nq = 2048, .nk = 2048, .hq = 2, .hkv = 2, .d = 64, .dv = 64});
  t.push_back({.name = "n2048_d256_bhsd", .nq = 2048, .nk = 2048, .hq = 1, .hkv = 1, .d = 256, .dv = 256, .bhsd = true});
  // GQA / MQA, Dv != D, batches, strided layouts.
  t.push_back({.name = "mqa_8to1", .b = 2, .nq = 33, .nk = 47, .hq = 8, .hkv = 1, .d = 64, .dv = 64});
  t.push_back({.name = "gqa_6to3_dv_differs", .b = 2, .nq = 19, .nk = 130, .hq = 6, .hkv = 3, .d = 64, .dv = 40});
  t.push_back({.name = "bhsd_layout", .b = 3, .nq = 70, .nk = 90, .hq = 4, .hkv = 2, .d = 32, .dv = 32, .bhsd = true});
  t.push_back({.name = "bhsd_causal_gqa", .b = 2, .nq = 100, .nk = 100, .hq = 8, .hkv = 2, .d = 80, .dv = 80, .bhsd = true, .causal = true});
  // Causal with Nq != Nk (bottom-right), including Nq > Nk (the top rows see no key).
  t.push_back({.name = "causal_nq_lt_nk", .nq = 17, .nk = 200, .hq = 2, .hkv = 2, .d = 64, .dv = 64, .causal = true});
  t.push_back({.name = "causal_nq_gt_nk_masked_rows", .nq = 90, .nk = 30, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .causal = true});
  // Windows, alone and with causal.
  t.push_back({.name = "window_16_16", .nq = 300, .nk = 300, .hq = 2, .hkv = 2, .d = 64, .dv = 64, .left = 16, .right = 16});
  t.push_back({.name = "window_left_only", .nq = 300, .nk = 300, .hq = 2, .hkv = 2, .d = 64, .dv = 64, .left = 40});
  t.push_back({.name = "window_causal_64", .nq = 500, .nk = 500, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .causal = true, .left = 64});
  t.push_back({.name = "window_0_0_diagonal", .nq = 65, .nk = 65, .hq = 1, .hkv = 1, .d = 16, .dv = 16, .left = 0, .right = 0});
  // Logit modifiers, dropout.
  t.push_back({.name = "softcap_5", .nq = 65, .nk = 129, .hq = 2, .hkv = 2, .d = 64, .dv = 64, .softcap = 5.0f});
  t.push_back({.name = "bias_with_neg_inf", .b = 2, .nq = 65, .nk = 100, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .bias = true});
  t.push_back({.name = "alibi_causal", .nq = 200, .nk = 200, .hq = 4, .hkv = 4, .d = 64, .dv = 64, .causal = true, .alibi = true});
  t.push_back({.name = "dropout", .nq = 65, .nk = 80, .hq = 2, .hkv = 2, .d = 32, .dv = 32, .dropout = 0.3f});
  t.push_back({.name = "everything", .b = 2, .nq = 77, .nk = 150, .hq = 4, .hkv = 2, .d = 48, .dv = 24, .bhsd = true, .causal = true,
               .left = 50, .softcap = 20.0f, .bias = true, .alibi = true});
  // Ragged batches: packed (one sequence without queries) and padded (one without keys).
  t.push_back({.name = "ragged_packed_causal_bias", .b = 4, .nq = 70, .nk = 140, .hq = 4, .hkv = 2, .d = 32, .dv = 32, .causal = true,
               .bias = true, .ragged = Ragged::packed});
  t.push_back({.name = "ragged_padded_causal", .b = 3, .nq = 20, .nk = 128, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .causal = true,
               .ragged = Ragged::padded});
  // Large logits (q·k up to 1e4 · scale): must not overflow.
  t.push_back({.name = "large_logits", .nq = 65, .nk = 65, .hq = 2, .hkv = 2, .d = 1, .dv = 1, .amplitude = 100.0f});
  t.push_back({.name = "large_logits_causal_d64", .nq = 65, .nk = 65, .hq = 2, .hkv = 2, .d = 64, .dv = 64, .causal = true, .amplitude = 30.0f});
  // Low precision inputs (and outputs), N = 1, 7, 65, 1000.
  for (DType dt : {DType::bf16, DType::f16}) {
    const std::string n = std::string(dtype_name(dt));
    t.push_back({.name = n + "_n1_d64", .nq = 1, .nk = 1, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .dtype = dt});
    t.push_back({.name = n + "_n7_d80", .nq = 7, .nk = 7, .hq = 3, .hkv = 1, .d = 80, .dv = 80, .dtype = dt});
    t.push_back({.name = n + "_bhsd_window_alibi", .b = 2, .nq = 65, .nk = 70, .hq = 4, .hkv = 2, .d = 64, .dv = 64, .dtype = dt,
                 .bhsd = true, .left = 10, .right = 3, .alibi = true});
    t.push_back({.name = n + "_n1000_d128_causal", .nq = 1000, .nk = 1000, .hq = 2, .hkv = 1, .d = 128, .dv = 128, .dtype = dt,
                 .causal = true});
    t.push_back({.name = n + "_ragged_packed", .b = 3, .nq = 40, .nk = 60, .hq = 2, .hkv = 2, .d = 64, .dv = 64, .dtype = dt,
                 .causal = true, .ragged = Ragged::packed});
  }
  return t;
}

// The backward table: sizes 1, 7, 65, 300 (and 1000) over head sizes, GQA, layouts, masks,
// modifiers with dbias, dropout, ragged batches and every dtype.
inline std::vector<AttentionCase> backward_cases() {
  using C = AttentionCase;
  std::vector<C> t;
  for (std::int64_t n : {1, 7, 65, 300})
    for (std::int64_t d : {8, 64, 80, 128}) {
      const std::string name = size_name(n, d);
      t.push_back({.name = name, .nq = n, .nk = n, .hq = 2, .hkv = 1, .d = d, .dv = d});
      t.push_back({.name = name + "_causal", .nq = n, .nk = n, .hq = 2, .hkv = 2, .d = d, .dv = d, .causal = true});
    }
  t.push_back({.name = "n1000_d64_causal_gqa", .nq = 1000, .nk = 1000, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .causal = true});
  t.push_back({.name = "d256", .nq = 70, .nk = 70, .hq = 1, .hkv = 1, .d = 256, .dv = 256});
  t.push_back({.name = "mqa_dv_differs_bhsd", .b = 2, .nq = 33, .nk = 50, .hq = 6, .hkv = 1, .d = 32, .dv = 24, .bhsd = true});
  t.push_back({.name = "causal_nq_gt_nk", .nq = 90, .nk = 30, .hq = 2, .hkv = 1, .d = 32, .dv = 32, .causal = true});
  t.push_back({.name = "causal_nq_lt_nk", .b = 2, .nq = 17, .nk = 130, .hq = 4, .hkv = 2, .d = 32, .dv = 32, .causal = true});
  t.push_back({.name = "window", .nq = 200, .nk = 200, .hq = 2, .hkv = 2, .d = 32, .dv = 32, .left = 20, .right = 5});
  t.push_back({.name = "softcap", .nq = 65, .nk = 70, .hq = 2, .hkv = 1, .d = 32, .dv = 32, .softcap = 3.0f});
  t.push_back({.name = "bias_dbias", .b = 2, .nq = 50, .nk = 60, .hq = 4, .hkv = 2, .d = 32, .dv = 32, .bias = true});
  t.push_back({.name = "alibi_causal", .nq = 100, .nk = 100, .hq = 4, .hkv = 4, .d = 32, .dv = 32, .causal = true, .alibi = true});
  t.push_back({.name = "dropout", .nq = 65, .nk = 80, .hq = 2, .hkv = 1, .d = 32, .dv = 32, .dropout = 0.25f});
  t.push_back({.name = "everything", .b = 2, .nq = 77, .nk = 99, .hq = 4, .hkv = 2, .d = 48, .dv = 24, .bhsd = true, .causal = true,
               .left = 40, .softcap = 10.0f, .bias = true, .alibi = true, .dropout = 0.1f});
  t.push_back({.name = "ragged_packed_causal", .b = 3, .nq = 70, .nk = 100, .hq = 4, .hkv = 2, .d = 32, .dv = 32, .causal = true,
               .ragged = Ragged::packed});
  t.push_back({.name = "ragged_padded", .b = 3, .nq = 20, .nk = 64, .hq = 2, .hkv = 1, .d = 16, .dv = 16, .ragged = Ragged::padded});
  for (DType dt : {DType::bf16, DType::f16}) {
    const std::string n = std::string(dtype_name(dt));
    t.push_back({.name = n + "_n1", .nq = 1, .nk = 1, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .dtype = dt});
    t.push_back({.name = n + "_causal", .nq = 130, .nk = 130, .hq = 2, .hkv = 1, .d = 64, .dv = 64, .dtype = dt, .causal = true});
    t.push_back({.name = n + "_bhsd_window", .b = 2, .nq = 65, .nk = 70, .hq = 4, .hkv = 2, .d = 32, .dv = 32, .dtype = dt, .bhsd = true,
                 .left = 10, .right = 3});
  }
  return t;
}

}  // namespace attend::kernels
