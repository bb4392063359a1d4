// Predictions, the logit lens and direct logit attribution (attend/observe_interp.h).

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attend/observe_interp.h"
#include "core/check.h"
#include "kernels/gemm.h"

namespace attend::observe {
namespace {

using I64 = std::int64_t;
std::size_t sz(I64 v) { return static_cast<std::size_t>(v); }
// prefix + number, appended (GCC 12 warns about `"L" + std::to_string(l)` with -Wrestrict).
std::string label(const char* prefix, I64 v) {
  std::string s(prefix);
  s += std::to_string(v);
  return s;
}

void check_unembedding(const char* where, const Unembedding& u) {
  const I64 e = u.d_model, v = u.vocab;
  if (e < 1 || v < 1 || static_cast<I64>(u.gain.size()) != e || (!u.bias.empty() && static_cast<I64>(u.bias.size()) != e) ||
      static_cast<I64>(u.w_u.size()) != v * e || !(u.eps > 0))
    detail::fail(where, "unembedding does not match E=", e, " V=", v, " (gain ", u.gain.size(), ", bias ", u.bias.size(), ", w_u ",
                 u.w_u.size(), ", eps ", u.eps, ")");
}

// Final-norm statistics of one row x [E]: mean (0 for RMSNorm) and rstd, in double as the model.
void norm_stats(const Unembedding& u, const float* x, double& mean, double& rstd) {
  const I64 e = u.d_model;
  mean = 0;
  if (!u.rmsnorm) {
    for (I64 c = 0; c < e; ++c) mean += x[c];
    mean /= static_cast<double>(e);
  }
  double v = 0;
  for (I64 c = 0; c < e; ++c) v += (x[c] - mean) * (x[c] - mean);
  rstd = 1.0 / std::sqrt(v / static_cast<double>(e) + u.eps);
}

// out [N, E] = norm(x [N, E]) with each row's own statistics.
void apply_norm(const Unembedding& u, const float* x, I64 n, float* out) {
  const I64 e = u.d_model;
  for (I64 i = 0; i < n; ++i) {
    double mean, rstd;
    norm_stats(u, x + i * e, mean, rstd);
    for (I64 c = 0; c < e; ++c)
      out[i * e + c] = static_cast<float>((x[i * e + c] - mean) * rstd * u.gain[sz(c)] + (u.bias.empty() ? 0.0f : u.bias[sz(c)]));
  }
}

// logits [N, V] = xn [N, E] · w_uᵀ
void unembed(const Unembedding& u, const float* xn, I64 n, float* logits) {
  kernels::sgemm(kernels::Op::none, kernels::Op::transpose, n, u.vocab, u.d_model, 1.0f, xn, u.d_model, u.w_u.data(), u.d_model, 0.0f,
               logits, u.vocab);
}

double log_sum_exp(const float* row, I64 v) {
  const float m = *std::max_element(row, row + v);
  double s = 0;
  for (I64 t = 0; t < v; ++t) s += std::exp(static_cast<double>(row[t]) - m);
  return m + std::log(s);
}

const std::vector<float>& need(const std::vector<float>& x, I64 count, const char* where, const char* what, int layer) {
  if (static_cast<I64>(x.size()) != count)
    detail::fail(where, "layer ", layer, " has no ", what, " activations (", x.size(), " values, expected ", count,
                 "): capture with activations for every layer");
  return x;
}

}  // namespace

Predictions predictions(Span<const float> logits, I64 n, I64 vocab, Span<const int> next, int top_k) {
  if (n < 1 || vocab < 1 || static_cast<I64>(logits.size()) != n * vocab || static_cast<I64>(next.size()) != n || top_k < 1)
    detail::fail("predictions", "logits has ", logits.size(), " values for [", n, ", ", vocab, "], next ", next.size(), ", top_k ", top_k);
  Predictions p;
  p.n = n;
  p.vocab = vocab;
  p.top_k = std::min<I64>(top_k, vocab);
  const I64 k = p.top_k;
  p.top_tokens.resize(sz(n * k));
  p.top_probs.resize(sz(n * k));
  p.actual.assign(next.begin(), next.end());
  p.p_actual.assign(sz(n), -1.0f);
  p.rank_actual.assign(sz(n), -1);
  p.loss.assign(sz(n), 0.0f);
  std::vector<int> order(sz(vocab));
  I64 counted = 0, correct = 0;
  for (I64 i = 0; i < n; ++i) {
    const float* row = logits.data() + i * vocab;
    const double lse = log_sum_exp(row, vocab);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (I64 r = 0; r < k; ++r) {
      p.top_tokens[sz(i * k + r)] = order[sz(r)];
      p.top_probs[sz(i * k + r)] = static_cast<float>(std::exp(row[order[sz(r)]] - lse));
    }
    const int t = next[sz(i)];
    if (t < 0) continue;
    if (t >= vocab) detail::fail("predictions", "next token ", t, " at ", i, " is outside [0, ", vocab, ")");
    const double lp = row[t] - lse;
    p.p_actual[sz(i)] = static_cast<float>(std::exp(lp));
    p.loss[sz(i)] = static_cast<float>(-lp);
    int rank = 0;
    for (I64 c = 0; c < vocab; ++c) rank += row[c] > row[t];
    p.rank_actual[sz(i)] = rank;
    p.mean_loss += -lp;
    correct += order[0] == t;
    ++counted;
  }
  if (counted) {
    p.mean_loss /= static_cast<double>(counted);
    p.accuracy = static_cast<double>(correct) / static_cast<double>(counted);
  }
  return p;
}

LogitLens logit_lens(const Recording& rec, const Unembedding& u, Span<const int> target) {
  check_unembedding("logit_lens", u);
  const I64 n = rec.n, e = u.d_model, v = u.vocab, nl = static_cast<I64>(rec.layers.size());
  if (rec.d_model != e) detail::fail("logit_lens", "the recording's width ", rec.d_model, " is not the unembedding's ", e);
  if (static_cast<I64>(target.size()) != n) detail::fail("logit_lens", target.size(), " targets for ", n, " tokens");
  for (int t : target)
    if (t < 0 || t >= v) detail::fail("logit_lens", "target token ", t, " is outside [0, ", v, ")");
  LogitLens lens;
  lens.n = n;
  lens.target.assign(target.begin(), target.end());
  std::vector<const float*> stages;
  for (int l = 0; l < nl; ++l) {
    const LayerRecord& lr = rec.layers[sz(l)];
    const std::string name = label("L", l);
    if (l == 0) {
      stages.push_back(need(lr.resid_pre, n * e, "logit_lens", "resid_pre", l).data());
      lens.labels.push_back(name + " pre");
    }
    stages.push_back(need(lr.resid_mid, n * e, "logit_lens", "resid_mid", l).data());
    lens.labels.push_back(name + " mid");
    stages.push_back(need(lr.resid_post, n * e, "logit_lens", "resid_post", l).data());
    lens.labels.push_back(name + " post");
  }
  lens.stages = static_cast<I64>(stages.size());
  const I64 s_count = lens.stages;
  lens.prob.resize(sz(s_count * n));
  lens.rank.resize(sz(s_count * n));
  lens.top_token.resize(sz(s_count * n));
  lens.top_prob.resize(sz(s_count * n));
  std::vector<float> xn(sz(n * e)), logits(sz(n * v));
  for (I64 s = 0; s < s_count; ++s) {
    apply_norm(u, stages[sz(s)], n, xn.data());
    unembed(u, xn.data(), n, logits.data());  // the cost: one [N, E] x [E, V] product per stage
    for (I64 i = 0; i < n; ++i) {
      const float* row = logits.data() + i * v;
      const double lse = log_sum_exp(row, v);
      const int t = target[sz(i)];
      int rank = 0;
      I64 best = 0;
      for (I64 c = 0; c < v; ++c) {
        rank += row[c] > row[t];
        if (row[c] > row[best]) best = c;
      }
      const std::size_t at = sz(s * n + i);
      lens.prob[at] = static_cast<float>(std::exp(row[t] - lse));
      lens.rank[at] = rank;
      lens.top_token[at] = static_cast<int>(best);
      lens.top_prob[at] = static_cast<float>(std::exp(row[best] - lse));
    }
  }
  return lens;
}

Attribution direct_logit_attribution(const Recording& rec, const Unembedding& u, const std::vector<OutputWeights>& layers,
                                     Span<const int> target, Span<const int> baseline) {
  check_unembedding("direct_logit_attribution", u);
  const I64 n = rec.n, e = u.d_model, v = u.vocab, nl = static_cast<I64>(rec.layers.size()), h = rec.heads, d = rec.head_dim;
  if (rec.d_model != e) detail::fail("direct_logit_attribution", "the recording's width ", rec.d_model, " is not the unembedding's ", e);
  if (static_cast<I64>(layers.size()) != nl) detail::fail("direct_logit_attribution", layers.size(), " output weights for ", nl, " layers");
  if (static_cast<I64>(target.size()) != n || (!baseline.empty() && static_cast<I64>(baseline.size()) != n))
    detail::fail("direct_logit_attribution", target.size(), " targets and ", baseline.size(), " baselines for ", n, " tokens");
  for (std::size_t i = 0; i < target.size(); ++i)
    if (target[i] < 0 || target[i] >= v || (!baseline.empty() && baseline[i] >= v))
      detail::fail("direct_logit_attribution", "target ", target[i], " or baseline at ", i, " is outside [0, ", v, ")");
  for (I64 l = 0; l < nl; ++l)
    if (static_cast<I64>(layers[sz(l)].w_o.size()) != h * d * e || (!layers[sz(l)].b_o.empty() && static_cast<I64>(layers[sz(l)].b_o.size()) != e))
      detail::fail("direct_logit_attribution", "layer ", l, " W_O has ", layers[sz(l)].w_o.size(), " values for [", h * d, ", ", e, "]");

  Attribution a;
  a.n = n;
  a.target.assign(target.begin(), target.end());
  a.baseline.assign(sz(n), -1);
  if (!baseline.empty()) std::copy(baseline.begin(), baseline.end(), a.baseline.begin());
  auto add = [&](std::string label, int layer, int head) {
    a.labels.push_back(std::move(label));
    a.layer.push_back(layer);
    a.head.push_back(head);
  };
  add("embed", -1, -1);
  for (I64 l = 0; l < nl; ++l) {
    const std::string name = label("L", l);
    for (I64 k = 0; k < h; ++k) add(name + label("H", k), static_cast<int>(l), static_cast<int>(k));
    add(name + " attn bias", static_cast<int>(l), -1);
    add(name + " mlp", static_cast<int>(l), -1);
  }
  add("ln_f bias", -1, -1);
  a.components = static_cast<I64>(a.labels.size());
  a.value.assign(sz(a.components * n), 0.0f);
  a.logit.assign(sz(n), 0.0f);
  a.rstd.assign(sz(n), 0.0f);

  // Per position the direction the residual is read along: dir_i = rstd_i · (g − mean(g)),
  // g = gain ⊙ (w_u[target] − w_u[baseline]) (no centring for RMSNorm), frozen from the final residual.
  const std::vector<float>& final_resid = need(rec.layers.back().resid_post, n * e, "direct_logit_attribution", "resid_post", static_cast<int>(nl - 1));
  std::vector<float> dir(sz(n * e));
  std::vector<double> bias_term(sz(n), 0.0);
  for (I64 i = 0; i < n; ++i) {
    double mean, rstd;
    norm_stats(u, final_resid.data() + i * e, mean, rstd);
    a.rstd[sz(i)] = static_cast<float>(rstd);
    const float* wt = u.w_u.data() + a.target[sz(i)] * e;
    const float* wb = a.baseline[sz(i)] >= 0 ? u.w_u.data() + a.baseline[sz(i)] * e : nullptr;
    std::vector<double> g(sz(e));
    double gm = 0, logit = 0;
    for (I64 c = 0; c < e; ++c) {
      const double w = static_cast<double>(wt[c]) - (wb ? wb[c] : 0.0);
      g[sz(c)] = u.gain[sz(c)] * w;
      gm += g[sz(c)];
      if (!u.bias.empty()) bias_term[sz(i)] += u.bias[sz(c)] * w;
      logit += (final_resid[sz(i * e + c)] - mean) * rstd * g[sz(c)];
    }
    gm = u.rmsnorm ? 0.0 : gm / static_cast<double>(e);
    for (I64 c = 0; c < e; ++c) dir[sz(i * e + c)] = static_cast<float>(rstd * (g[sz(c)] - gm));
    a.logit[sz(i)] = static_cast<float>(logit + bias_term[sz(i)]);
  }
  auto dot_rows = [&](const float* x, I64 k) {  // value[k, i] = x[i] · dir_i (x: [N, E])
    for (I64 i = 0; i < n; ++i) {
      double s = 0;
      for (I64 c = 0; c < e; ++c) s += static_cast<double>(x[i * e + c]) * dir[sz(i * e + c)];
      a.value[sz(k * n + i)] = static_cast<float>(s);
    }
  };
  dot_rows(need(rec.layers[0].resid_pre, n * e, "direct_logit_attribution", "resid_pre", 0).data(), 0);
  std::vector<float> y(sz(n * h * d));
  I64 k = 1;
  for (I64 l = 0; l < nl; ++l) {
    const LayerRecord& lr = rec.layers[sz(l)];
    const std::vector<float>& z = need(lr.head_out, n * h * d, "direct_logit_attribution", "head_out", static_cast<int>(l));
    // y [N, H·D] = dir [N, E] · W_Oᵀ: each head's W_O applied to the read direction, then · z.
    kernels::sgemm(kernels::Op::none, kernels::Op::transpose, n, h * d, e, 1.0f, dir.data(), e, layers[sz(l)].w_o.data(), e, 0.0f,
                 y.data(), h * d);
    for (I64 hh = 0; hh < h; ++hh, ++k)
      for (I64 i = 0; i < n; ++i) {
        double s = 0;
        for (I64 c = 0; c < d; ++c) s += static_cast<double>(z[sz((i * h + hh) * d + c)]) * y[sz(i * h * d + hh * d + c)];
        a.value[sz(k * n + i)] = static_cast<float>(s);
      }
    if (!layers[sz(l)].b_o.empty()) {
      std::vector<float> b(sz(n * e));
      for (I64 i = 0; i < n; ++i) std::copy(layers[sz(l)].b_o.begin(), layers[sz(l)].b_o.end(), b.begin() + i * e);
      dot_rows(b.data(), k);
    }
    ++k;
    dot_rows(need(lr.mlp_out, n * e, "direct_logit_attribution", "mlp_out", static_cast<int>(l)).data(), k++);
  }
  for (I64 i = 0; i < n; ++i) a.value[sz(k * n + i)] = static_cast<float>(bias_term[sz(i)]);
  return a;
}

}  // namespace attend::observe
