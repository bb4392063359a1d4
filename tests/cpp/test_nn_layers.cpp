// Every layer's backward against central finite differences of L = Σ out · w (w random).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "attend/runtime.h"
#include "nn/layers.h"

namespace attend::nn {
namespace {

using Vec = std::vector<float>;

Vec rand_vec(std::size_t n, std::uint64_t seed, float lo = -1, float hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Vec v(n);
  for (float& x : v) x = u(rng);
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Checks analytic `grad` of L(x) = Σ f(x) · w against central differences, relative L2 <= tol.
void check_grad(Vec& x, const Vec& grad, const std::function<double()>& loss, double tol, const char* what) {
  const float h = 1e-2f;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float keep = x[i];
    x[i] = keep + h;
    const double lp = loss();
    x[i] = keep - h;
    const double lm = loss();
    x[i] = keep;
    const double fd = (lp - lm) / (2.0 * h);
    num += (fd - grad[i]) * (fd - grad[i]);
    den += fd * fd;
  }
  ASSERT_GT(den, 0) << what;
  EXPECT_LE(std::sqrt(num / den), tol) << what;
}

TEST(NnLayers, LinearBackward) {
  for (const auto& shape : {std::array<std::int64_t, 3>{1, 1, 1}, {7, 5, 3}, {3, 65, 9}}) {
    const std::int64_t R = shape[0], I = shape[1], O = shape[2];  // not a structured binding: the lambda below captures them (clang 14)
    Vec x = rand_vec(static_cast<std::size_t>(R * I), 1), w = rand_vec(static_cast<std::size_t>(I * O), 2),
        b = rand_vec(static_cast<std::size_t>(O), 3), wo = rand_vec(static_cast<std::size_t>(R * O), 4);
    Vec out(wo.size());
    auto loss = [&] { linear_forward(out.data(), x.data(), w.data(), b.data(), R, I, O); return dot(out, wo); };
    Vec dx(x.size(), 0), dw(w.size(), 0), db(b.size(), 0);
    linear_backward(dx.data(), dw.data(), db.data(), wo.data(), x.data(), w.data(), R, I, O);
    check_grad(x, dx, loss, 1e-3, "linear dx");
    check_grad(w, dw, loss, 1e-3, "linear dw");
    check_grad(b, db, loss, 1e-3, "linear db");
  }
}

TEST(NnLayers, NormsBackward) {
  const std::int64_t R = 5, E = 7;
  Vec x = rand_vec(R * E, 5, -2, 2), w = rand_vec(E, 6, 0.5f, 1.5f), b = rand_vec(E, 7), wo = rand_vec(R * E, 8);
  Vec out(R * E), mean(R), rstd(R);
  auto ln = [&] { layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), R, E, 1e-5f); return dot(out, wo); };
  ln();
  Vec dx(x.size(), 0), dw(E, 0), db(E, 0);
  layernorm_backward(dx.data(), dw.data(), db.data(), wo.data(), x.data(), w.data(), mean.data(), rstd.data(), R, E);
  check_grad(x, dx, ln, 2e-3, "layernorm dx");
  check_grad(w, dw, ln, 2e-3, "layernorm dw");
  check_grad(b, db, ln, 2e-3, "layernorm db");
  auto rms = [&] { rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), R, E, 1e-5f); return dot(out, wo); };
  rms();
  std::fill(dx.begin(), dx.end(), 0.0f);
  std::fill(dw.begin(), dw.end(), 0.0f);
  rmsnorm_backward(dx.data(), dw.data(), wo.data(), x.data(), w.data(), rstd.data(), R, E);
  check_grad(x, dx, rms, 2e-3, "rmsnorm dx");
  check_grad(w, dw, rms, 2e-3, "rmsnorm dw");
}

// The norms' weight gradients and the bias gradient are sums over rows that run in parallel
// blocks: against double sums on sizes with several blocks, and bitwise the same at 1 and 2 threads.
TEST(NnLayers, ParallelGradientSumsMatchDoubleAndIgnoreThreads) {
  const std::int64_t R = 1000, E = 64, O = 300;  // 4 blocks of norm rows, 2 of bias columns
  const Vec x = rand_vec(R * E, 21, -2, 2), w = rand_vec(E, 22, 0.5f, 1.5f), b = rand_vec(E, 23), d = rand_vec(R * E, 24);
  const Vec lin_x = rand_vec(R * 3, 25), lin_w = rand_vec(3 * O, 26), lin_d = rand_vec(R * O, 27);
  std::vector<Vec> runs;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Vec out(R * E), mean(R), rstd(R), dx(R * E, 0), dw(E, 0), db(E, 0), rdx(R * E, 0), rdw(E, 0);
    layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), R, E, 1e-5f);
    layernorm_backward(dx.data(), dw.data(), db.data(), d.data(), x.data(), w.data(), mean.data(), rstd.data(), R, E);
    for (std::int64_t e = 0; e < E; ++e) {
      double want_w = 0, want_b = 0;
      for (std::int64_t r = 0; r < R; ++r) {
        want_w += static_cast<double>(d[r * E + e]) * (x[r * E + e] - mean[r]) * rstd[r];
        want_b += d[r * E + e];
      }
      ASSERT_NEAR(dw[e], want_w, 1e-4 * (1 + std::abs(want_w))) << "layernorm dw " << e;
      ASSERT_NEAR(db[e], want_b, 1e-4 * (1 + std::abs(want_b))) << "layernorm db " << e;
    }
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), R, E, 1e-5f);
    rmsnorm_backward(rdx.data(), rdw.data(), d.data(), x.data(), w.data(), rstd.data(), R, E);
    for (std::int64_t e = 0; e < E; ++e) {
      double want = 0;
      for (std::int64_t r = 0; r < R; ++r) want += static_cast<double>(d[r * E + e]) * x[r * E + e] * rstd[r];
      ASSERT_NEAR(rdw[e], want, 1e-4 * (1 + std::abs(want))) << "rmsnorm dw " << e;
    }
    Vec ldx(R * 3, 0), ldw(3 * O, 0), ldb(O, 0);
    linear_backward(ldx.data(), ldw.data(), ldb.data(), lin_d.data(), lin_x.data(), lin_w.data(), R, 3, O);
    for (std::int64_t o = 0; o < O; ++o) {
      double want = 0;
      for (std::int64_t r = 0; r < R; ++r) want += lin_d[r * O + o];
      ASSERT_NEAR(ldb[o], want, 1e-4 * (1 + std::abs(want))) << "linear db " << o;
    }
    Vec all;
    for (const Vec* v : {&dx, &dw, &db, &rdx, &rdw, &ldb}) all.insert(all.end(), v->begin(), v->end());
    runs.push_back(all);
  }
  set_num_threads(0);
  ASSERT_EQ(runs[0].size(), runs[1].size());
  for (std::size_t i = 0; i < runs[0].size(); ++i) ASSERT_EQ(runs[0][i], runs[1][i]) << i;
}

TEST(NnLayers, ActivationsBackward) {
  const std::int64_t n = 65;
  Vec x = rand_vec(n, 9, -3, 3), u = rand_vec(n, 10, -2, 2), wo = rand_vec(n, 11), out(n);
  auto gl = [&] { gelu_forward(out.data(), x.data(), n); return dot(out, wo); };
  Vec dx(n, 0), du(n, 0);
  gelu_backward(dx.data(), x.data(), wo.data(), n);
  check_grad(x, dx, gl, 1e-3, "gelu");
  Vec wide = rand_vec(4001, 15, -30, 30), g(4001);  // GELU against its tanh formula in double
  wide[0] = 0, wide[1] = 1e-6f, wide[2] = -1e-6f, wide[3] = 60, wide[4] = -60;
  gelu_forward(g.data(), wide.data(), 4001);
  for (std::size_t i = 0; i < wide.size(); ++i) {
    const double v = wide[i], want = 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    ASSERT_NEAR(g[i], want, 1e-6 * std::max(1.0, std::abs(v))) << "x = " << v;
  }
  auto sw = [&] { swiglu_forward(out.data(), x.data(), u.data(), n); return dot(out, wo); };
  std::fill(dx.begin(), dx.end(), 0.0f);
  swiglu_backward(dx.data(), du.data(), wo.data(), x.data(), u.data(), n);
  check_grad(x, dx, sw, 1e-3, "swiglu dg");
  check_grad(u, du, sw, 1e-3, "swiglu du");
}

TEST(NnLayers, EmbeddingUnembedRopeBackward) {
  const std::int64_t R = 6, T = 3, E = 4, V = 5, H = 2, D = 4;
  std::vector<std::int32_t> tok = {0, 3, 3, 1, 4, 0};
  Vec wte = rand_vec(V * E, 12), wpe = rand_vec(T * E, 13), wo = rand_vec(R * E, 14), out(R * E);
  auto emb = [&] { embedding_forward(out.data(), tok.data(), wte.data(), wpe.data(), R, T, E); return dot(out, wo); };
  Vec dwte(wte.size(), 0), dwpe(wpe.size(), 0);
  embedding_backward(dwte.data(), dwpe.data(), wo.data(), tok.data(), R, T, E);
  check_grad(wte, dwte, emb, 1e-3, "embedding wte");
  check_grad(wpe, dwpe, emb, 1e-3, "embedding wpe");

  Vec x = rand_vec(R * E, 15), wl = rand_vec(R * V, 16), logits(R * V);
  auto un = [&] { unembed_forward(logits.data(), x.data(), wte.data(), R, E, V); return dot(logits, wl); };
  Vec dx(x.size(), 0), dw(wte.size(), 0);
  unembed_backward(dx.data(), dw.data(), wl.data(), x.data(), wte.data(), R, E, V);
  check_grad(x, dx, un, 1e-3, "unembed dx");
  check_grad(wte, dw, un, 1e-3, "unembed dw");

  Vec q = rand_vec(R * H * D, 17), wr = rand_vec(R * H * D, 18), tmp(q.size());
  auto rope = [&] { tmp = q; rope_apply(tmp.data(), R, T, H, D, 2, 10000.0f, false); return dot(tmp, wr); };
  Vec dq = wr;
  rope_apply(dq.data(), R, T, H, D, 2, 10000.0f, true);
  check_grad(q, dq, rope, 1e-3, "rope");
  Vec back = q;  // the inverse undoes the rotation
  rope_apply(back.data(), R, T, H, D, 5, 500.0f, false);
  rope_apply(back.data(), R, T, H, D, 5, 500.0f, true);
  for (std::size_t i = 0; i < q.size(); ++i) EXPECT_NEAR(back[i], q[i], 1e-5);
}

TEST(NnLayers, CrossEntropyBackward) {
  const std::int64_t R = 4, V = 7;
  Vec logits = rand_vec(R * V, 19, -3, 3);
  std::vector<std::int32_t> tgt = {2, -1, 6, 0};
  auto loss = [&] { return crossentropy_forward_backward(nullptr, logits.data(), tgt.data(), R, V, 1, nullptr); };
  Vec d(logits.size());
  std::int64_t counted = 0;
  crossentropy_forward_backward(d.data(), logits.data(), tgt.data(), R, V, 1.0f, &counted);
  EXPECT_EQ(counted, 3);
  for (std::int64_t v = 0; v < V; ++v) EXPECT_EQ(d[static_cast<std::size_t>(V + v)], 0.0f);  // ignored row
  check_grad(logits, d, loss, 1e-3, "cross-entropy");
}

}  // namespace
}  // namespace attend::nn
