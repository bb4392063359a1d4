#pragma once
// The fast backward kernel body (FlashAttention-2), written once over SIMD traits `Simd` and compiled
// per ISA (backward_{scalar,avx2,avx512}.cpp). Internal linkage.
//
// Per task (sequence, KV head g, keys [j_begin, j_end)), for each KV block [j0, j0+T) and each
// query head h of the group and each query tile [i0, i0+T) that can see the block:
//   S  = Q · (scale·K)ᵀ,  x = modify(S) (mask → -inf),  P = exp(x − lse)     (recomputed, never stored)
//   dV += (P∘Z)ᵀ · dO                      Z = dropout keep / (1 − p), or 1
//   dP = dO · Vᵀ,  dS = P ∘ (Z∘dP − D),     D_i = dO_i · O_i  (precomputed, BackwardRowTerms)
//   dR = dS ∘ softcap'(S)                   (1 without soft-cap)
//   dK += scale · dRᵀ · Q  (scale applied once per block),  dQ += dR · (scale·K)
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/backward_plan.h"
#include "kernels/backward_gemm.h"
#include "kernels/tile_io.h"

namespace attend::kernels {
namespace {

constexpr float kBwdLog2e = 1.4426950408889634f;

// One task: sequence t.seq, KV head g = t.kv_head, keys [j_begin, j_end).
//   q: [B, Nq, Hq, D], k: [B, Nk, Hkv, D], v: [B, Nk, Hkv, Dv], dout: [B, Nq, Hq, Dv]
//   dk, dv: the task's keys of head g written; dq: added into dqt (zeroed by the caller)
template <class Simd>
void backward_task_impl(const BackwardProblem& b, const BackwardScratch& layout, const BackwardRowTerms& rt,
                        const BackwardTask& t, const DqTarget& dqt, float* scratch, float* dbias_task) {
  using V = typename Simd::V;
  const Problem& p = b.fwd;
  const Sequence& sq = p.seqs[static_cast<std::size_t>(t.seq)];
  const std::int64_t g = t.kv_head, group = p.group, T = BackwardScratch::kTile;
  const std::int64_t d = p.d, dv = p.dv, dp = layout.dp, dvp = layout.dvp, nq = sq.nq, nk = sq.nk;
  float *Qs = scratch + layout.qs, *dO = scratch + layout.dout, *Kt = scratch + layout.kt, *Kr = scratch + layout.kr, *Vt = scratch + layout.vt,
        *Sx = scratch + layout.s, *dSx = scratch + layout.ds, *Raw = scratch + layout.raw, *dKa = scratch + layout.dk, *dVa = scratch + layout.dv,
        *Lse2 = scratch + layout.lse2, *dQt = scratch + layout.dqt;
  float tmp[kMaxHeadSize];  // one V row (Dv <= kMaxHeadSize, checked by make_logit_spec)
  auto at = [](const TensorView& v, std::int64_t a, std::int64_t n, std::int64_t h) {
    return a * v.step(0) + n * v.step(1) + h * v.step(2);
  };

  const bool modifiers = p.has_modifiers();
  const bool plain_ds = p.dropout_p == 0 && p.softcap <= 0 && !dbias_task;  // dS = P∘(dP − D), vectorised
  // dQ straight into the target by the micro-kernel: contiguous columns, whole vectors.
  const bool dq_direct = dqt.sc == 1 && d % Simd::W == 0;
  const float keep_scale = p.dropout_p > 0 ? 1.0f / (1.0f - p.dropout_p) : 1.0f;
  const V vscale = Simd::set1(p.scale);
  const bool pad_cols = dp != d || dvp != dv;

  for (std::int64_t j0 = t.j_begin; j0 < imin(t.j_end, nk); j0 += T) {
    const std::int64_t kn = imin(T, nk - j0);
    // Pack scale·K as (scale·K)ᵀ [dp, T] and rows [T, dp], V as Vᵀ [dvp, T]; padding is zero.
    if (kn < T || pad_cols) {
      std::memset(Kt, 0, static_cast<std::size_t>(dp * T) * 4);
      std::memset(Kr, 0, static_cast<std::size_t>(T * dp) * 4);
      std::memset(Vt, 0, static_cast<std::size_t>(dvp * T) * 4);
    }
    for (std::int64_t j = 0; j < kn; ++j) {
      float* kr = Kr + j * dp;
      load_row<Simd>(p.k.data, p.k.dtype, at(p.k, sq.batch, sq.k0 + j0 + j, g), p.k.step(3), d, kr);
      for (std::int64_t c = 0; c + Simd::W <= d; c += Simd::W) Simd::store(kr + c, Simd::mul(Simd::load(kr + c), vscale));
      for (std::int64_t c = d / Simd::W * Simd::W; c < d; ++c) kr[c] *= p.scale;
      for (std::int64_t c = 0; c < d; ++c) Kt[c * T + j] = kr[c];
      load_row<Simd>(p.v.data, p.v.dtype, at(p.v, sq.batch, sq.k0 + j0 + j, g), p.v.step(3), dv, tmp);
      for (std::int64_t c = 0; c < dv; ++c) Vt[c * T + j] = tmp[c];
    }
    std::memset(dKa, 0, static_cast<std::size_t>(T * dp) * 4);
    std::memset(dVa, 0, static_cast<std::size_t>(T * dvp) * 4);

    for (std::int64_t hh = 0; hh < group; ++hh) {
      const std::int64_t h = g * group + hh;
      const float* dvec = rt.dvec + (sq.batch * rt.heads + h) * rt.rows + sq.q0;
      for (std::int64_t i0 = 0; i0 < nq; i0 += T) {
        const std::int64_t rows = imin(T, nq - i0);
        const KeyRange first = p.visible(i0, sq), last = p.visible(i0 + rows - 1, sq);
        if (last.hi <= j0 || first.lo >= j0 + kn) continue;  // the mask hides this block from the tile
        // Load Q, dO and lse (rows past `rows` and columns past d stay zero).
        if (rows < T || pad_cols) {
          std::memset(Qs, 0, static_cast<std::size_t>(T * dp) * 4);
          std::memset(dO, 0, static_cast<std::size_t>(T * dvp) * 4);
        }
        for (std::int64_t r = 0; r < rows; ++r) {
          const std::int64_t i = i0 + r;
          load_row<Simd>(p.q.data, p.q.dtype, at(p.q, sq.batch, sq.q0 + i, h), p.q.step(3), d, Qs + r * dp);
          load_row<Simd>(b.dout.data, b.dout.dtype, at(b.dout, sq.batch, sq.q0 + i, h), b.dout.step(3), dv, dO + r * dvp);
          const float lse = static_cast<const float*>(p.lse.data)[sq.batch * p.lse.step(0) + h * p.lse.step(1) + (sq.q0 + i) * p.lse.step(2)];
          // Empty rows (lse = -inf) get +inf so that P = exp2(x − inf) = 0 everywhere.
          Lse2[r] = lse == kNegInf ? INFINITY : lse * kBwdLog2e;
        }
        // S = Q · (scale·K)ᵀ ; dP = dO · Vᵀ
        bwd_gemm<Simd, false>(Qs, dp, T, d, Kt, T, T, Sx, T);
        bwd_gemm<Simd, false>(dO, dvp, T, dv, Vt, T, T, dSx, T);
        const bool full = kn == T && p.tile_fully_visible(i0, i0 + rows, j0, j0 + kn, sq);
        for (std::int64_t r = 0; r < T; ++r) {
          float* srow = Sx + r * T;
          float* dsrow = dSx + r * T;
          if (r >= rows) {  // padding rows contribute nothing
            for (std::int64_t j = 0; j < T; j += Simd::W) { Simd::store(srow + j, Simd::zero()); Simd::store(dsrow + j, Simd::zero()); }
            continue;
          }
          const std::int64_t i = i0 + r;
          if (modifiers || !full) {  // logits: modifiers and the mask, elementwise
            const KeyRange vr = p.visible(i, sq);
            for (std::int64_t j = 0; j < T; ++j) {
              const std::int64_t jj = j0 + j;
              if (j >= kn || jj < vr.lo || jj >= vr.hi) { srow[j] = kNegInf; continue; }
              if (modifiers) {
                const float raw = srow[j];
                srow[j] = p.modify_logit(raw, t.seq, h, i, jj, sq);
                Raw[r * T + j] = raw;  // kept for softcap'
              }
            }
          }
          // P = exp2(x·log2e − lse·log2e)   (one FMA, then the vector exp2)
          const V l2 = Simd::set1(kBwdLog2e), ml = Simd::set1(-Lse2[r]);
          const float Di = dvec[i];
          if (plain_ds) {  // dS = P ∘ (dP − D), P and dS in registers
            const V vd = Simd::set1(Di);
            for (std::int64_t j = 0; j < T; j += Simd::W) {
              const V pv = Simd::exp2(Simd::fma(Simd::load(srow + j), l2, ml));
              Simd::store(srow + j, pv);
              Simd::store(dsrow + j, Simd::mul(pv, Simd::sub(Simd::load(dsrow + j), vd)));
            }
            continue;
          }
          for (std::int64_t j = 0; j < T; j += Simd::W) Simd::store(srow + j, Simd::exp2(Simd::fma(Simd::load(srow + j), l2, ml)));
          // dS = P ∘ (Z∘dP − D); srow becomes P∘Z for dV.
          for (std::int64_t j = 0; j < T; ++j) {
            float pz = srow[j], z = 1.0f;
            if (p.dropout_p > 0 && pz != 0.0f)
              z = dropout_keep(p.dropout_seed, p.dropout_p, t.seq, h, i, j0 + j) ? keep_scale : 0.0f;
            float dS = pz * (z * dsrow[j] - Di);
            if (dbias_task && j < kn && pz != 0.0f) dbias_task[(hh * nq + i) * nk + j0 + j] += dS;
            if (p.softcap > 0 && pz != 0.0f) {
              const float th = std::tanh(Raw[r * T + j] / p.softcap);
              dS *= 1.0f - th * th;
            }
            dsrow[j] = dS;
            srow[j] = pz * z;
          }
        }
        bwd_gemm_at<Simd, true>(Sx, T, T, T, dO, dvp, dvp, dVa, dvp);   // dV += (P∘Z)ᵀ · dO
        bwd_gemm_at<Simd, true>(dSx, T, T, T, Qs, dp, dp, dKa, dp);     // dK/scale += dRᵀ · Q
        float* dq0 = dqt.base + i0 * dqt.si + hh * dqt.sh;
        if (dq_direct && rows == T) {
          bwd_gemm<Simd, true>(dSx, T, T, kn, Kr, dp, d, dq0, dqt.si);  // dQ += dR · (scale·K)
        } else {
          bwd_gemm<Simd, false>(dSx, T, T, kn, Kr, dp, dp, dQt, dp);
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < d; ++c) dq0[r * dqt.si + c * dqt.sc] += dQt[r * dp + c];
        }
      }
    }
    // Write this block's dK (times scale) and dV (the task owns these keys for KV head g).
    for (std::int64_t j = 0; j < kn; ++j) {
      const std::int64_t ko = at(b.dk, sq.batch, sq.k0 + j0 + j, g), vo = at(b.dv, sq.batch, sq.k0 + j0 + j, g);
      for (std::int64_t c = 0; c < d; ++c) core::store_f32(b.dk.data, b.dk.dtype, ko + c * b.dk.step(3), p.scale * dKa[j * dp + c]);
      for (std::int64_t c = 0; c < dv; ++c) core::store_f32(b.dv.data, b.dv.dtype, vo + c * b.dv.step(3), dVa[j * dvp + c]);
    }
  }
}

}  // namespace
}  // namespace attend::kernels
