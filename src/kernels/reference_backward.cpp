// The specification of attention backward: plain loops in double precision, row by row.
//
//   p_j   = exp(s_j − lse)                      (s_j the forward's logit; masked: p_j = 0)
//   z_j   = keep_j / (1 − dropout_p)            (1 without dropout)
//   D     = Σ_c dout_c · out_c
//   dv_j += p_j z_j · dout
//   dS_j  = p_j (z_j · dout·v_j − D)            gradient of the logit after bias/ALiBi
//   dbias[b,h,i,j] += dS_j
//   dR_j  = dS_j · (1 − tanh²(scale·q·k_j / c)) with soft-cap c, else dS_j
//   dq   += scale · dR_j · k_j,   dk_j += scale · dR_j · q
#include <cmath>
#include <vector>

#include "attend/backward.h"
#include "core/element.h"
#include "kernels/backward_problem.h"

namespace attend::reference {

using kernels::Problem;
using kernels::Sequence;

void attention_backward(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& dout, const TensorView& lse, const AttentionGrads& grads,
                        const AttentionOptions& opts) {
  const kernels::BackwardProblem b = kernels::make_backward_problem("reference::attention_backward", q, k, v, out, dout,
                                                                    lse, grads, opts);
  const Problem& p = b.fwd;
  auto at = [](const TensorView& t, std::int64_t a, std::int64_t n, std::int64_t h) {
    return a * t.step(0) + n * t.step(1) + h * t.step(2);
  };
  auto ld = [](const TensorView& t, std::int64_t off) { return static_cast<double>(core::load_f32(t.data, t.dtype, off)); };
  // dbias accumulates in double over the broadcast dimensions, then is written once.
  std::vector<double> dbias;
  if (!b.dbias.empty()) dbias.assign(static_cast<std::size_t>(b.dbias.numel()), 0.0);
  auto dbias_index = [&](std::int64_t seq, const Sequence& s, std::int64_t h, std::int64_t i, std::int64_t j) {
    const std::int64_t idx[4] = {p.packed ? seq : s.batch, h, i, j};
    std::int64_t flat = 0;
    for (int d = 0; d < 4; ++d) flat = flat * b.dbias.dim(d) + (b.dbias.dim(d) == 1 ? 0 : idx[d]);
    return static_cast<std::size_t>(flat);
  };

  for (std::size_t si = 0; si < p.seqs.size(); ++si) {
    const Sequence& s = p.seqs[si];
    const auto seq = static_cast<std::int64_t>(si);
    std::vector<double> dq(static_cast<std::size_t>(s.nq * p.hq * p.d), 0.0);
    std::vector<double> dk(static_cast<std::size_t>(s.nk * p.hkv * p.d), 0.0), dv(static_cast<std::size_t>(s.nk * p.hkv * p.dv), 0.0);
    for (std::int64_t h = 0; h < p.hq; ++h) {
      const std::int64_t g = p.kv_head(h);
      for (std::int64_t i = 0; i < s.nq; ++i) {
        const double row_lse = core::load_f32(p.lse.data, DType::f32, s.batch * p.lse.step(0) + h * p.lse.step(1) + (s.q0 + i) * p.lse.step(2));
        if (!(row_lse > -INFINITY)) continue;
        const std::int64_t qo = at(p.q, s.batch, s.q0 + i, h), oo = at(p.out, s.batch, s.q0 + i, h), go = at(b.dout, s.batch, s.q0 + i, h);
        double D = 0;
        for (std::int64_t c = 0; c < p.dv; ++c) D += ld(b.dout, go + c * b.dout.step(3)) * ld(p.out, oo + c * p.out.step(3));
        const kernels::KeyRange r = p.visible(i, s);
        for (std::int64_t j = std::max<std::int64_t>(0, r.lo); j < std::min(s.nk, r.hi); ++j) {
          const std::int64_t ko = at(p.k, s.batch, s.k0 + j, g), vo = at(p.v, s.batch, s.k0 + j, g);
          double raw = 0;
          for (std::int64_t c = 0; c < p.d; ++c) raw += ld(p.q, qo + c * p.q.step(3)) * ld(p.k, ko + c * p.k.step(3));
          const double x = static_cast<double>(p.scale) * raw;
          const double logit = p.modify_logit(x, seq, h, i, j, s);
          if (!(logit > -INFINITY)) continue;
          const double pj = std::exp(logit - row_lse);
          double z = 1;
          if (p.dropout_p > 0)
            z = kernels::dropout_keep(p.dropout_seed, p.dropout_p, seq, h, i, j) ? 1.0 / (1.0 - static_cast<double>(p.dropout_p)) : 0.0;
          double dp = 0;
          for (std::int64_t c = 0; c < p.dv; ++c) {
            const double gc = ld(b.dout, go + c * b.dout.step(3));
            dp += gc * ld(p.v, vo + c * p.v.step(3));
            dv[static_cast<std::size_t>((j * p.hkv + g) * p.dv + c)] += pj * z * gc;
          }
          const double dS = pj * (z * dp - D);
          if (!dbias.empty()) dbias[dbias_index(seq, s, h, i, j)] += dS;
          double dR = dS;
          if (p.softcap > 0) {
            const double t = std::tanh(x / static_cast<double>(p.softcap));
            dR *= 1 - t * t;
          }
          dR *= static_cast<double>(p.scale);
          for (std::int64_t c = 0; c < p.d; ++c) {
            dq[static_cast<std::size_t>((i * p.hq + h) * p.d + c)] += dR * ld(p.k, ko + c * p.k.step(3));
            dk[static_cast<std::size_t>((j * p.hkv + g) * p.d + c)] += dR * ld(p.q, qo + c * p.q.step(3));
          }
        }
      }
    }
    for (std::int64_t i = 0; i < s.nq; ++i)
      for (std::int64_t h = 0; h < p.hq; ++h)
        for (std::int64_t c = 0; c < p.d; ++c)
          core::store_f32(b.dq.data, b.dq.dtype, at(b.dq, s.batch, s.q0 + i, h) + c * b.dq.step(3),
                          static_cast<float>(dq[static_cast<std::size_t>((i * p.hq + h) * p.d + c)]));
    for (std::int64_t j = 0; j < s.nk; ++j)
      for (std::int64_t g = 0; g < p.hkv; ++g) {
        for (std::int64_t c = 0; c < p.d; ++c)
          core::store_f32(b.dk.data, b.dk.dtype, at(b.dk, s.batch, s.k0 + j, g) + c * b.dk.step(3),
                          static_cast<float>(dk[static_cast<std::size_t>((j * p.hkv + g) * p.d + c)]));
        for (std::int64_t c = 0; c < p.dv; ++c)
          core::store_f32(b.dv.data, b.dv.dtype, at(b.dv, s.batch, s.k0 + j, g) + c * b.dv.step(3),
                          static_cast<float>(dv[static_cast<std::size_t>((j * p.hkv + g) * p.dv + c)]));
      }
  }
  // Padded batches: keys beyond seqlens_k get zero gradients; those rows were never visited above.
  if (!p.packed)
    for (const Sequence& s : p.seqs)
      for (std::int64_t j = s.nk; j < p.k.dim(1); ++j)
        for (std::int64_t g = 0; g < p.hkv; ++g) {
          for (std::int64_t c = 0; c < p.d; ++c) core::store_f32(b.dk.data, b.dk.dtype, at(b.dk, s.batch, j, g) + c * b.dk.step(3), 0.0f);
          for (std::int64_t c = 0; c < p.dv; ++c) core::store_f32(b.dv.data, b.dv.dtype, at(b.dv, s.batch, j, g) + c * b.dv.step(3), 0.0f);
        }
  if (!dbias.empty()) {
    std::int64_t n = 0;
    for (std::int64_t a = 0; a < b.dbias.dim(0); ++a)
      for (std::int64_t h = 0; h < b.dbias.dim(1); ++h)
        for (std::int64_t i = 0; i < b.dbias.dim(2); ++i)
          for (std::int64_t j = 0; j < b.dbias.dim(3); ++j)
            static_cast<float*>(b.dbias.data)[a * b.dbias.step(0) + h * b.dbias.step(1) + i * b.dbias.step(2) + j * b.dbias.step(3)] =
                static_cast<float>(dbias[static_cast<std::size_t>(n++)]);
  }
}

}  // namespace attend::reference
