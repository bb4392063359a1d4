// Training a one-layer, h-head attention transformer on the semcon task (attend/semcon_fit.h).
//
// Shape letters: B graphs per batch, N = n + 1 tokens (particles + sink), E token width, h heads,
// dk = N (query/key size), dv = d (value size), O = k·d output width; R = B·N rows.
#include "attend/semcon_fit.h"

#include <chrono>
#include <cmath>
#include <random>

#include "attend/attention.h"
#include "attend/backward.h"
#include "attend/semcon.h"
#include "attend/tensor.h"
#include "core/check.h"
#include "nn/layers.h"
#include "nn/optimizer.h"

namespace attend::lab {
namespace {

using Sz = std::size_t;

// One batch of the task: tokens X [R, E] and targets T [R, O] (the sink rows' targets are 0 and
// they carry no loss).
struct Batch {
  std::vector<float> x, t;
  std::vector<float> row_weight;  // [R]: 1 for particle rows, 0 for the sink
};

Batch make_batch(const SemconFitOptions& o, int graphs, std::mt19937_64& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  Batch b;
  const Sz N = static_cast<Sz>(o.n) + 1, O = static_cast<Sz>(o.types) * static_cast<Sz>(o.d);
  for (int gi = 0; gi < graphs; ++gi) {
    const graph::TypedGraph tg = graph::random_typed_graph(o.n, o.types, o.link_p, rng());
    std::vector<float> x(static_cast<Sz>(o.n) * static_cast<Sz>(o.d));
    for (float& e : x) e = g(rng);
    const std::vector<float> tok = graph::semcon_tokens(tg, x, o.d), agg = graph::semcon_aggregates(tg, x, o.d);
    b.x.insert(b.x.end(), tok.begin(), tok.end());
    b.t.insert(b.t.end(), agg.begin(), agg.end());
    b.t.insert(b.t.end(), O, 0.0f);  // the sink row
    for (Sz i = 0; i < N; ++i) b.row_weight.push_back(i + 1 < N ? 1.0f : 0.0f);
  }
  return b;
}

struct Grads {
  std::vector<float> wq, wk, wv, wo;
};

// Forward (and, when g is given, backward) of the layer on a batch; returns Σ‖y − t‖² and Σ‖t‖²
// over particle rows. Gradients are of Σ‖y − t‖² / Σ‖t‖².
std::pair<double, double> run(const graph::SemconLayer& L, const Batch& b, int graphs, Grads* g) {
  const std::int64_t N = L.dk, E = L.token_width, H = L.heads, dk = L.dk, dv = L.dv, O = L.out_width;
  const std::int64_t R = graphs * N;
  Tensor q(DType::f32, {graphs, N, H, dk}), k(DType::f32, {graphs, N, H, dk}), v(DType::f32, {graphs, N, H, dv}),
      a(DType::f32, {graphs, N, H, dv}), lse(DType::f32, {graphs, H, N});
  nn::linear_forward(q.data_as<float>(), b.x.data(), L.wq.data(), nullptr, R, E, H * dk);
  nn::linear_forward(k.data_as<float>(), b.x.data(), L.wk.data(), nullptr, R, E, H * dk);
  nn::linear_forward(v.data_as<float>(), b.x.data(), L.wv.data(), nullptr, R, E, H * dv);
  AttentionOptions opts;
  opts.scale = L.scale;
  attention(q.view(), k.view(), v.view(), a.view(), opts, lse.view());
  std::vector<float> y(static_cast<Sz>(R * O));
  nn::linear_forward(y.data(), a.data_as<float>(), L.wo.data(), nullptr, R, H * dv, O);
  double err = 0, norm = 0;
  std::vector<float> dy(y.size(), 0.0f);
  for (std::int64_t r = 0; r < R; ++r)
    for (std::int64_t c = 0; c < O; ++c) {
      const Sz i = static_cast<Sz>(r * O + c);
      const double e = (static_cast<double>(y[i]) - b.t[i]) * b.row_weight[static_cast<Sz>(r)];
      err += e * e;
      norm += static_cast<double>(b.t[i]) * b.t[i];
      dy[i] = static_cast<float>(e);
    }
  if (!g) return {err, norm};
  const float s = static_cast<float>(2.0 / std::max(norm, 1e-30));  // d(err/norm)/dy = 2(y − t)/norm
  for (float& e : dy) e *= s;
  Tensor da(DType::f32, {graphs, N, H, dv}), dq(DType::f32, {graphs, N, H, dk}), dkk(DType::f32, {graphs, N, H, dk}),
      dvv(DType::f32, {graphs, N, H, dv});
  std::fill_n(da.data_as<float>(), da.numel(), 0.0f);
  nn::linear_backward(da.data_as<float>(), g->wo.data(), nullptr, dy.data(), a.data_as<float>(), L.wo.data(), R, H * dv, O);
  attention_backward(q.view(), k.view(), v.view(), a.view(), da.view(), lse.view(), {dq.view(), dkk.view(), dvv.view(), {}}, opts);
  nn::linear_backward(nullptr, g->wq.data(), nullptr, dq.data_as<float>(), b.x.data(), L.wq.data(), R, E, H * dk);
  nn::linear_backward(nullptr, g->wk.data(), nullptr, dkk.data_as<float>(), b.x.data(), L.wk.data(), R, E, H * dk);
  nn::linear_backward(nullptr, g->wv.data(), nullptr, dvv.data_as<float>(), b.x.data(), L.wv.data(), R, E, H * dv);
  return {err, norm};
}

}  // namespace

SemconFit fit_semcon_layer(const SemconFitOptions& o) {
  if (o.n < 1 || o.types < 1 || o.d < 1 || o.heads < 1 || o.steps < 0 || o.batch < 1 || o.eval_graphs < 1 ||
      !(o.lr > 0 && std::isfinite(o.lr)) || !(o.link_p >= 0 && o.link_p <= 1))
    detail::fail("lab::fit_semcon_layer", "needs n, types, d, heads, batch, eval_graphs >= 1, steps >= 0, a finite lr > 0 and "
                 "0 <= link_p <= 1");
  const auto t0 = std::chrono::steady_clock::now();
  const Sz N = static_cast<Sz>(o.n) + 1, H = static_cast<Sz>(o.heads), D = static_cast<Sz>(o.d);
  graph::SemconLayer L;
  L.heads = o.heads;
  L.token_width = static_cast<int>(N * (static_cast<Sz>(o.types) + 1) + D);
  L.dk = static_cast<int>(N);
  L.dv = o.d;
  L.out_width = o.types * o.d;
  L.scale = 1.0f;
  const Sz E = static_cast<Sz>(L.token_width), O = static_cast<Sz>(L.out_width);
  std::mt19937_64 rng(o.seed);
  auto init = [&](std::vector<float>& w, Sz rows, Sz cols) {
    std::normal_distribution<float> g(0.0f, 1.0f / std::sqrt(static_cast<float>(rows)));
    w.resize(rows * cols);
    for (float& e : w) e = g(rng);
  };
  init(L.wq, E, H * N);
  init(L.wk, E, H * N);
  init(L.wv, E, H * D);
  init(L.wo, H * D, O);
  std::vector<std::vector<float>*> params{&L.wq, &L.wk, &L.wv, &L.wo};
  std::vector<std::vector<float>> m, v;
  for (auto* p : params) m.emplace_back(p->size(), 0.0f), v.emplace_back(p->size(), 0.0f);

  SemconFit fit;
  for (int step = 1; step <= o.steps; ++step) {
    const Batch b = make_batch(o, o.batch, rng);
    Grads g{std::vector<float>(L.wq.size(), 0.0f), std::vector<float>(L.wk.size(), 0.0f), std::vector<float>(L.wv.size(), 0.0f),
            std::vector<float>(L.wo.size(), 0.0f)};
    const auto [err, norm] = run(L, b, o.batch, &g);
    fit.loss.push_back(err / std::max(norm, 1e-30));
    // cosine decay of the learning rate to 10 % over the run
    const float lr = o.lr * (0.1f + 0.9f * 0.5f * (1.0f + std::cos(3.14159265f * static_cast<float>(step) / o.steps)));
    const nn::AdamWParams a{lr, 0.9f, 0.999f, 1e-8f, 0.0f, step};
    std::vector<std::vector<float>*> grads{&g.wq, &g.wk, &g.wv, &g.wo};
    for (Sz i = 0; i < params.size(); ++i)
      nn::adamw_step(params[i]->data(), grads[i]->data(), m[i].data(), v[i].data(), static_cast<std::int64_t>(params[i]->size()), a, false);
  }
  std::mt19937_64 eval_rng(o.seed ^ 0x5e3c0f17u);  // held-out graphs: a stream the training never drew from
  const Batch held = make_batch(o, o.eval_graphs, eval_rng);
  const auto [err, norm] = run(L, held, o.eval_graphs, nullptr);
  fit.heldout_error = err / std::max(norm, 1e-30);
  if (o.heads >= o.types) {
    const graph::SemconLayer c = graph::construct_semcon_layer(o.n, o.types, o.d);
    double ce = 0, cn = 0;
    for (int gi = 0; gi < o.eval_graphs; ++gi) {
      const std::vector<float> tok(held.x.begin() + static_cast<std::ptrdiff_t>(gi * N * E), held.x.begin() + static_cast<std::ptrdiff_t>((gi + 1) * N * E));
      const std::vector<float> y = graph::run_semcon_layer(c, tok, static_cast<int>(N));
      for (Sz i = 0; i + 1 < N; ++i)
        for (Sz col = 0; col < O; ++col) {
          const double t = held.t[(gi * N + i) * O + col], e = y[i * O + col] - t;
          ce += e * e;
          cn += t * t;
        }
    }
    fit.constructed_error = ce / std::max(cn, 1e-30);
  }
  fit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return fit;
}

}  // namespace attend::lab
