// Saparov et al.'s balanced ("crafted") search graphs, written from their generator.cpp
// (generate_graph_with_lookahead, generate_example, generate_training_set, lookahead_depth) and
// train.py (generate_eval_data). Our own code; the comments name the step of theirs each part is.
#include <algorithm>
#include <numeric>
#include <queue>

#include "attend/search_task.h"
#include "core/check.h"

namespace attend::graph {
namespace {

constexpr int kMaxParents = 4;     // their max_num_parents
constexpr double kAlpha = 0.5;     // their ALPHA: preferential-attachment smoothing
constexpr std::size_t kMaxPaths = 64;

unsigned randrange(std::mt19937_64& rng, unsigned end) {  // uniform in [0, end), end >= 1
  ATTEND_ASSERT(end >= 1);
  return static_cast<unsigned>(std::uniform_int_distribution<std::uint64_t>(0, end - 1)(rng));
}
unsigned randrange(std::mt19937_64& rng, unsigned begin, unsigned end) { return begin + randrange(rng, end - begin); }

// Index i with probability p[i] / Σp (their sample_categorical); p has a positive sum.
unsigned sample_categorical(const std::vector<double>& p, std::mt19937_64& rng) {
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  double u = std::uniform_real_distribution<double>(0, total)(rng);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    if (u < p[i]) return static_cast<unsigned>(i);
    u -= p[i];
  }
  for (std::size_t i = p.size(); i-- > 0;)  // rounding: the last positive entry
    if (p[i] > 0) return static_cast<unsigned>(i);
  ATTEND_ASSERT(false);
  return 0;
}

// Vertices 0 .. n−1 in generation order; children in insertion order.
struct Dag {
  std::vector<std::vector<int>> children, parents;
  void edge(int u, int v) {
    children[static_cast<std::size_t>(u)].push_back(v);
    parents[static_cast<std::size_t>(v)].push_back(u);
  }
};

// Every vertex reachable from v through children (their get_descendants), v excluded unless on a cycle.
std::vector<char> descendants(const Dag& g, int v) {
  std::vector<char> seen(g.children.size(), 0);
  std::vector<int> stack{v};
  while (!stack.empty()) {
    const int u = stack.back();
    stack.pop_back();
    for (int c : g.children[static_cast<std::size_t>(u)])
      if (!seen[static_cast<std::size_t>(c)]) seen[static_cast<std::size_t>(c)] = 1, stack.push_back(c);
  }
  return seen;
}

// Their generate_graph_with_lookahead. Start = vertex 0, goal = vertex max(1, L).
Dag crafted_graph(int num_vertices, int lookahead, int num_paths, int max_prefix, std::mt19937_64& rng) {
  const int L = lookahead;
  const int n = std::max({2, num_vertices, 1 + num_paths * L});
  Dag g;
  g.children.resize(static_cast<std::size_t>(n));
  g.parents.resize(static_cast<std::size_t>(n));
  g.edge(0, 1);  // the goal's chain 0 → 1 → ... → L
  for (int i = 1; i < L; ++i) g.edge(i, i + 1);
  int index = 2;
  if (L > 0) {
    index = 1 + L;
    for (int j = 0; j < num_paths - 1; ++j) {  // the other branches: length L, or L + 1 while spare vertices last
      g.edge(0, index);
      ++index;
      const int spare = n - index - (num_paths - j - 1) * L + 2;  // = 1 + the spare vertices left (>= 1)
      ATTEND_ASSERT(spare >= 1);
      const int length = L + static_cast<int>(randrange(rng, static_cast<unsigned>(std::min(2, spare))));
      for (int i = 1; i < length; ++i, ++index) g.edge(index - 1, index);
    }
  }
  // A chain of prefix vertices leading into the start.
  const int prefix = static_cast<int>(randrange(rng, static_cast<unsigned>(std::min(max_prefix + 1, n - index + 1))));
  for (int i = 0, prev = 0; i < prefix; ++i, ++index) g.edge(index, prev), prev = index;
  // The remaining vertices: random children by in-degree, random parents (not descendants) by
  // out-degree. As theirs, the degree tables count the structure above plus the edges each new
  // vertex adds to earlier ones (not the new vertex's own degrees).
  std::vector<double> in_deg(static_cast<std::size_t>(n)), out_deg(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
    in_deg[i] = static_cast<double>(g.parents[i].size()), out_deg[i] = static_cast<double>(g.children[i].size());
  for (; index < n; ++index) {
    unsigned n_children = randrange(rng, 0, kMaxParents);
    unsigned n_parents = randrange(rng, n_children == 0 ? 1 : 0, kMaxParents);
    n_children = std::min(n_children, static_cast<unsigned>(index));
    n_parents = std::min(n_parents, static_cast<unsigned>(index));
    std::vector<double> p(static_cast<std::size_t>(index));
    for (std::size_t j = 0; j < p.size(); ++j) p[j] = kAlpha + in_deg[j];
    for (unsigned c = 0; c < n_children; ++c) {
      const unsigned u = sample_categorical(p, rng);
      p[u] = 0;
      g.edge(index, static_cast<int>(u));
      in_deg[u] += 1;
    }
    for (std::size_t j = 0; j < p.size(); ++j) p[j] = kAlpha + out_deg[j];
    const std::vector<char> desc = descendants(g, index);
    unsigned n_desc = 0;
    for (std::size_t j = 0; j < p.size(); ++j)
      if (desc[j]) p[j] = 0, ++n_desc;
    if (std::accumulate(p.begin(), p.end(), 0.0) > 0) {
      n_parents = std::min(n_parents, static_cast<unsigned>(index) - n_desc);
      for (unsigned c = 0; c < n_parents; ++c) {
        const unsigned u = sample_categorical(p, rng);
        p[u] = 0;
        g.edge(static_cast<int>(u), index);
        out_deg[u] += 1;
      }
    }
  }
  return g;
}

// All shortest start → goal paths (their generate_example with get_shortest_paths); empty when the
// goal is unreachable or there are more than 64 (their failure cases).
std::vector<std::vector<int>> shortest_paths(const Dag& g, int start, int goal) {
  const std::size_t n = g.children.size();
  auto bfs = [&](int from, bool reverse) {
    std::vector<int> d(n, -1);
    std::queue<int> q;
    d[static_cast<std::size_t>(from)] = 0;
    q.push(from);
    while (!q.empty()) {
      const int u = q.front();
      q.pop();
      for (int w : (reverse ? g.parents : g.children)[static_cast<std::size_t>(u)])
        if (d[static_cast<std::size_t>(w)] < 0) d[static_cast<std::size_t>(w)] = d[static_cast<std::size_t>(u)] + 1, q.push(w);
    }
    return d;
  };
  const std::vector<int> to_goal = bfs(goal, true);
  std::vector<std::vector<int>> out;
  if (to_goal[static_cast<std::size_t>(start)] < 0) return out;
  std::vector<std::vector<int>> stack{{start}};
  while (!stack.empty()) {
    std::vector<int> path = std::move(stack.back());
    stack.pop_back();
    const int u = path.back();
    if (u == goal) {
      out.push_back(std::move(path));
      if (out.size() > kMaxPaths) return {};
      continue;
    }
    const auto& ch = g.children[static_cast<std::size_t>(u)];
    for (auto it = ch.rbegin(); it != ch.rend(); ++it)
      if (to_goal[static_cast<std::size_t>(*it)] == to_goal[static_cast<std::size_t>(u)] - 1) {
        std::vector<int> next = path;
        next.push_back(*it);
        stack.push_back(std::move(next));
      }
  }
  return out;
}

bool reaches(const SearchProblem& p, int from, int to) { return bfs_distance(p, from, to) >= 0; }

}  // namespace

int lookahead_depth(const SearchProblem& p, int vertex, int next) {
  std::vector<std::vector<int>> children(static_cast<std::size_t>(p.n));
  for (auto [u, v] : p.edges) children[static_cast<std::size_t>(u)].push_back(v);
  std::vector<std::pair<int, int>> frontier;  // (vertex, the child of `vertex` it descends from)
  std::vector<char> visited(static_cast<std::size_t>(p.n), 0);
  for (int c : children[static_cast<std::size_t>(vertex)]) frontier.emplace_back(c, c), visited[static_cast<std::size_t>(c)] = 1;
  int depth = 0;
  while (!frontier.empty()) {
    if (std::all_of(frontier.begin(), frontier.end(), [&](const auto& f) { return f.second == next; })) return depth;
    ++depth;
    std::vector<std::pair<int, int>> level;
    for (auto [v, branch] : frontier) {
      if (v == p.goal) return depth;
      for (int c : children[static_cast<std::size_t>(v)]) {
        if (!visited[static_cast<std::size_t>(c)]) {
          level.emplace_back(c, branch);
          visited[static_cast<std::size_t>(c)] = 1;
        } else if (branch == next) {  // a vertex shared with the right branch counts as the right branch
          for (auto& e : level)
            if (e.first == c) e.second = branch;
        }
      }
    }
    frontier.swap(level);
  }
  return depth;
}

BalancedStream::BalancedStream(std::int64_t max_input, int max_lookahead, int max_edges, std::uint64_t seed,
                               std::function<bool(const SearchExample&)> reserved)
    : enc_(search_encoding(max_input)), max_lookahead_(max_lookahead), max_edges_(max_edges), rng_(seed), reserved_(std::move(reserved)) {
  if (max_edges_ < 1 || max_edges_ > enc_.vertices)
    detail::fail("graph::BalancedStream", "max_edges ", max_edges, " must be in [1, ", enc_.vertices, "] for max input ", max_input);
  if (max_lookahead_ < 0 || (max_lookahead_ > 0 && 2 * max_lookahead_ + 1 > max_edges_))
    detail::fail("graph::BalancedStream", "lookahead ", max_lookahead, " needs two branches of that length: 2L + 1 <= max_edges = ",
                 max_edges_, " (max input ", max_input, " has ", enc_.vertices, " vertex labels)");
  lookahead_ = static_cast<int>(randrange(rng_, static_cast<unsigned>(max_lookahead_ + 1)));
}

// Their generate_training_set, one graph at a time: draw graphs for the pending lookahead until one
// is valid, then walk its (shortest path, prefix length j) pairs in order; each pair whose lookahead
// equals the pending one is an example, after which the pending lookahead is drawn again and the
// walk goes on in the same graph.
void BalancedStream::new_graph() {
  const int nv = enc_.vertices, L = lookahead_;
  for (;;) {
    const int num_paths = L == 0 ? static_cast<int>(randrange(rng_, 1, 3))
                                 : static_cast<int>(randrange(rng_, 2, static_cast<unsigned>((max_edges_ - 1) / L + 1)));
    const int num_vertices = std::min({L * num_paths + 1 + static_cast<int>(randrange(rng_, 0, 6)), nv, max_edges_ + 1});
    const Dag g = crafted_graph(num_vertices, L, num_paths, enc_.max_input, rng_);
    const int start = 0, goal = std::max(1, L);
    std::vector<std::vector<int>> paths = shortest_paths(g, start, goal);
    if (paths.empty()) continue;
    std::size_t edges = 0;
    for (const auto& c : g.children) edges += c.size();
    if (static_cast<int>(edges) > max_edges_ || 3 * static_cast<int>(edges) + 4 > enc_.max_input) continue;
    // Labels: a random injection into 1 .. nv (their shuffle of 0 .. nv with the reserved 0 skipped).
    std::vector<int> ids(static_cast<std::size_t>(nv) + 1);
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), rng_);
    ids.erase(std::find(ids.begin(), ids.end(), 0));
    auto id = [&](int v) { return ids[static_cast<std::size_t>(v)]; };
    SearchProblem& p = graph_;
    p = SearchProblem{};
    p.n = nv + 1;
    for (std::size_t u = 0; u < g.children.size(); ++u)
      for (int v : g.children[u]) p.edges.emplace_back(id(static_cast<int>(u)), id(v));
    std::shuffle(p.edges.begin(), p.edges.end(), rng_);
    p.start = id(start);
    p.goal = id(goal);
    for (auto& path : paths)
      for (int& v : path) v = id(v);
    paths_ = std::move(paths);
    path_at_ = 0;
    j_ = 1;
    return;
  }
}

SearchExample BalancedStream::next() {
  for (;;) {
    if (path_at_ >= paths_.size()) new_graph();
    const std::vector<int>& path = paths_[path_at_];
    const std::size_t j = j_;
    if (++j_ >= path.size()) ++path_at_, j_ = 1;  // advance the walk
    if (j >= path.size() || 3 * graph_.edges.size() + 4 + j > static_cast<std::size_t>(enc_.max_input)) continue;
    SearchExample e;
    e.problem = graph_;
    e.problem.path.assign(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(j));
    if (reserved_ && reserved_(e)) continue;  // a held-out input (their reserved_inputs)
    e.next = path[j];
    e.lookahead = lookahead_depth(e.problem, path[j - 1], path[j]);
    if (e.lookahead != lookahead_) continue;
    for (auto [u, v] : e.problem.edges)
      if (u == path[j - 1] && reaches(e.problem, v, e.problem.goal)) e.useful.push_back(v);
    std::sort(e.useful.begin(), e.useful.end());
    e.useful.erase(std::unique(e.useful.begin(), e.useful.end()), e.useful.end());
    ATTEND_ASSERT(!e.useful.empty());
    e.label = e.useful[randrange(rng_, static_cast<unsigned>(e.useful.size()))];
    lookahead_ = static_cast<int>(randrange(rng_, static_cast<unsigned>(max_lookahead_ + 1)));
    return e;
  }
}

SearchExample balanced_example(std::int64_t max_input, int lookahead, int max_edges, std::mt19937_64& rng) {
  // A stream whose lookahead is always L (range 0 .. L would draw others): fix it after each draw.
  BalancedStream s(max_input, lookahead, max_edges, rng(), {});
  s.fix_lookahead(lookahead);
  return s.next();
}

SearchExample balanced_training_example(std::int64_t max_input, int max_lookahead, int max_edges, std::mt19937_64& rng) {
  return BalancedStream(max_input, max_lookahead, max_edges, rng(), {}).next();
}

SearchExample balanced_eval_example(std::int64_t max_input, int lookahead, std::mt19937_64& rng) {
  if (lookahead < 1) detail::fail("graph::balanced_eval_example", "lookahead must be >= 1, got ", lookahead);
  const int nv = search_encoding(max_input).vertices;
  BalancedStream s(max_input, lookahead, nv, rng(), {});
  for (;;) {
    s.fix_lookahead(lookahead);
    SearchExample e = s.next();
    int choices = 0;
    for (auto [u, v] : e.problem.edges) choices += u == e.problem.path.back();
    if (e.useful.size() == 1 && choices >= 2) return e;
  }
}

}  // namespace attend::graph
