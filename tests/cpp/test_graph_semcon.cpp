// Semcons and heads: the k-head construction is exact; fewer heads, trained, are not.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "attend/error.h"
#include "attend/semcon.h"
#include "attend/semcon_fit.h"

namespace attend {
namespace {

std::vector<float> random_states(int n, int d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(n) * static_cast<std::size_t>(d));
  for (float& e : x) e = g(rng);
  return x;
}

TEST(GraphSemcon, AggregatesByHand) {
  graph::TypedGraph g;
  g.n = 3;
  g.types = 2;
  g.links = {{0, 1, 0}, {0, 2, 0}, {0, 2, 1}, {1, 0, 1}};
  const std::vector<float> x{1, 2, 3, 4, 5, 6};  // [3, 2]
  const std::vector<float> a = graph::semcon_aggregates(g, x, 2);  // [3, 2, 2]
  const std::vector<float> want{4, 5, 5, 6,   // particle 0: mean(x1, x2), x2
                                0, 0, 1, 2,   // particle 1: none of type 0, x0
                                0, 0, 0, 0};  // particle 2: no links
  EXPECT_EQ(a, want);
}

TEST(GraphSemcon, KHeadConstructionIsExact) {
  int cases = 0;
  for (int n : {1, 5, 17, 64})
    for (int k : {1, 2, 4})
      for (double p : {0.0, 0.1, 0.5}) {
        const int d = 3 + (n % 4);
        const graph::TypedGraph g = graph::random_typed_graph(n, k, p, 100 + n * 7 + k);
        const std::vector<float> x = random_states(n, d, 7 + n);
        const std::vector<float> want = graph::semcon_aggregates(g, x, d);
        const graph::SemconLayer layer = graph::construct_semcon_layer(n, k, d);
        const std::vector<float> got = graph::run_semcon_layer(layer, graph::semcon_tokens(g, x, d), n + 1);
        double worst = 0;
        for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
        EXPECT_LE(worst, 1e-6) << "n " << n << " k " << k << " p " << p;
        ++cases;
      }
  EXPECT_EQ(cases, 36);
}

TEST(GraphSemcon, TypedLinksCsv) {
  const graph::TypedGraph g = graph::parse_typed_links_csv(
      "neuron,from,to,type\nalice,cat,mat,on\nbob,cat,dog,likes\nbob,cat,mat,on\nbob,dog,cat,likes\n", "links.csv");
  EXPECT_EQ(g.n, 3);
  EXPECT_EQ(g.types, 2);
  ASSERT_EQ(g.links.size(), 3u);  // the repeated (cat, mat, on) counts once
  EXPECT_EQ(g.names[static_cast<std::size_t>(g.links[1].to)], "dog");
  EXPECT_EQ(g.type_names[static_cast<std::size_t>(g.links[1].type)], "likes");
  try {
    graph::parse_typed_links_csv("a,b,c\n", "bad.csv");
    FAIL() << "three fields accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:1: expected 4 fields"), std::string::npos) << e.what();
  }
  EXPECT_THROW(graph::parse_typed_links_csv("a,x,x,t\n", "self.csv"), Error);
}

// The converse, measured: with one head fewer than types the trained layer keeps a large error
// on held-out graphs, while as many heads as types train to a far smaller one.
TEST(GraphSemcon, FewerHeadsThanTypesTrainWorse) {
  lab::SemconFitOptions o;
  o.n = 6;
  o.types = 2;
  o.d = 4;
  o.steps = 600;
  o.batch = 16;
  o.heads = 2;
  const lab::SemconFit full = lab::fit_semcon_layer(o);
  o.heads = 1;
  const lab::SemconFit fewer = lab::fit_semcon_layer(o);
  EXPECT_LE(full.constructed_error, 1e-10);
  EXPECT_LT(fewer.constructed_error, 0);  // not defined for heads < types
  EXPECT_LT(full.heldout_error, 0.5 * fewer.heldout_error) << full.heldout_error << " vs " << fewer.heldout_error;
  EXPECT_GT(fewer.heldout_error, 0.1);
  EXPECT_LT(full.loss.back(), full.loss.front());
}

}  // namespace
}  // namespace attend
