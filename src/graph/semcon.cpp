// Semcons and heads (attend/semcon.h): typed-link graphs, the per-type aggregates they ask for, and
// the one-layer transformer that computes them with one head per type.
#include "attend/semcon.h"


#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "attend/attention.h"
#include "attend/tensor.h"
#include "core/check.h"
#include "kernels/gemm.h"
#include "graph/csv_rows.h"

namespace attend::graph {
namespace {

using Sz = std::size_t;

void check_graph(const char* fn, const TypedGraph& g) {
  if (g.n < 1 || g.types < 1) detail::fail(fn, "the graph needs n >= 1 particles and k >= 1 types, got n = ", g.n, ", k = ", g.types);
  for (const TypedLink& l : g.links)
    if (l.from < 0 || l.from >= g.n || l.to < 0 || l.to >= g.n || l.type < 0 || l.type >= g.types)
      detail::fail(fn, "link ", l.from, " -> ", l.to, " of type ", l.type, " is outside n = ", g.n, ", k = ", g.types);
}

// y[rows, cols] = x[rows, inner] · w[inner, cols] (row-major).
void matmul(const float* x, const float* w, float* y, int rows, int inner, int cols) {
  kernels::sgemm(kernels::Op::none, kernels::Op::none, rows, cols, inner, 1.0f, x, inner, w, cols, 0.0f, y, cols);
}

}  // namespace

TypedGraph random_typed_graph(int n, int types, double p, std::uint64_t seed) {
  if (n < 1 || types < 1 || !(p >= 0 && p <= 1))
    detail::fail("graph::random_typed_graph", "needs n >= 1, types >= 1 and 0 <= p <= 1, got n = ", n, ", types = ", types, ", p = ", p);
  TypedGraph g;
  g.n = n;
  g.types = types;
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution link(p);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int t = 0; t < types && i != j; ++t)
        if (link(rng)) g.links.push_back({i, j, t});
  return g;
}

TypedGraph parse_typed_links_csv(const std::string& text, const std::string& name) {
  TypedGraph g;
  std::unordered_map<std::string, int> particles, types;
  std::set<std::tuple<int, int, int>> seen;
  auto id = [](std::unordered_map<std::string, int>& m, std::vector<std::string>& names, std::string_view s) {
    const auto [it, fresh] = m.emplace(std::string(s), static_cast<int>(m.size()));
    if (fresh) names.emplace_back(s);
    return it->second;
  };
  internal::for_rows("graph::read_typed_links_csv", name, text, "neuron,from,to,type", 4,
                     [&](const std::vector<std::string_view>& f, std::size_t line) {
                       const int a = id(particles, g.names, f[1]), b = id(particles, g.names, f[2]);
                       const int t = id(types, g.type_names, f[3]);
                       if (a == b) detail::fail("graph::read_typed_links_csv", name, ":", line, ": a link from '", f[1], "' to itself");
                       if (seen.emplace(a, b, t).second) g.links.push_back({a, b, t});
                     });
  g.n = static_cast<int>(g.names.size());
  g.types = static_cast<int>(g.type_names.size());
  if (g.n == 0) detail::fail("graph::read_typed_links_csv", name, ": no links");
  return g;
}

TypedGraph read_typed_links_csv(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) detail::fail("graph::read_typed_links_csv", "cannot open '", path, "'");
  std::ostringstream os;
  os << f.rdbuf();
  return parse_typed_links_csv(os.str(), path);
}

std::vector<float> semcon_aggregates(const TypedGraph& g, const std::vector<float>& x, int d) {
  check_graph("graph::semcon_aggregates", g);
  if (d < 1 || x.size() != static_cast<Sz>(g.n) * static_cast<Sz>(d))
    detail::fail("graph::semcon_aggregates", "x holds ", x.size(), " values, want n·d = ", g.n, "·", d);
  const Sz k = static_cast<Sz>(g.types), D = static_cast<Sz>(d);
  std::vector<double> sum(static_cast<Sz>(g.n) * k * D, 0.0);
  std::vector<int> count(static_cast<Sz>(g.n) * k, 0);
  for (const TypedLink& l : g.links) {
    const Sz row = static_cast<Sz>(l.from) * k + static_cast<Sz>(l.type);
    ++count[row];
    for (Sz a = 0; a < D; ++a) sum[row * D + a] += x[static_cast<Sz>(l.to) * D + a];
  }
  std::vector<float> out(sum.size(), 0.0f);
  for (Sz row = 0; row < count.size(); ++row)
    for (Sz a = 0; a < D && count[row] > 0; ++a) out[row * D + a] = static_cast<float>(sum[row * D + a] / count[row]);
  return out;
}

std::vector<float> semcon_tokens(const TypedGraph& g, const std::vector<float>& x, int d) {
  check_graph("graph::semcon_tokens", g);
  if (d < 1 || x.size() != static_cast<Sz>(g.n) * static_cast<Sz>(d))
    detail::fail("graph::semcon_tokens", "x holds ", x.size(), " values, want n·d = ", g.n, "·", d);
  const Sz N = static_cast<Sz>(g.n) + 1, k = static_cast<Sz>(g.types), E = N * (k + 1) + static_cast<Sz>(d);
  std::vector<float> tok(N * E, 0.0f);
  for (Sz i = 0; i < N; ++i) tok[i * E + i] = 1.0f;  // one-hot id (the sink is id n)
  for (Sz i = 0; i + 1 < N; ++i) {
    for (Sz t = 0; t < k; ++t) tok[i * E + (t + 1) * N + (N - 1)] = 0.5f;  // the sink, at half strength
    for (Sz a = 0; a < static_cast<Sz>(d); ++a) tok[i * E + N * (k + 1) + a] = x[i * static_cast<Sz>(d) + a];
  }
  for (const TypedLink& l : g.links)
    tok[static_cast<Sz>(l.from) * E + (static_cast<Sz>(l.type) + 1) * N + static_cast<Sz>(l.to)] = 1.0f;
  return tok;
}

SemconLayer construct_semcon_layer(int n, int types, int d, float sharpness) {
  if (n < 1 || types < 1 || d < 1 || !(sharpness > 0))
    detail::fail("graph::construct_semcon_layer", "needs n, types, d >= 1 and sharpness > 0, got ", n, ", ", types, ", ", d, ", ", sharpness);
  const Sz N = static_cast<Sz>(n) + 1, k = static_cast<Sz>(types), D = static_cast<Sz>(d);
  SemconLayer L;
  L.heads = types;
  L.token_width = static_cast<int>(N * (k + 1) + D);
  L.dk = static_cast<int>(N);
  L.dv = d;
  L.out_width = types * d;
  L.scale = 1.0f;
  const Sz E = static_cast<Sz>(L.token_width), HK = k * N, HV = k * D;
  L.wq.assign(E * HK, 0.0f);
  L.wk.assign(E * HK, 0.0f);
  L.wv.assign(E * HV, 0.0f);
  L.wo.assign(HV * HV, 0.0f);
  for (Sz t = 0; t < k; ++t) {
    for (Sz c = 0; c < N; ++c) {
      L.wq[((t + 1) * N + c) * HK + t * N + c] = sharpness;  // q_t = sharpness · (type-t adjacency row)
      L.wk[c * HK + t * N + c] = 1.0f;                       // k_t = one-hot id
    }
    for (Sz a = 0; a < D; ++a) {
      L.wv[(N * (k + 1) + a) * HV + t * D + a] = 1.0f;  // v_t = state
      L.wo[(t * D + a) * HV + t * D + a] = 1.0f;        // head t -> output block t
    }
  }
  return L;
}

std::vector<float> run_semcon_layer(const SemconLayer& L, const std::vector<float>& tokens, int tokens_n) {
  const Sz h = static_cast<Sz>(L.heads), E = static_cast<Sz>(L.token_width), N = static_cast<Sz>(tokens_n);
  const Sz dk = static_cast<Sz>(L.dk), dv = static_cast<Sz>(L.dv);
  if (L.heads < 1 || tokens_n < 1 || tokens.size() != N * E || L.wq.size() != E * h * dk || L.wk.size() != E * h * dk ||
      L.wv.size() != E * h * dv || L.wo.size() != h * dv * static_cast<Sz>(L.out_width))
    detail::fail("graph::run_semcon_layer", "tokens [", tokens.size(), "] or weights do not match the layer's shapes (N = ", tokens_n,
                 ", E = ", L.token_width, ", heads = ", L.heads, ")");
  // q, k: [1, N, h, dk]; v, heads: [1, N, h, dv] (row-major products land in this layout directly)
  Tensor q(DType::f32, {1, tokens_n, L.heads, L.dk}), k(DType::f32, {1, tokens_n, L.heads, L.dk}),
      v(DType::f32, {1, tokens_n, L.heads, L.dv}), heads(DType::f32, {1, tokens_n, L.heads, L.dv});
  const int e = L.token_width;
  matmul(tokens.data(), L.wq.data(), q.data_as<float>(), tokens_n, e, L.heads * L.dk);
  matmul(tokens.data(), L.wk.data(), k.data_as<float>(), tokens_n, e, L.heads * L.dk);
  matmul(tokens.data(), L.wv.data(), v.data_as<float>(), tokens_n, e, L.heads * L.dv);
  AttentionOptions opts;
  opts.scale = L.scale;
  attention(q.view(), k.view(), v.view(), heads.view(), opts);
  std::vector<float> out(N * static_cast<Sz>(L.out_width));
  matmul(heads.data_as<float>(), L.wo.data(), out.data(), tokens_n, L.heads * L.dv, L.out_width);
  return out;
}

}  // namespace attend::graph
