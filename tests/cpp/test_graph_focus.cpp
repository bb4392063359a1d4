// Focus ranking: go-cyber's rank/entropy/karma on a hand-computed graph, PageRank against an
// independent dense solve, the tri-kernel fixed point, CSV validation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <array>

#include "attend/attend.h"

namespace attend::graph {
namespace {

LinkGraph make(std::int64_t particles, std::vector<std::uint64_t> stake, std::vector<std::array<std::uint32_t, 3>> links) {
  LinkGraph g;
  g.particles = particles;
  g.neurons = static_cast<std::int64_t>(stake.size());
  g.stake = std::move(stake);
  for (auto [u, f, t] : links) g.neuron.push_back(u), g.from.push_back(f), g.to.push_back(t);
  return g;
}

TEST(GraphFocus, CyberHandComputed) {
  // neuron 0: stake 10, links 0→1, 0→2 (normalised 10/2 = 5); neuron 1: stake 7, 0→1 (7);
  // neuron 2: stake 3, 1→2 (3). Link stakes: 0→1 = 12, 0→2 = 5, 1→2 = 3; out totals 17, 3, 0.
  const LinkGraph g = make(3, {10, 7, 3}, {{0, 0, 1}, {0, 0, 2}, {1, 0, 1}, {2, 1, 2}, {2, 1, 2}});  // duplicate counts once
  FocusOptions o;
  o.tolerance = 1e-15;
  const FocusResult r = focus(g, o);
  const double d = 0.85, def = 0.15 / 3, corr = d * (def * 1.0 / 3) + def;  // one particle (0) without in-links
  const double r0 = def, r1 = d * (r0 * 12 / 17) + corr, r2 = d * (r0 * 5 / 17 + r1) + corr;
  ASSERT_EQ(r.rank.size(), 3u);
  EXPECT_NEAR(r.rank[0], r0, 1e-15);
  EXPECT_NEAR(r.rank[1], r1, 1e-15);
  EXPECT_NEAR(r.rank[2], r2, 1e-15);
  // entropy: swd = d·in + (1−d)·out = 2.55, 10.65, 6.8; sumswd = 2.6175, 3.1875, 11.22.
  auto f = [](double x) { return std::abs(-x * std::log2(x)); };
  const double e0 = f(2.55 / 3.1875) + f(2.55 / 11.22), e1 = f(10.65 / 2.6175) + f(10.65 / 11.22),
               e2 = f(6.8 / 2.6175) + f(6.8 / 3.1875);
  EXPECT_NEAR(r.entropy[0], e0, 1e-12);
  EXPECT_NEAR(r.entropy[1], e1, 1e-12);
  EXPECT_NEAR(r.entropy[2], e2, 1e-12);
  // karma: neuron 0 on (0→1) and (0→2): 2·5/17·r0·e0; neuron 1: 7/17·r0·e0; neuron 2: 3/3·r1·e1.
  EXPECT_NEAR(r.karma[0], 2 * 5.0 / 17 * r0 * e0, 1e-12);
  EXPECT_NEAR(r.karma[1], 7.0 / 17 * r0 * e0, 1e-12);
  EXPECT_NEAR(r.karma[2], r1 * e1, 1e-12);
}

// Independent PageRank: dense Google matrix G (column j = where j's mass goes), solve (I − G) r = 0
// with Σ r = 1 by Gaussian elimination.
std::vector<double> dense_pagerank(const LinkGraph& g, double d) {
  const int n = static_cast<int>(g.particles);
  std::vector<std::uint64_t> deg(g.stake.size(), 0);
  std::set<std::array<std::uint32_t, 3>> uniq;
  for (std::size_t i = 0; i < g.from.size(); ++i) uniq.insert({g.neuron[i], g.from[i], g.to[i]});
  for (auto& t : uniq) ++deg[t[0]];
  std::vector<double> w(static_cast<std::size_t>(n) * n, 0.0), out(static_cast<std::size_t>(n), 0.0);
  for (auto& t : uniq) {
    const double s = static_cast<double>(g.stake[t[0]] / deg[t[0]]);
    w[t[2] * static_cast<std::size_t>(n) + t[1]] += s;
    out[t[1]] += s;
  }
  std::vector<double> a(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double m = out[static_cast<std::size_t>(j)] > 0 ? w[static_cast<std::size_t>(i) * n + j] / out[static_cast<std::size_t>(j)] : 1.0 / n;
      a[static_cast<std::size_t>(i) * n + j] = (i == j) - (d * m + (1 - d) / n);
    }
  for (int j = 0; j < n; ++j) a[static_cast<std::size_t>(n - 1) * n + j] = 1;  // replace one equation by Σ r = 1
  std::vector<double> b(static_cast<std::size_t>(n), 0.0);
  b[static_cast<std::size_t>(n - 1)] = 1;
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r)
      if (std::abs(a[static_cast<std::size_t>(r) * n + c]) > std::abs(a[static_cast<std::size_t>(p) * n + c])) p = r;
    for (int j = 0; j < n; ++j) std::swap(a[static_cast<std::size_t>(c) * n + j], a[static_cast<std::size_t>(p) * n + j]);
    std::swap(b[static_cast<std::size_t>(c)], b[static_cast<std::size_t>(p)]);
    for (int r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[static_cast<std::size_t>(r) * n + c] / a[static_cast<std::size_t>(c) * n + c];
      for (int j = 0; j < n; ++j) a[static_cast<std::size_t>(r) * n + j] -= f * a[static_cast<std::size_t>(c) * n + j];
      b[static_cast<std::size_t>(r)] -= f * b[static_cast<std::size_t>(c)];
    }
  }
  for (int i = 0; i < n; ++i) b[static_cast<std::size_t>(i)] /= a[static_cast<std::size_t>(i) * n + i];
  return b;
}

TEST(GraphFocus, PageRankMatchesDenseSolve) {
  for (int n : {1, 2, 7, 65}) {
    const LinkGraph g = generate_links(n * 4, n, 5, 40 + static_cast<std::uint64_t>(n));
    FocusOptions o;
    o.mode = FocusMode::pagerank;
    o.tolerance = 1e-14;
    const FocusResult r = focus(g, o);
    const auto want = dense_pagerank(g, 0.85);
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(r.rank[static_cast<std::size_t>(i)], want[static_cast<std::size_t>(i)], 1e-10) << "n=" << n << " i=" << i;
      sum += r.rank[static_cast<std::size_t>(i)];
    }
    EXPECT_NEAR(sum, 1.0, 1e-10);
  }
}

// Finding 2: legal stakes near 2^64 overflowed the 64-bit per-particle sums (infinite ranks, NaN
// karma). Multiplying every stake by K = 2^60 (exact in binary) must change nothing: each weight,
// entropy term and karma share is a ratio of stakes. Here the out-total of particle 0 is 17·2^60 > 2^64.
TEST(GraphFocus, StakesNear2To64DoNotOverflow) {
  const std::vector<std::array<std::uint32_t, 3>> links = {{0, 0, 1}, {0, 0, 2}, {1, 0, 1}, {2, 1, 2}, {2, 1, 2}};
  const std::uint64_t K = std::uint64_t{1} << 60;
  FocusOptions o;
  o.tolerance = 1e-15;
  const FocusResult small = focus(make(3, {10, 7, 3}, links), o);
  const FocusResult huge = focus(make(3, {10 * K, 7 * K, 3 * K}, links), o);
  ASSERT_EQ(huge.rank.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(std::isfinite(huge.rank[i]) && std::isfinite(huge.entropy[i])) << i;
    EXPECT_DOUBLE_EQ(huge.rank[i], small.rank[i]) << i;
    EXPECT_NEAR(huge.entropy[i], small.entropy[i], 1e-12) << i;
    EXPECT_NEAR(huge.karma[i], small.karma[i], 1e-12) << i;
  }
  // The largest legal stakes: every neuron at 2^64 − 1 on one shared link, all sums finite.
  const std::uint64_t max = ~std::uint64_t{0};
  const FocusResult top = focus(make(2, {max, max, max}, {{0, 0, 1}, {1, 0, 1}, {2, 1, 0}}), o);
  for (double v : top.rank) EXPECT_TRUE(std::isfinite(v) && v > 0 && v < 1);
  for (double v : top.karma) EXPECT_TRUE(std::isfinite(v) && v >= 0);
}

TEST(GraphFocus, DeterministicAcrossThreads) {
  const LinkGraph g = generate_links(200000, 30000, 500, 9);
  for (FocusMode m : {FocusMode::cyber, FocusMode::pagerank}) {
    FocusOptions o;
    o.mode = m;
    o.tolerance = 1e-12;
    o.threads = 1;
    const FocusResult a = focus(g, o);
    o.threads = 2;
    const FocusResult b = focus(g, o);
    EXPECT_EQ(a.rank, b.rank);
    EXPECT_EQ(a.karma, b.karma);
    EXPECT_GT(a.iterations, 1);
  }
}

TEST(GraphFocus, TrikernelFixedPoint) {
  const LinkGraph g = generate_links(3000, 400, 20, 11);
  FocusOptions o;
  o.mode = FocusMode::trikernel;
  o.tolerance = 1e-13;
  const FocusResult r = focus(g, o);
  double sum = 0;
  for (double v : r.rank) {
    sum += v;
    EXPECT_GE(v, 0.0);
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_LT(r.iterations, o.max_iter);
  // Diffusion alone is PageRank.
  o.w_springs = o.w_heat = 0;
  const FocusResult diffusion = focus(g, o);
  o.mode = FocusMode::pagerank;
  const FocusResult pr = focus(g, o);
  for (std::size_t i = 0; i < pr.rank.size(); ++i) EXPECT_NEAR(diffusion.rank[i], pr.rank[i], 1e-11);
  // The springs and heat terms change the ranking: the combination is not PageRank.
  double diff = 0;
  for (std::size_t i = 0; i < pr.rank.size(); ++i) diff = std::max(diff, std::abs(r.rank[i] - pr.rank[i]));
  EXPECT_GT(diff, 1e-6);
  o.mode = FocusMode::trikernel;
  o.screening = 0;
  EXPECT_THROW(focus(g, o), Error);
}

// ---- the tri-kernel against a dense implementation of the specification ----------------------
// Dense link weights as go-cyber defines them: normalised stake = stake / neudeg (integer
// division), link stake = Σ over the distinct neurons of a (from, to) pair, W[f][t] = link stake /
// Σ link stakes out of f.
std::vector<double> dense_weights(const LinkGraph& g) {
  const std::size_t n = static_cast<std::size_t>(g.particles);
  std::set<std::array<std::uint32_t, 3>> triples;
  for (std::size_t i = 0; i < g.from.size(); ++i) triples.insert({g.from[i], g.to[i], g.neuron[i]});
  std::vector<std::uint64_t> neudeg(static_cast<std::size_t>(g.neurons), 0);
  for (const auto& t : triples) ++neudeg[t[2]];
  std::vector<double> stake(n * n, 0.0), w(n * n, 0.0);
  for (const auto& t : triples) stake[t[0] * n + t[1]] += static_cast<double>(g.stake[t[2]] / neudeg[t[2]]);
  for (std::size_t f = 0; f < n; ++f) {
    double out = 0;
    for (std::size_t t = 0; t < n; ++t) out += stake[f * n + t];
    for (std::size_t t = 0; t < n; ++t) w[f * n + t] = out > 0 ? stake[f * n + t] / out : 0.0;
  }
  return w;
}

// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: a = V diag(e) Vᵀ.
void jacobi(std::vector<double> a, std::size_t n, std::vector<double>& e, std::vector<double>& v) {
  v.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) v[i * n + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    if (off < 1e-30) break;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) {
        if (std::abs(a[p * n + q]) < 1e-300) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < n; ++k) {  // a ← Jᵀ a J
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq, a[k * n + q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < n; ++k) {
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk, a[q * n + k] = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < n; ++k) {
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq, v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  e.resize(n);
  for (std::size_t i = 0; i < n; ++i) e[i] = a[i * n + i];
}

// x = m^{-1} b by Gaussian elimination with partial pivoting.
std::vector<double> dense_solve(std::vector<double> m, std::vector<double> b, std::size_t n) {
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(m[r * n + c]) > std::abs(m[piv * n + c])) piv = r;
    for (std::size_t j = 0; j < n; ++j) std::swap(m[c * n + j], m[piv * n + j]);
    std::swap(b[c], b[piv]);
    for (std::size_t r = c + 1; r < n; ++r) {
      const double f = m[r * n + c] / m[c * n + c];
      for (std::size_t j = c; j < n; ++j) m[r * n + j] -= f * m[c * n + j];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (std::size_t r = n; r-- > 0;) {
    double s = b[r];
    for (std::size_t j = r + 1; j < n; ++j) s -= m[r * n + j] * x[j];
    x[r] = s / m[r * n + r];
  }
  return x;
}

// φ ← norm(max(0, w_d D(φ) + w_s S(φ) + w_h H(φ))) with dense operators:
//   D(φ) = d (Wᵀφ + (mass on sources without out-links)/N) + (1 − d)/N,
//   S(φ) = μ (L + μI)^{-1} φ,  L = diag(rows of A) − A,  A = W + Wᵀ,
//   H(φ) = exp(−t L) φ (eigen-decomposition), or exp(−t(I − Pᵀ)) φ for the random-walk variant
//   (Taylor series in a dense matrix, 60 terms: ‖t(I − Pᵀ)‖ <= 2t).
std::vector<double> dense_trikernel(const LinkGraph& g, const FocusOptions& o) {
  const std::size_t n = static_cast<std::size_t>(g.particles);
  const std::vector<double> w = dense_weights(g);
  std::vector<double> pt(n * n, 0.0);  // Pᵀ with dangling sources spread uniformly
  for (std::size_t f = 0; f < n; ++f) {
    double out = 0;
    for (std::size_t t = 0; t < n; ++t) out += w[f * n + t];
    for (std::size_t t = 0; t < n; ++t) pt[t * n + f] = out > 0 ? w[f * n + t] : 1.0 / static_cast<double>(n);
  }
  std::vector<double> lap(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const double aij = w[i * n + j] + w[j * n + i];
      lap[i * n + j] -= aij;
      lap[i * n + i] += aij;
    }
  std::vector<double> heat(n * n, 0.0);  // the dense heat operator
  if (o.heat == HeatKernel::laplacian) {
    std::vector<double> e, v;
    jacobi(lap, n, e, v);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t k = 0; k < n; ++k) heat[i * n + j] += v[i * n + k] * std::exp(-o.heat_time * e[k]) * v[j * n + k];
  } else {
    std::vector<double> g_(n * n), term(n * n, 0.0), next(n * n);
    for (std::size_t i = 0; i < n * n; ++i) g_[i] = -o.heat_time * ((i / n == i % n ? 1.0 : 0.0) - pt[i]);
    for (std::size_t i = 0; i < n; ++i) term[i * n + i] = 1;
    heat = term;
    for (int k = 1; k <= 60; ++k) {
      std::fill(next.begin(), next.end(), 0.0);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t m = 0; m < n; ++m)
          for (std::size_t j = 0; j < n; ++j) next[i * n + j] += term[i * n + m] * g_[m * n + j] / k;
      term.swap(next);
      for (std::size_t i = 0; i < n * n; ++i) heat[i] += term[i];
    }
  }
  std::vector<double> screened = lap;
  for (std::size_t i = 0; i < n; ++i) screened[i * n + i] += o.screening;
  std::vector<double> phi(n, 1.0 / static_cast<double>(n));
  for (int it = 0; it < 5000; ++it) {
    std::vector<double> next(n, 0.0);
    const std::vector<double> spring = dense_solve(screened, [&] {
      std::vector<double> b(phi);
      for (double& x : b) x *= o.screening;
      return b;
    }(), n);
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double d = 0, h = 0;
      for (std::size_t j = 0; j < n; ++j) d += pt[i * n + j] * phi[j], h += heat[i * n + j] * phi[j];
      d = o.damping * d + (1 - o.damping) / static_cast<double>(n);
      next[i] = std::max(0.0, o.w_diffusion * d + o.w_springs * spring[i] + o.w_heat * h);
      total += next[i];
    }
    double change = 0;
    for (std::size_t i = 0; i < n; ++i) next[i] /= total, change = std::max(change, std::abs(next[i] - phi[i]));
    phi.swap(next);
    if (change < 1e-15) break;
  }
  return phi;
}

TEST(GraphFocus, TrikernelFollowsTheSpecification) {
  const LinkGraph g = generate_links(500, 60, 12, 21);
  for (HeatKernel heat : {HeatKernel::laplacian, HeatKernel::random_walk}) {
    FocusOptions o;
    o.mode = FocusMode::trikernel;
    o.tolerance = 1e-14;
    o.cg_tol = 1e-14;
    o.cg_iter = 200;
    o.heat = heat;
    o.heat_time = 1.5;
    o.w_diffusion = 0.2, o.w_springs = 0.2, o.w_heat = 0.6;  // the heat term weighs most
    const FocusResult r = focus(g, o);
    const std::vector<double> want = dense_trikernel(g, o);
    ASSERT_EQ(r.rank.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(r.rank[i], want[i], 1e-10) << "particle " << i << (heat == HeatKernel::laplacian ? " (laplacian)" : " (random walk)");
  }
  // The two heat operators rank differently.
  FocusOptions o;
  o.mode = FocusMode::trikernel;
  o.tolerance = 1e-13;
  const FocusResult lap = focus(g, o);
  o.heat = HeatKernel::random_walk;
  const FocusResult rw = focus(g, o);
  double diff = 0;
  for (std::size_t i = 0; i < lap.rank.size(); ++i) diff = std::max(diff, std::abs(lap.rank[i] - rw.rank[i]) / rw.rank[i]);
  EXPECT_GT(diff, 0.01);
}

std::string write_tmp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(GraphFocus, CsvParsesAndValidates) {
  const auto stakes = write_tmp("graph_stakes.csv", "neuron,stake\nalice,10\nbob,7\ncarol,3\n");
  const auto links = write_tmp("graph_links.csv", "neuron,from,to\nalice,Qa,Qb\nalice,Qa,Qc\r\nbob,Qa,Qb\n\ncarol,Qb,Qc\n");
  const LinkGraph g = read_links_csv(links, stakes);
  EXPECT_EQ(g.particles, 3);
  EXPECT_EQ(g.neurons, 3);
  FocusOptions o;
  o.tolerance = 1e-15;
  const FocusResult r = focus(g, o);
  EXPECT_NEAR(r.rank[2], 0.85 * (0.05 * 5 / 17 + (0.85 * 0.05 * 12 / 17 + 0.85 * 0.05 / 3 + 0.05)) + 0.85 * 0.05 / 3 + 0.05, 1e-15);
  auto message = [&](const std::string& l, const std::string& s) {
    try {
      read_links_csv(write_tmp("graph_bad_links.csv", l), write_tmp("graph_bad_stakes.csv", s));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string ok_stakes = "alice,1\n";
  EXPECT_NE(message("alice,a,b\nalice,a\n", ok_stakes).find("graph_bad_links.csv:2"), std::string::npos);
  EXPECT_NE(message("alice,a,b\nalice,a,b,c\n", ok_stakes).find(":2: expected 3 fields"), std::string::npos);
  EXPECT_NE(message("alice,a,b\nalice,,b\n", ok_stakes).find(":2: field 2"), std::string::npos);
  EXPECT_NE(message("alice,a,b\n\nmallory,a,b\n", ok_stakes).find(":3: neuron 'mallory'"), std::string::npos);
  EXPECT_NE(message("alice,a,b\n", "alice,-1\n").find("graph_bad_stakes.csv:1: stake '-1'"), std::string::npos);
  EXPECT_NE(message("alice,a,b\n", "alice,1\nalice,2\n").find(":2: neuron 'alice' listed twice"), std::string::npos);
  EXPECT_NE(message("alice,a,b\n", "alice,99999999999999999999\n").find("not an unsigned"), std::string::npos);
  EXPECT_THROW(read_links_csv("/nonexistent/links.csv", stakes), Error);
}

}  // namespace
}  // namespace attend::graph
