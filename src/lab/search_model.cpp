// The trained search model: accuracy by lookahead, and the
// path-merging probe over captured attention (Saparov et al., ICLR 2025, section on mechanisms).
#include <algorithm>
#include <numeric>
#include <random>

#include "attend/search_model.h"
#include "core/check.h"

namespace attend::graph {
namespace {

using I64 = std::int64_t;
constexpr std::uint32_t kEvalSalt = 0x5ea4c401u;  // separates evaluation seeds from training's

std::uint64_t eval_seed(std::uint64_t seed, int lookahead, int k) {
  std::seed_seq ss{kEvalSalt, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                   static_cast<std::uint32_t>(lookahead), static_cast<std::uint32_t>(k)};
  std::mt19937_64 rng(ss);
  return rng();
}

// Reach within 2^l hops per layer as an [n, n] 0/1 table: path_merge's sets (reversed graph: who reaches x).
std::vector<std::vector<std::uint8_t>> reach_tables(const SearchProblem& p, int layers, bool reversed) {
  SearchProblem q = p;
  if (reversed)
    for (auto& [u, v] : q.edges) std::swap(u, v);
  const MergeTrace t = path_merge(q, layers);
  std::vector<std::vector<std::uint8_t>> out;
  const std::size_t n = static_cast<std::size_t>(p.n);
  for (const auto& sets : t.sets) {
    std::vector<std::uint8_t> r(n * n, 0);
    for (std::size_t x = 0; x < n; ++x)
      for (int y : sets[x]) r[x * n + static_cast<std::size_t>(y)] = 1;
    out.push_back(std::move(r));
  }
  return out;
}

// Vertex named by the token at `pos` of the edge list (positions 3e+1, 3e+2), −1 elsewhere.
int edge_vertex(const SearchProblem& p, I64 pos) {
  if (pos < 0 || pos >= 3 * static_cast<I64>(p.edges.size()) || pos % 3 == 0) return -1;
  const auto& e = p.edges[static_cast<std::size_t>(pos / 3)];
  return pos % 3 == 1 ? e.first : e.second;
}

// The keys the probe counts for query position q (see the header).
bool counted(const SearchProblem& p, I64 q, I64 j) {
  const int x = edge_vertex(p, q), y = edge_vertex(p, j);
  return x >= 0 && y >= 0 && j < q && j / 3 != q / 3 && y != x;
}

}  // namespace

SearchEval search_eval(const nn::Model& model, int lookahead, int problems, std::uint64_t seed) {
  const I64 V = model.config().vocab, T = model.config().context;
  SearchEval e;
  for (int k = 0; k < problems; ++k) {
    const SearchProblem p = search_problem(lookahead, V, eval_seed(seed, lookahead, k));
    const SearchSequence s = search_sequence(p, V, T);
    const Tensor logits = model.forward(Span(s.tokens.data(), static_cast<std::size_t>(s.answer_at + 1)));
    const float* row = logits.data_as<float>() + s.answer_at * V;  // logits: [N, V]
    const int got = static_cast<int>(std::max_element(row, row + V) - row);
    e.accuracy += got == s.answer;
    e.goal += got == p.goal;
    e.neighbour += std::find(p.edges.begin(), p.edges.end(), std::pair<int, int>(p.path.back(), got)) != p.edges.end();
  }
  if (problems > 0) e.accuracy /= problems, e.neighbour /= problems, e.goal /= problems;
  return e;
}

double search_accuracy(const nn::Model& model, int lookahead, int problems, std::uint64_t seed) {
  return search_eval(model, lookahead, problems, seed).accuracy;
}

observe::Recording record_search(const nn::Model& model, const SearchProblem& p) {
  const nn::ModelConfig& c = model.config();
  const SearchSequence s = search_sequence(p, c.vocab, c.context);
  observe::Recording rec;
  rec.title = "search: start " + std::to_string(p.start) + ", goal " + std::to_string(p.goal) + ", answer " + std::to_string(s.answer);
  rec.n = s.answer_at + 1;
  for (I64 i = 0; i < rec.n; ++i) {
    rec.token_ids.push_back(s.tokens[static_cast<std::size_t>(i)]);
    rec.tokens.push_back(search_token_text(s.tokens[static_cast<std::size_t>(i)], c.vocab));
  }
  observe::Selection sel;
  sel.activations = false;  // the probe reads the weights only
  observe::RecordingSink sink(rec, static_cast<int>(c.layers), c.heads, sel);
  (void)model.forward(Span(s.tokens.data(), static_cast<std::size_t>(rec.n)), &sink);
  return rec;
}

SearchProbe probe_search(const std::vector<SearchProblem>& problems, const std::vector<observe::Recording>& recs) {
  if (problems.size() != recs.size() || recs.empty())
    detail::fail("graph::probe_search", "got ", problems.size(), " problems and ", recs.size(), " recordings (need equal, >= 1)");
  const int L = static_cast<int>(recs[0].layers.size());
  const I64 H = recs[0].heads;
  SearchProbe out;
  out.problems = static_cast<int>(problems.size());
  out.layers.resize(static_cast<std::size_t>(L));
  for (int l = 0; l < L; ++l) {
    out.layers[static_cast<std::size_t>(l)].layer = l;
    out.layers[static_cast<std::size_t>(l)].forward.assign(static_cast<std::size_t>(H), 0.0);
    out.layers[static_cast<std::size_t>(l)].backward.assign(static_cast<std::size_t>(H), 0.0);
  }
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const SearchProblem& p = problems[i];
    const observe::Recording& rec = recs[i];
    const I64 n = rec.n, edge_tokens = 3 * static_cast<I64>(p.edges.size());
    if (static_cast<int>(rec.layers.size()) != L || rec.heads != H || n < edge_tokens)
      detail::fail("graph::probe_search", "recording ", i, " has ", rec.layers.size(), " layers, ", rec.heads, " heads, ", n,
                   " tokens; expected ", L, ", ", H, ", >= ", edge_tokens);
    const auto fwd = reach_tables(p, L, false), bwd = reach_tables(p, L, true);
    const std::size_t nv = static_cast<std::size_t>(p.n);
    for (int l = 0; l < L; ++l) {
      SearchProbeLayer& out_l = out.layers[static_cast<std::size_t>(l)];
      for (int dir = 0; dir < 2; ++dir) {
        const auto& reach = (dir == 0 ? fwd : bwd)[static_cast<std::size_t>(l)];  // R_l: within 2^l hops
        auto& share = dir == 0 ? out_l.forward : out_l.backward;
        double& uniform = dir == 0 ? out_l.forward_uniform : out_l.backward_uniform;
        I64& rows = dir == 0 ? out_l.forward_rows : out_l.backward_rows;
        for (I64 q = 0; q < edge_tokens; ++q) {
          const int x = edge_vertex(p, q);
          if (x < 0) continue;
          I64 cnt = 0, cnt_in = 0;
          for (I64 j = 0; j < q; ++j)
            if (counted(p, q, j)) ++cnt, cnt_in += reach[static_cast<std::size_t>(x) * nv + static_cast<std::size_t>(edge_vertex(p, j))];
          if (cnt_in == 0) continue;
          ++rows;
          uniform += static_cast<double>(cnt_in) / static_cast<double>(cnt);
          for (I64 h = 0; h < H; ++h) {
            const Span<const float> w = rec.weights(l, static_cast<int>(h));  // [n, n], row = query
            double tot = 0, in = 0;  // share = Σ_{j counted, vertex ∈ R_l(x)} w_qj / Σ_{j counted} w_qj
            for (I64 j = 0; j < q; ++j)
              if (counted(p, q, j)) {
                const double wj = w[static_cast<std::size_t>(q * n + j)];
                tot += wj;
                if (reach[static_cast<std::size_t>(x) * nv + static_cast<std::size_t>(edge_vertex(p, j))]) in += wj;
              }
            share[static_cast<std::size_t>(h)] += tot > 0 ? in / tot : 0.0;
          }
        }
      }
    }
  }
  for (SearchProbeLayer& l : out.layers) {
    const double fr = static_cast<double>(std::max<I64>(1, l.forward_rows)), br = static_cast<double>(std::max<I64>(1, l.backward_rows));
    for (double& s : l.forward) s /= fr;
    for (double& s : l.backward) s /= br;
    l.forward_uniform /= fr;
    l.backward_uniform /= br;
  }
  return out;
}

SearchProbe probe_search_model(const nn::Model& model, int lookahead, int problems, std::uint64_t seed) {
  std::vector<SearchProblem> ps;
  std::vector<observe::Recording> recs;
  for (int k = 0; k < problems; ++k) {
    ps.push_back(search_problem(lookahead, model.config().vocab, eval_seed(seed ^ 0x9b0be5u, lookahead, k)));
    recs.push_back(record_search(model, ps.back()));
  }
  return probe_search(ps, recs);
}

observe::Recording constructed_search_recording(const SearchProblem& p, I64 vocab, int layers) {
  if (layers < 1) detail::fail("graph::constructed_search_recording", "layers must be >= 1, got ", layers);
  const I64 len = 3 * static_cast<I64>(p.edges.size()) + 4 + static_cast<I64>(p.path.size());
  const SearchSequence s = search_sequence(p, vocab, len);
  observe::Recording rec;
  rec.title = "constructed path-merging pattern";
  rec.n = len;
  rec.heads = rec.kv_heads = 1;
  for (I64 i = 0; i < len; ++i) {
    rec.token_ids.push_back(s.tokens[static_cast<std::size_t>(i)]);
    rec.tokens.push_back(search_token_text(s.tokens[static_cast<std::size_t>(i)], vocab));
  }
  const auto fwd = reach_tables(p, layers, false);
  const std::size_t nv = static_cast<std::size_t>(p.n);
  for (int l = 0; l < layers; ++l) {
    std::vector<float> w(static_cast<std::size_t>(len * len), 0.0f);  // [n, n]
    for (I64 q = 0; q < len; ++q) {
      std::vector<I64> keys;  // counted keys whose vertex x reaches: the constructed layer's uniform attention
      const int x = edge_vertex(p, q);
      for (I64 j = 0; j < q && x >= 0; ++j)
        if (counted(p, q, j) && fwd[static_cast<std::size_t>(l)][static_cast<std::size_t>(x) * nv + static_cast<std::size_t>(edge_vertex(p, j))])
          keys.push_back(j);
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
