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
