// EMF operators at real widths (attend/observe_metrics.h): every quantity of M = W_Q·W_Kᵀ/√D and
// F = W_V·W_O through d_head-sized QR cores, composition through one [H·D, E] × [E, H·D] product
// per pair of layers. Never an E × E matrix.
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "attend/observe_metrics.h"
#include "core/check.h"
#include "core/thread_pool.h"
#include "observe/linalg.h"

namespace attend::observe {
namespace {

using I64 = std::int64_t;
std::size_t sz(I64 v) { return static_cast<std::size_t>(v); }

// c [r, k2] = a [r, k] · bᵀ with b [k2, k] (double, small).
std::vector<double> mul_bt(const std::vector<double>& a, const std::vector<double>& b, I64 r, I64 k, I64 k2) {
  std::vector<double> c(sz(r * k2), 0.0);
  for (I64 i = 0; i < r; ++i)
    for (I64 j = 0; j < k2; ++j) {
      double s = 0;
      for (I64 t = 0; t < k; ++t) s += a[sz(i * k + t)] * b[sz(j * k + t)];
      c[sz(i * k2 + j)] = s;
    }
  return c;
}

double fro2(const std::vector<double>& a) {
  double s = 0;
  for (double x : a) s += x * x;
  return s;
}

// One head, factored. wq, wk: [E, D]; wv: [E, Dv]; wo: [Dv, E] (double, row-major).
struct Factored {
  HeadOperators op;
  double m_norm = 0, f_norm = 0;
  std::vector<double> a;               // [Dv, E]  R_v · W_O          (F = Q_v · a)
  std::vector<double> bq, bk, bv;      // [E, D], [E, D], [E, Dv]: W_Q R_kᵀ/√D, W_K R_qᵀ/√D, W_V R_oᵀ
};

Factored factor(const std::vector<double>& wq, const std::vector<double>& wk, const std::vector<double>& wv, const std::vector<double>& wo,
                I64 e, I64 d, I64 dv, bool keep_factors) {
  Factored f;
  std::vector<double> wot(sz(e * dv));  // W_Oᵀ [E, Dv]
  for (I64 i = 0; i < dv; ++i)
    for (I64 c = 0; c < e; ++c) wot[sz(c * dv + i)] = wo[sz(i * e + c)];
  const auto rq = linalg::qr_r(wq, e, d), rk = linalg::qr_r(wk, e, d), rv = linalg::qr_r(wv, e, dv), ro = linalg::qr_r(wot, e, dv);
  const double inv = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> core_m = mul_bt(rq, rk, d, d, d);  // R_q R_kᵀ
  for (double& x : core_m) x *= inv;
  const std::vector<double> core_f = mul_bt(rv, ro, dv, dv, dv);  // R_v R_oᵀ
  f.op.m_singular = linalg::small_singular_values(core_m, d);
  f.op.f_singular = linalg::small_singular_values(core_f, dv);
  const double m2 = fro2(core_m);
  f.m_norm = std::sqrt(m2);
  f.f_norm = std::sqrt(fro2(core_f));
  // tr(M²) = tr(G·G)/D with G = W_Kᵀ W_Q [D, D] (tr(W_Q W_Kᵀ W_Q W_Kᵀ) cycled).
  std::vector<double> g(sz(d * d), 0.0);
  for (I64 r = 0; r < e; ++r)
    for (I64 i = 0; i < d; ++i) {
      const double x = wk[sz(r * d + i)];
      for (I64 j = 0; j < d; ++j) g[sz(i * d + j)] += x * wq[sz(r * d + j)];
    }
  double tr = 0;
  for (I64 i = 0; i < d; ++i)
    for (I64 j = 0; j < d; ++j) tr += g[sz(i * d + j)] * g[sz(j * d + i)];
  tr /= static_cast<double>(d);
  f.op.m_symmetric_norm = std::sqrt(std::max(0.0, 0.5 * (m2 + tr)));
  f.op.m_antisymmetric_norm = std::sqrt(std::max(0.0, 0.5 * (m2 - tr)));
  if (!keep_factors) return f;
  f.a.assign(sz(dv * e), 0.0);
  for (I64 i = 0; i < dv; ++i)
    for (I64 t = i; t < dv; ++t) {  // R_v is upper triangular
      const double x = rv[sz(i * dv + t)];
      for (I64 c = 0; c < e; ++c) f.a[sz(i * e + c)] += x * wo[sz(t * e + c)];
    }
  f.bq = mul_bt(wq, rk, e, d, d);
  f.bk = mul_bt(wk, rq, e, d, d);
  f.bv = mul_bt(wv, ro, e, dv, dv);
  for (double& x : f.bq) x *= inv;
  for (double& x : f.bk) x *= inv;
  return f;
}

// Head h's slices of a layer (GQA: KV head h / (H / G)) as double [E, D] / [D, E].
void head_slices(const LayerWeights& w, I64 h, std::vector<double>& wq, std::vector<double>& wk, std::vector<double>& wv,
                 std::vector<double>& wo) {
  const I64 e = w.d_model, d = w.head_dim, hd = w.heads * d, gd = w.kv_heads * d, kv = h / (w.heads / w.kv_heads);
  wq.resize(sz(e * d));
  wk.resize(sz(e * d));
  wv.resize(sz(e * d));
  wo.resize(sz(d * e));
  for (I64 r = 0; r < e; ++r)
    for (I64 c = 0; c < d; ++c) {
      wq[sz(r * d + c)] = w.w_q[sz(r * hd + h * d + c)];
      wk[sz(r * d + c)] = w.w_k[sz(r * gd + kv * d + c)];
      wv[sz(r * d + c)] = w.w_v[sz(r * gd + kv * d + c)];
    }
  for (I64 c = 0; c < d; ++c)
    for (I64 r = 0; r < e; ++r) wo[sz(c * e + r)] = w.w_o[sz((h * d + c) * e + r)];
}

void check_layer(const LayerWeights& w, std::size_t l) {
  const I64 e = w.d_model, h = w.heads, g = w.kv_heads, d = w.head_dim;
  if (e < 1 || h < 1 || g < 1 || h % g != 0 || d < 1 || d > e || static_cast<I64>(w.w_q.size()) != e * h * d ||
      static_cast<I64>(w.w_k.size()) != e * g * d || static_cast<I64>(w.w_v.size()) != e * g * d || static_cast<I64>(w.w_o.size()) != h * d * e)
    detail::fail("emf_factored", "layer ", l, " weights do not match E=", e, " H=", h, " G=", g, " D=", d);
}

}  // namespace

void fold_norm_into_reads(LayerWeights& w, Span<const float> gain, bool center) {
  const I64 e = w.d_model;
  if (static_cast<I64>(gain.size()) != e) detail::fail("fold_norm_into_reads", "gain has ", gain.size(), " values for E=", e);
  for (std::vector<float>* m : {&w.w_q, &w.w_k, &w.w_v}) {
    const I64 cols = static_cast<I64>(m->size()) / e;
    for (I64 r = 0; r < e; ++r)
      for (I64 c = 0; c < cols; ++c) (*m)[sz(r * cols + c)] *= gain[sz(r)];  // diag(gain)·W
    if (!center) continue;
    for (I64 c = 0; c < cols; ++c) {  // P·W = W − 1·(column means)
      double mean = 0;
      for (I64 r = 0; r < e; ++r) mean += (*m)[sz(r * cols + c)];
      mean /= static_cast<double>(e);
      for (I64 r = 0; r < e; ++r) (*m)[sz(r * cols + c)] = static_cast<float>((*m)[sz(r * cols + c)] - mean);
    }
  }
}

HeadOperators head_operators_factored(const HeadWeights& w) {
  const I64 e = w.d_model, d = w.head_dim, dv = w.v_dim;
  if (e < 1 || d < 1 || dv < 1 || d > e || dv > e || static_cast<I64>(w.wq.size()) != e * d || static_cast<I64>(w.wk.size()) != e * d ||
      static_cast<I64>(w.wv.size()) != e * dv || static_cast<I64>(w.wo.size()) != dv * e)
    detail::fail("head_operators_factored", "weights do not match E=", e, " D=", d, " Dv=", dv);
  const std::vector<double> wq(w.wq.begin(), w.wq.end()), wk(w.wk.begin(), w.wk.end()), wv(w.wv.begin(), w.wv.end()),
      wo(w.wo.begin(), w.wo.end());
  return factor(wq, wk, wv, wo, e, d, dv, false).op;
}

EmfAnalysis emf_factored(const std::vector<LayerWeights>& layers) {
  EmfAnalysis out;
  if (layers.empty()) return out;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    check_layer(layers[l], l);
    if (layers[l].d_model != layers[0].d_model || layers[l].heads != layers[0].heads || layers[l].head_dim != layers[0].head_dim)
      detail::fail("emf_factored", "layer ", l, " has another shape than layer 0");
  }
  const I64 nl = static_cast<I64>(layers.size()), nh = layers[0].heads, e = layers[0].d_model, d = layers[0].head_dim, hd = nh * d;
  const I64 m = nl * nh;
  out.layers = nl;
  out.heads = nh;
  out.ops.resize(sz(m));
  std::vector<double> m_norm(sz(m)), f_norm(sz(m));
  // A of every layer [L][H·D, E]; B (q, k, v) of every layer [L][E, H·D], built per head in parallel.
  std::vector<std::vector<double>> a(sz(nl), std::vector<double>(sz(hd * e))), bq(sz(nl), std::vector<double>(sz(e * hd))),
      bk = bq, bv = bq;
  core::global_pool().parallel_for(m, [&](I64 idx, int) {
    const I64 l = idx / nh, h = idx % nh;
    std::vector<double> wq, wk, wv, wo;
    head_slices(layers[sz(l)], h, wq, wk, wv, wo);
    Factored f = factor(wq, wk, wv, wo, e, d, d, nl > 1);
    m_norm[sz(idx)] = f.m_norm;
    f_norm[sz(idx)] = f.f_norm;
    out.ops[sz(idx)] = std::move(f.op);
    if (nl < 2) return;
    std::copy(f.a.begin(), f.a.end(), a[sz(l)].begin() + h * d * e);
    for (I64 r = 0; r < e; ++r)
      for (I64 c = 0; c < d; ++c) {
        bq[sz(l)][sz(r * hd + h * d + c)] = f.bq[sz(r * d + c)];
        bk[sz(l)][sz(r * hd + h * d + c)] = f.bk[sz(r * d + c)];
        bv[sz(l)][sz(r * hd + h * d + c)] = f.bv[sz(r * d + c)];
      }
  });
  out.composition.assign(sz(m * m), Composition{});
  std::vector<double> x(sz(hd * hd));
  auto ratio = [](double num, double den) { return den > 0 ? num / den : 0.0; };
  for (I64 l2 = 1; l2 < nl; ++l2)
    for (I64 l1 = 0; l1 < l2; ++l1)
      for (int kind = 0; kind < 3; ++kind) {
        const std::vector<double>& b = kind == 0 ? bq[sz(l2)] : kind == 1 ? bk[sz(l2)] : bv[sz(l2)];
        // x [H·D, H·D] = A_l1 · B_l2: block (h1, h2) is head h1's factor times head h2's (the cost: H·D·E·H·D per pair).
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(hd), static_cast<int>(hd), static_cast<int>(e), 1.0,
                    a[sz(l1)].data(), static_cast<int>(e), b.data(), static_cast<int>(hd), 0.0, x.data(), static_cast<int>(hd));
        for (I64 h1 = 0; h1 < nh; ++h1)
          for (I64 h2 = 0; h2 < nh; ++h2) {
            double s = 0;
            for (I64 i = 0; i < d; ++i)
              for (I64 j = 0; j < d; ++j) {
                const double v = x[sz((h1 * d + i) * hd + h2 * d + j)];
                s += v * v;
              }
            const I64 earlier = l1 * nh + h1, later = l2 * nh + h2;
            Composition& c = out.composition[sz(later * m + earlier)];
            if (kind == 0) c.q = ratio(std::sqrt(s), f_norm[sz(earlier)] * m_norm[sz(later)]);
            else if (kind == 1) c.k = ratio(std::sqrt(s), m_norm[sz(later)] * f_norm[sz(earlier)]);
            else c.v = ratio(std::sqrt(s), f_norm[sz(earlier)] * f_norm[sz(later)]);
          }
      }
  return out;
}

}  // namespace attend::observe
