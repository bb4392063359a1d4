// The trained search model: accuracy by lookahead on the held-out set, and the path-merging probe
// over captured attention (Saparov et al., ICLR 2025, section on mechanisms).
#include <algorithm>
#include <numeric>

#include "attend/search_model.h"
#include "core/check.h"

namespace attend::graph {
namespace {

using I64 = std::int64_t;

// Vertex named by the token at `pos` (positions off + 3e + 1, off + 3e + 2 of the edge list, where
// off is the left padding), −1 elsewhere.
int edge_vertex(const SearchProblem& p, I64 off, I64 pos) {
  const I64 r = pos - off;
  if (r < 0 || r >= 3 * static_cast<I64>(p.edges.size()) || r % 3 == 0) return -1;
  const auto& e = p.edges[static_cast<std::size_t>(r / 3)];
  return r % 3 == 1 ? e.first : e.second;
}

I64 padding(const SearchExample& e, I64 S) { return S - (3 * static_cast<I64>(e.problem.edges.size()) + 4 + static_cast<I64>(e.problem.path.size())); }

// All-pairs hop distances [n][n] (−1: unreachable).
std::vector<std::vector<int>> distances(const SearchProblem& p) {
  std::vector<std::vector<int>> d;
  for (int v = 0; v < p.n; ++v) {
    std::vector<int> row(static_cast<std::size_t>(p.n));
    for (int u = 0; u < p.n; ++u) row[static_cast<std::size_t>(u)] = bfs_distance(p, v, u);
    d.push_back(std::move(row));
  }
  return d;
}

}  // namespace

SearchEval search_eval(const nn::Model& model, int lookahead, int problems) {
  const I64 S = model.config().context;
  if (model.config().vocab != search_encoding(S).vocab)
    detail::fail("graph::search_eval", "the model's vocab ", model.config().vocab, " is not the search task's ", search_encoding(S).vocab,
                 " for context ", S);
  if (problems < 1 || problems > kSearchHeldOut) detail::fail("graph::search_eval", "problems must be in [1, ", kSearchHeldOut, "], got ", problems);
  SearchEval e;
  e.problems = problems;
  const I64 V = model.config().vocab;
  for (int k = 0; k < problems; ++k) {
    const SearchExample x = search_held_out(S, lookahead, k);
    const SearchSequence s = search_sequence(x, S);
    const Tensor logits = model.forward(Span(s.tokens.data(), s.tokens.size()));
    const float* row = logits.data_as<float>() + s.answer_at * V;  // logits: [S, V]
    const int got = static_cast<int>(std::max_element(row, row + V) - row);
    int out = 0;
    bool neighbour = false;
    for (auto [u, v] : x.problem.edges)
      if (u == x.problem.path.back()) ++out, neighbour = neighbour || v == got;
    e.accuracy += got == s.answer;
    e.goal += got == x.problem.goal;
    e.neighbour += neighbour;
    e.chance += 1.0 / std::max(1, out);
  }
  e.accuracy /= problems, e.neighbour /= problems, e.goal /= problems, e.chance /= problems;
  return e;
}

double search_accuracy(const nn::Model& model, int lookahead, int problems) { return search_eval(model, lookahead, problems).accuracy; }

observe::Recording record_search(const nn::Model& model, const SearchExample& e) {
  const nn::ModelConfig& c = model.config();
  const SearchSequence s = search_sequence(e, c.context);
  observe::Recording rec;
  rec.title = "search: start " + std::to_string(e.problem.start) + ", goal " + std::to_string(e.problem.goal) + ", answer " +
              std::to_string(s.answer) + " (lookahead " + std::to_string(e.lookahead) + ")";
  rec.n = static_cast<I64>(s.tokens.size());
  for (std::int32_t t : s.tokens) {
    rec.token_ids.push_back(t);
    rec.tokens.push_back(search_token_text(t, c.context));
  }
  observe::Selection sel;
  sel.activations = false;  // the probe reads the weights only
  observe::RecordingSink sink(rec, static_cast<int>(c.layers), c.heads, sel);
  (void)model.forward(Span(s.tokens.data(), s.tokens.size()), &sink);
  return rec;
}

int probe_reach(const std::vector<double>& share, const std::vector<double>& uniform) {
  int reach = 0;
  for (std::size_t d = 1; d < share.size() && d < uniform.size(); ++d)
    if (share[d] >= 0.01 && share[d] >= 2 * uniform[d]) reach = static_cast<int>(d);
  return reach;
}

SearchProbe probe_search(const std::vector<SearchExample>& examples, const std::vector<observe::Recording>& recs) {
  if (examples.size() != recs.size() || recs.empty())
    detail::fail("graph::probe_search", "got ", examples.size(), " examples and ", recs.size(), " recordings (need equal, >= 1)");
  const int L = static_cast<int>(recs[0].layers.size());
  const I64 H = recs[0].heads;
  int max_d = 1;
  for (const SearchExample& e : examples) max_d = std::max(max_d, e.problem.n);
  SearchProbe out;
  out.problems = static_cast<int>(examples.size());
  out.max_distance = max_d;
  const std::size_t nd = static_cast<std::size_t>(max_d) + 1;
  out.layers.resize(static_cast<std::size_t>(L));
  for (int l = 0; l < L; ++l) {
    SearchProbeLayer& o = out.layers[static_cast<std::size_t>(l)];
    o.layer = l;
    o.forward.assign(static_cast<std::size_t>(H), std::vector<double>(nd, 0.0));
    o.backward = o.forward;
    o.forward_uniform.assign(nd, 0.0);
    o.backward_uniform.assign(nd, 0.0);
  }
  std::vector<std::vector<I64>> head_rows(static_cast<std::size_t>(L), std::vector<I64>(static_cast<std::size_t>(H), 0));
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const SearchProblem& p = examples[i].problem;
    const observe::Recording& rec = recs[i];
    const I64 n = rec.n, off = padding(examples[i], n);
    if (static_cast<int>(rec.layers.size()) != L || rec.heads != H || off < 0)
      detail::fail("graph::probe_search", "recording ", i, " has ", rec.layers.size(), " layers, ", rec.heads, " heads, ", n,
                   " tokens; expected ", L, ", ", H, " and room for example ", i);
    const auto dist = distances(p);
    for (I64 q = off; q < n; ++q) {
      const int x = edge_vertex(p, off, q);
      if (x < 0) continue;
      std::vector<I64> keys;
      for (I64 j = off; j < q; ++j) {
        const int y = edge_vertex(p, off, j);
        if (y >= 0 && y != x && (j - off) / 3 != (q - off) / 3) keys.push_back(j);
      }
      if (keys.empty()) continue;
      auto bucket = [&](I64 j, bool fwd) {  // forward d(x, y) or backward d(y, x); 0: unreachable
        const int y = edge_vertex(p, off, j);
        const int d = fwd ? dist[static_cast<std::size_t>(x)][static_cast<std::size_t>(y)] : dist[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)];
        return d > 0 ? static_cast<std::size_t>(std::min(d, max_d)) : 0;
      };
      for (int l = 0; l < L; ++l) {
        SearchProbeLayer& o = out.layers[static_cast<std::size_t>(l)];
        ++o.rows;
        for (I64 j : keys) {
          o.forward_uniform[bucket(j, true)] += 1.0 / static_cast<double>(keys.size());
          o.backward_uniform[bucket(j, false)] += 1.0 / static_cast<double>(keys.size());
        }
        for (I64 h = 0; h < H; ++h) {
          const Span<const float> w = rec.weights(l, static_cast<int>(h));  // [n, n], row = query
          double tot = 0;
          for (I64 j : keys) tot += w[static_cast<std::size_t>(q * n + j)];
          if (!(tot > 0)) continue;
          ++head_rows[static_cast<std::size_t>(l)][static_cast<std::size_t>(h)];
          for (I64 j : keys) {
            const double s = w[static_cast<std::size_t>(q * n + j)] / tot;
            o.forward[static_cast<std::size_t>(h)][bucket(j, true)] += s;
            o.backward[static_cast<std::size_t>(h)][bucket(j, false)] += s;
          }
        }
      }
    }
  }
  // Flow reach: compose the focused attention edges over layers.
  out.flow_forward.assign(static_cast<std::size_t>(L), 0.0);
  out.flow_backward.assign(static_cast<std::size_t>(L), 0.0);
  I64 flow_rows = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const SearchProblem& p = examples[i].problem;
    const observe::Recording& rec = recs[i];
    const I64 n = rec.n, off = padding(examples[i], n);
    const auto dist = distances(p);
    std::vector<std::vector<char>> src(static_cast<std::size_t>(n), std::vector<char>(static_cast<std::size_t>(n), 0));
    for (I64 q = 0; q < n; ++q) src[static_cast<std::size_t>(q)][static_cast<std::size_t>(q)] = 1;
    for (int l = 0; l < L; ++l) {
      auto next = src;
      for (I64 h = 0; h < H; ++h) {
        const Span<const float> w = rec.weights(l, static_cast<int>(h));
        for (I64 q = off; q < n; ++q) {
          float top = 0;
          for (I64 j = 0; j <= q; ++j) top = std::max(top, w[static_cast<std::size_t>(q * n + j)]);
          const float floor = std::max(2.0f / static_cast<float>(q + 1 - off), 0.5f * top);
          for (I64 j = 0; j <= q; ++j)
            if (j != q && w[static_cast<std::size_t>(q * n + j)] >= floor)
              for (I64 t = 0; t < n; ++t) next[static_cast<std::size_t>(q)][static_cast<std::size_t>(t)] |= src[static_cast<std::size_t>(j)][static_cast<std::size_t>(t)];
        }
      }
      src.swap(next);
      for (I64 q = off; q < n; ++q) {
        const int x = edge_vertex(p, off, q);
        if (x < 0) continue;
        int fwd = 0, bwd = 0;
        for (I64 t = off; t < n; ++t) {
          const int y = edge_vertex(p, off, t);
          if (!src[static_cast<std::size_t>(q)][static_cast<std::size_t>(t)] || y < 0 || y == x) continue;
          fwd = std::max(fwd, dist[static_cast<std::size_t>(x)][static_cast<std::size_t>(y)]);
          bwd = std::max(bwd, dist[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)]);
        }
        out.flow_forward[static_cast<std::size_t>(l)] += fwd;
        out.flow_backward[static_cast<std::size_t>(l)] += bwd;
        if (l == 0) ++flow_rows;
      }
    }
  }
  for (int l = 0; l < L; ++l) {
    out.flow_forward[static_cast<std::size_t>(l)] /= static_cast<double>(std::max<I64>(1, flow_rows));
    out.flow_backward[static_cast<std::size_t>(l)] /= static_cast<double>(std::max<I64>(1, flow_rows));
  }
  for (std::size_t l = 0; l < out.layers.size(); ++l) {
    SearchProbeLayer& o = out.layers[l];
    const double rows = static_cast<double>(std::max<I64>(1, o.rows));
    for (auto* v : {&o.forward_uniform, &o.backward_uniform})
      for (double& s : *v) s /= rows;
    for (I64 h = 0; h < H; ++h) {
      const double hr = static_cast<double>(std::max<I64>(1, head_rows[l][static_cast<std::size_t>(h)]));
      for (auto* v : {&o.forward[static_cast<std::size_t>(h)], &o.backward[static_cast<std::size_t>(h)]})
        for (double& s : *v) s /= hr;
      o.forward_reach.push_back(probe_reach(o.forward[static_cast<std::size_t>(h)], o.forward_uniform));
      o.backward_reach.push_back(probe_reach(o.backward[static_cast<std::size_t>(h)], o.backward_uniform));
    }
  }
  return out;
}

SearchProbe probe_search_model(const nn::Model& model, int lookahead, int problems) {
  std::vector<SearchExample> xs;
  std::vector<observe::Recording> recs;
  for (int k = 0; k < problems; ++k) {
    xs.push_back(search_held_out(model.config().context, lookahead, k));
    recs.push_back(record_search(model, xs.back()));
  }
  return probe_search(xs, recs);
}

observe::Recording constructed_search_recording(const SearchExample& e, I64 max_input, int layers) {
  if (layers < 1) detail::fail("graph::constructed_search_recording", "layers must be >= 1, got ", layers);
  const SearchSequence s = search_sequence(e, max_input);
  const SearchProblem& p = e.problem;
  const I64 len = max_input, off = padding(e, max_input);
  observe::Recording rec;
  rec.title = "constructed path-merging pattern";
  rec.n = len;
  rec.heads = rec.kv_heads = 1;
  for (std::int32_t t : s.tokens) {
    rec.token_ids.push_back(t);
    rec.tokens.push_back(search_token_text(t, max_input));
  }
  const auto dist = distances(p);
  for (int l = 0; l < layers; ++l) {
    std::vector<float> w(static_cast<std::size_t>(len * len), 0.0f);  // [n, n]
    for (I64 q = 0; q < len; ++q) {
      std::vector<I64> keys;  // counted keys whose vertex x reaches within 2^l: the layer's uniform attention
      const int x = edge_vertex(p, off, q);
      for (I64 j = off; j < q && x >= 0; ++j) {
        const int y = edge_vertex(p, off, j);
        if (y < 0 || y == x || (j - off) / 3 == (q - off) / 3) continue;
        const int d = dist[static_cast<std::size_t>(x)][static_cast<std::size_t>(y)];
        if (d > 0 && d <= (1 << l)) keys.push_back(j);
      }
      if (keys.empty()) keys.push_back(q);  // nothing reached yet: the token keeps its own set
      for (I64 j : keys) w[static_cast<std::size_t>(q * len + j)] = 1.0f / static_cast<float>(keys.size());
    }
    observe::LayerRecord lr;
    lr.layer = l;
    lr.selected = true;
    lr.full_heads = {0};
    lr.weights.push_back(std::move(w));
    rec.layers.push_back(std::move(lr));
  }
  return rec;
}

}  // namespace attend::graph
