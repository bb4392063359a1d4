// Focus over a weighted link graph: go-cyber's x/rank (rank, entropy, karma), standard PageRank,
// and the tri-kernel focus (diffusion + screened-Laplacian springs + heat kernel).
//
// The cyber mode follows go-cyber x/rank/keeper/calculate_cpu.go (github.com/cybercongress/go-cyber):
//   normalised stake of a neuron   = stake / neudeg (integer division; neudeg = its number of links)
//   stake of link from→to          = Σ normalised stakes of the neurons that made it
//   weight from→to                 = link stake / Σ link stakes out of `from`
//   defaultRank = (1−d)/N, start rank = defaultRank everywhere; "dangling" = particles with NO
//   INCOMING links; correction = d·defaultRank·dangling/N + defaultRank;
//   step: rank[c] = d·Σ_{j ∈ in(c), sorted} prev[j]·w_jc + correction for particles with in-links;
//         particles without in-links keep their previous value (defaultRank);
//   stop when max_i |rank − prev| <= tolerance (L∞).
//   entropyCalc and karmaCalc as in that file (karma[user] += normstake/outstake(from)·rank·entropy).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "attend/graph.h"
#include "core/check.h"
#include "core/thread_pool.h"

namespace attend::graph {
namespace {

// Sums of stakes: up to 2^32 neurons of stake < 2^64 each sum to < 2^96, so 128 bits cannot
// overflow (64 bits did: two stakes near 2^63 on one link wrapped to a small total, a weight > 1
// and infinite ranks). Converted to double only for ratios.
__extension__ typedef unsigned __int128 StakeSum;
double as_double(StakeSum x) { return static_cast<double>(x); }

struct Structure {
  std::int64_t n = 0;
  std::vector<std::int64_t> out_off, in_off;     // [n + 1]
  std::vector<std::uint32_t> out_to, in_from;    // [pairs]
  std::vector<double> in_w;                      // [pairs] weight from→to, normalised per source
  std::vector<StakeSum> out_total, in_total;     // [n] Σ link stakes out of / into a particle
  std::vector<std::uint64_t> norm_stake;         // [neurons]
  // (from, to, neuron) unique triples, sorted; karma walks them.
  std::vector<std::uint64_t> tri_pair;           // from<<32 | to
  std::vector<std::uint32_t> tri_neuron;
  std::size_t bytes() const {
    return out_off.size() * 8 + in_off.size() * 8 + out_to.size() * 4 + in_from.size() * 4 + in_w.size() * 8 +
           out_total.size() * 16 + in_total.size() * 16 + norm_stake.size() * 8 +
           tri_pair.size() * 8 + tri_neuron.size() * 4;
  }
};

// Run fn(begin, end, chunk) over [0, n) in fixed chunks (fixed, so reductions are deterministic).
constexpr std::int64_t kChunk = 1 << 14;
template <typename Fn>
void for_chunks(std::int64_t n, int threads, Fn&& fn) {
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
  core::global_pool().parallel_for(chunks, [&](std::int64_t c, int) {
    fn(c * kChunk, std::min(n, (c + 1) * kChunk), c);
  }, threads);
}
std::int64_t num_chunks(std::int64_t n) { return (n + kChunk - 1) / kChunk; }

Structure build(const LinkGraph& g, int threads) {
  const char* where = "graph::focus";
  const std::size_t m = g.from.size();
  if (g.to.size() != m || g.neuron.size() != m)
    detail::fail(where, "links need equal neuron/from/to lengths, got ", g.neuron.size(), "/", m, "/", g.to.size());
  if (static_cast<std::int64_t>(g.stake.size()) != g.neurons) detail::fail(where, "stakes: expected ", g.neurons, " got ", g.stake.size());
  if (g.particles < 0 || g.particles > 0xffffffffLL) detail::fail(where, "bad particle count ", g.particles);
  Structure s;
  s.n = g.particles;
  // Sort link indices by (from, to, neuron): key pairs sorted in two halves in parallel, merged.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> keys(m);
  for (std::size_t i = 0; i < m; ++i) {
    if (g.from[i] >= g.particles || g.to[i] >= g.particles || g.neuron[i] >= g.neurons)
      detail::fail(where, "link ", i, " refers to particle/neuron out of range");
    keys[i] = {(static_cast<std::uint64_t>(g.from[i]) << 32) | g.to[i], g.neuron[i]};
  }
  const std::size_t half = m / 2;
  core::global_pool().parallel_for(2, [&](std::int64_t t, int) {  // each half sorts on its own core
    std::sort(keys.begin() + (t ? static_cast<std::ptrdiff_t>(half) : 0), t ? keys.end() : keys.begin() + static_cast<std::ptrdiff_t>(half));
  }, threads);
  std::inplace_merge(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(half), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());  // a neuron's link counts once
  std::vector<std::uint64_t> neudeg(static_cast<std::size_t>(g.neurons), 0);
  for (const auto& k : keys) ++neudeg[k.second];
  s.norm_stake.assign(static_cast<std::size_t>(g.neurons), 0);
  for (std::size_t u = 0; u < neudeg.size(); ++u) s.norm_stake[u] = neudeg[u] ? g.stake[u] / neudeg[u] : 0;
  s.tri_pair.resize(keys.size());
  s.tri_neuron.resize(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) s.tri_pair[i] = keys[i].first, s.tri_neuron[i] = keys[i].second;
  keys.clear();
  keys.shrink_to_fit();
  // Out-CSR over unique (from, to) pairs with summed stakes (needed only while building).
  const std::size_t n = static_cast<std::size_t>(s.n);
  std::vector<StakeSum> out_stake;  // [pairs] link stake (cyber units)
  s.out_off.assign(n + 1, 0);
  for (std::size_t i = 0; i < s.tri_pair.size(); ++i) {
    if (i > 0 && s.tri_pair[i] == s.tri_pair[i - 1]) {
      out_stake.back() += s.norm_stake[s.tri_neuron[i]];
      continue;
    }
    s.out_to.push_back(static_cast<std::uint32_t>(s.tri_pair[i] & 0xffffffffu));
    out_stake.push_back(s.norm_stake[s.tri_neuron[i]]);
    ++s.out_off[(s.tri_pair[i] >> 32) + 1];
  }
  for (std::size_t i = 0; i < n; ++i) s.out_off[i + 1] += s.out_off[i];
  s.out_total.assign(n, 0);
  s.in_total.assign(n, 0);
  for (std::size_t f = 0; f < n; ++f)
    for (auto e = s.out_off[f]; e < s.out_off[f + 1]; ++e) s.out_total[f] += out_stake[static_cast<std::size_t>(e)];
  // In-CSR by counting sort over `to`; sources stay sorted within each target (stable pass).
  s.in_off.assign(n + 1, 0);
  for (std::uint32_t t : s.out_to) ++s.in_off[t + 1];
  for (std::size_t i = 0; i < n; ++i) s.in_off[i + 1] += s.in_off[i];
  s.in_from.resize(s.out_to.size());
  s.in_w.resize(s.out_to.size());
  std::vector<std::int64_t> fill(s.in_off.begin(), s.in_off.end() - 1);
  for (std::size_t f = 0; f < n; ++f)
    for (auto e = s.out_off[f]; e < s.out_off[f + 1]; ++e) {
      const std::uint32_t t = s.out_to[static_cast<std::size_t>(e)];
      const auto at = static_cast<std::size_t>(fill[t]++);
      const StakeSum ls = out_stake[static_cast<std::size_t>(e)];
      s.in_from[at] = static_cast<std::uint32_t>(f);
      s.in_w[at] = (ls == 0 || s.out_total[f] == 0) ? 0.0 : as_double(ls) / as_double(s.out_total[f]);
      s.in_total[t] += ls;
    }
  return s;
}

// y_i = Σ_{j ∈ in(i)} w_ji x_j (sorted j, no FMA contraction in the sum order go-cyber uses).
void pull(const Structure& s, const std::vector<double>& x, std::vector<double>& y, int threads) {
  for_chunks(s.n, threads, [&](std::int64_t b, std::int64_t e, std::int64_t) {
    for (std::int64_t i = b; i < e; ++i) {
      double acc = 0;
      for (auto k = s.in_off[static_cast<std::size_t>(i)]; k < s.in_off[static_cast<std::size_t>(i) + 1]; ++k)
        acc = x[s.in_from[static_cast<std::size_t>(k)]] * s.in_w[static_cast<std::size_t>(k)] + acc;
      y[static_cast<std::size_t>(i)] = acc;
    }
  });
}

double linf(const std::vector<double>& a, const std::vector<double>& b, int threads) {
  std::vector<double> part(static_cast<std::size_t>(num_chunks(static_cast<std::int64_t>(a.size()))), 0.0);
  for_chunks(static_cast<std::int64_t>(a.size()), threads, [&](std::int64_t lo, std::int64_t hi, std::int64_t c) {
    double m = 0;
    for (auto i = lo; i < hi; ++i) m = std::max(m, std::abs(a[static_cast<std::size_t>(i)] - b[static_cast<std::size_t>(i)]));
    part[static_cast<std::size_t>(c)] = m;
  });
  double m = 0;
  for (double p : part) m = std::max(m, p);
  return m;
}

double dot(const std::vector<double>& a, const std::vector<double>& b, int threads) {
  std::vector<double> part(static_cast<std::size_t>(num_chunks(static_cast<std::int64_t>(a.size()))), 0.0);
  for_chunks(static_cast<std::int64_t>(a.size()), threads, [&](std::int64_t lo, std::int64_t hi, std::int64_t c) {
    double acc = 0;
    for (auto i = lo; i < hi; ++i) acc += a[static_cast<std::size_t>(i)] * b[static_cast<std::size_t>(i)];
    part[static_cast<std::size_t>(c)] = acc;
  });
  return std::accumulate(part.begin(), part.end(), 0.0);
}

void cyber_rank(const Structure& s, const FocusOptions& o, FocusResult& r, int threads) {
  const std::size_t n = static_cast<std::size_t>(s.n);
  const double d = o.damping, default_rank = (1.0 - d) / static_cast<double>(n);
  std::int64_t dangling = 0;
  for (std::size_t i = 0; i < n; ++i) dangling += s.in_off[i + 1] == s.in_off[i];
  const double correction = d * (default_rank * (static_cast<double>(dangling) / static_cast<double>(n))) + default_rank;
  std::vector<double> prev(n, default_rank), cur(n);
  double change = o.tolerance + 1;
  while (change > o.tolerance && r.iterations < o.max_iter) {
    pull(s, prev, cur, threads);
    for_chunks(s.n, threads, [&](std::int64_t b, std::int64_t e, std::int64_t) {
      for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i)
        cur[i] = s.in_off[i + 1] == s.in_off[i] ? prev[i] : cur[i] * d + correction;
    });
    change = linf(prev, cur, threads);
    prev.swap(cur);
    ++r.iterations;
  }
  r.rank = std::move(prev);
  // entropyCalc
  r.entropy.assign(n, 0.0);
  std::vector<double> swd(n), sumswd(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) swd[i] = d * as_double(s.in_total[i]) + (1 - d) * as_double(s.out_total[i]);
  for (std::size_t i = 0; i < n; ++i) {
    for (auto k = s.in_off[i]; k < s.in_off[i + 1]; ++k) sumswd[i] += d * swd[s.in_from[static_cast<std::size_t>(k)]];
    for (auto k = s.out_off[i]; k < s.out_off[i + 1]; ++k) sumswd[i] += (1 - d) * swd[s.out_to[static_cast<std::size_t>(k)]];
  }
  auto term = [&](std::size_t i, std::size_t to) {
    if (sumswd[to] == 0) return 0.0;
    const double x = swd[i] / sumswd[to];
    return std::abs(-x * std::log2(x));
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (swd[i] == 0) continue;
    for (auto k = s.in_off[i]; k < s.in_off[i + 1]; ++k) r.entropy[i] += term(i, s.in_from[static_cast<std::size_t>(k)]);
    for (auto k = s.out_off[i]; k < s.out_off[i + 1]; ++k) r.entropy[i] += term(i, s.out_to[static_cast<std::size_t>(k)]);
  }
  // karmaCalc
  r.karma.assign(s.norm_stake.size(), 0.0);
  for (std::size_t t = 0; t < s.tri_pair.size(); ++t) {
    const std::size_t from = static_cast<std::size_t>(s.tri_pair[t] >> 32);
    const std::uint64_t ns = s.norm_stake[s.tri_neuron[t]];
    if (s.out_total[from] == 0 || ns == 0) continue;
    const double w = static_cast<double>(ns) / as_double(s.out_total[from]);
    r.karma[s.tri_neuron[t]] += w * (r.rank[from] * r.entropy[from]);
  }
}

// Pᵀx with the mass of sources that have no outgoing weight spread uniformly (keeps Σ y = Σ x).
void transition(const Structure& s, const std::vector<double>& x, std::vector<double>& y, int threads) {
  pull(s, x, y, threads);
  double lost = 0;
  for (std::size_t i = 0; i < x.size(); ++i) lost += s.out_total[i] == 0 ? x[i] : 0.0;
  const double add = lost / static_cast<double>(x.size());
  for (double& v : y) v += add;
}

void pagerank(const Structure& s, const FocusOptions& o, FocusResult& r, int threads) {
  const std::size_t n = static_cast<std::size_t>(s.n);
  std::vector<double> prev(n, 1.0 / static_cast<double>(n)), cur(n);
  double change = o.tolerance + 1;
  while (change > o.tolerance && r.iterations < o.max_iter) {
    transition(s, prev, cur, threads);  // r' = d·(Pᵀr + dangling/N) + (1−d)/N
    for (double& v : cur) v = o.damping * v + (1 - o.damping) / static_cast<double>(n);
    change = linf(prev, cur, threads);
    prev.swap(cur);
    ++r.iterations;
  }
  r.rank = std::move(prev);
}

// Symmetrised Laplacian of the normalised weights: (L x)_i = deg_i x_i − Σ_j (w_ij + w_ji) x_j.
void laplacian(const Structure& s, const std::vector<double>& deg, const std::vector<double>& x, std::vector<double>& y, int threads) {
  for_chunks(s.n, threads, [&](std::int64_t b, std::int64_t e, std::int64_t) {
    for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i) {
      double acc = deg[i] * x[i];
      for (auto k = s.in_off[i]; k < s.in_off[i + 1]; ++k) acc -= s.in_w[static_cast<std::size_t>(k)] * x[s.in_from[static_cast<std::size_t>(k)]];
      y[i] = acc;
    }
  });
  // The out-side half of the symmetric matrix: y_f −= w_ft x_t, walked over the in-CSR by target,
  // so done serially (scatter) to stay race-free.
  for (std::size_t t = 0; t < static_cast<std::size_t>(s.n); ++t)
    for (auto k = s.in_off[t]; k < s.in_off[t + 1]; ++k) y[s.in_from[static_cast<std::size_t>(k)]] -= s.in_w[static_cast<std::size_t>(k)] * x[t];
}

// H(φ) = exp(−t G) φ as a Poisson series (uniformisation; every term is non-negative, so no
// cancellation): G = c(I − M) with M non-negative and stochastic, so
//   exp(−t G) φ = Σ_k e^{−tc} (tc)^k / k! · M^k φ.
//   graph Laplacian (the specification's): G = L = D − A, c = max degree, M = I − L / c
//     (symmetric, rows summing to 1: A's rows sum to the degrees);
//   random walk: G = I − Pᵀ, c = 1, M = Pᵀ.
// The series stops when the Poisson tail left is below 1e-15 (heat_terms = 0) or after heat_terms terms.
void heat_kernel(const Structure& s, const std::vector<double>& deg, const FocusOptions& o, const std::vector<double>& phi,
                 std::vector<double>& heat, std::vector<double>& term, std::vector<double>& tmp, int threads) {
  const std::size_t n = phi.size();
  const bool lap = o.heat == HeatKernel::laplacian;
  const double c = lap ? *std::max_element(deg.begin(), deg.end()) : 1.0;
  heat = phi;
  if (c <= 0 || o.heat_time == 0) return;  // no edges (L = 0) or t = 0: the identity
  const double lambda = o.heat_time * c;
  const int cap = o.heat_terms > 0 ? o.heat_terms : static_cast<int>(lambda + 12 * std::sqrt(lambda) + 40);
  term = phi;
  double log_w = -lambda, mass = std::exp(log_w);  // Poisson weight of k = 0, in logs (e^{−λ} underflows for λ > 745)
  for (std::size_t i = 0; i < n; ++i) heat[i] = mass * term[i];
  for (int k = 1; k <= cap; ++k) {
    if (lap) {  // term ← M term = term − L term / c
      laplacian(s, deg, term, tmp, threads);
      for (std::size_t i = 0; i < n; ++i) tmp[i] = term[i] - tmp[i] / c;
    } else {
      transition(s, term, tmp, threads);
    }
    term.swap(tmp);
    log_w += std::log(lambda) - std::log(static_cast<double>(k));
    const double w = std::exp(log_w);
    for (std::size_t i = 0; i < n; ++i) heat[i] += w * term[i];
    mass += w;
    if (o.heat_terms == 0 && k > lambda && 1 - mass < 1e-15) break;
  }
}

void trikernel(const Structure& s, const FocusOptions& o, FocusResult& r, int threads) {
  const std::size_t n = static_cast<std::size_t>(s.n);
  std::vector<double> deg(n, 0.0);
  for (std::size_t t = 0; t < n; ++t)
    for (auto k = s.in_off[t]; k < s.in_off[t + 1]; ++k) {
      deg[t] += s.in_w[static_cast<std::size_t>(k)];
      deg[s.in_from[static_cast<std::size_t>(k)]] += s.in_w[static_cast<std::size_t>(k)];
    }
  const double mu = o.screening;
  std::vector<double> phi(n, 1.0 / static_cast<double>(n)), diff(n), spring(n), heat(n), term(n), tmp(n), res(n), p(n), ap(n), next(n);
  double change = o.tolerance + 1;
  while (change > o.tolerance && r.iterations < o.max_iter) {
    transition(s, phi, diff, threads);  // D(φ) = d Pᵀφ + (1−d)/N
    for (double& v : diff) v = o.damping * v + (1 - o.damping) / static_cast<double>(n);
    // S(φ): (L + μI) s = μ φ by conjugate gradients, from s = φ.
    spring = phi;
    laplacian(s, deg, spring, ap, threads);
    for (std::size_t i = 0; i < n; ++i) res[i] = mu * phi[i] - (ap[i] + mu * spring[i]), p[i] = res[i];
    double rr = dot(res, res, threads);
    const double stop = o.cg_tol * o.cg_tol * std::max(dot(phi, phi, threads) * mu * mu, 1e-300);
    for (int it = 0; it < o.cg_iter && rr > stop; ++it) {
      laplacian(s, deg, p, ap, threads);
      for (std::size_t i = 0; i < n; ++i) ap[i] += mu * p[i];
      const double alpha = rr / dot(p, ap, threads);
      for (std::size_t i = 0; i < n; ++i) spring[i] += alpha * p[i], res[i] -= alpha * ap[i];
      const double rr_new = dot(res, res, threads);
      for (std::size_t i = 0; i < n; ++i) p[i] = res[i] + (rr_new / rr) * p[i];
      rr = rr_new;
    }
    heat_kernel(s, deg, o, phi, heat, term, tmp, threads);
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      next[i] = std::max(0.0, o.w_diffusion * diff[i] + o.w_springs * spring[i] + o.w_heat * heat[i]);
      total += next[i];
    }
    for (double& v : next) v /= total;
    change = linf(phi, next, threads);
    phi.swap(next);
    ++r.iterations;
  }
  r.rank = std::move(phi);
}

}  // namespace

FocusResult focus(const LinkGraph& g, const FocusOptions& o) {
  if (!(o.damping > 0 && o.damping < 1)) detail::fail("graph::focus", "damping must be in (0, 1), got ", o.damping);
  if (!(o.tolerance > 0)) detail::fail("graph::focus", "tolerance must be > 0, got ", o.tolerance);
  if (o.mode == FocusMode::trikernel && !(o.screening > 0 && o.heat_time >= 0 && o.heat_terms >= 0 && o.w_diffusion >= 0 &&
                                          o.w_springs >= 0 && o.w_heat >= 0 && o.w_diffusion + o.w_springs + o.w_heat > 0))
    detail::fail("graph::focus", "trikernel needs screening > 0, heat_time >= 0 and non-negative weights with a positive sum");
  const int threads = core::resolve_threads(o.threads);
  FocusResult r;
  if (g.particles == 0 || (o.mode == FocusMode::cyber && g.stake.empty())) return r;  // as go-cyber: empty state
  const Structure s = build(g, threads);
  r.unique_pairs = static_cast<std::int64_t>(s.out_to.size());
  r.memory_bytes = s.bytes();
  if (o.mode == FocusMode::cyber) cyber_rank(s, o, r, threads);
  else if (o.mode == FocusMode::pagerank) pagerank(s, o, r, threads);
  else trikernel(s, o, r, threads);
  return r;
}

}  // namespace attend::graph
