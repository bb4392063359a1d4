// The report's data (report_panels.h): tokens, the heads × layers overview, every head's weights
// (exact: full matrices or one-cell-per-entry thumbnails; pooled thumbnails otherwise), routing
// graphs, the residual-stream trajectory and the EMF operators.
#include <algorithm>
#include <cmath>

#include "observe/report_panels.h"

namespace attend::observe::detail_report {

using nlohmann::json;

std::string quantize_sqrt_base64(Span<const float> w) {
  std::vector<std::uint8_t> q(w.size());
  for (std::size_t i = 0; i < w.size(); ++i)  // q = round(255·√w): keeps small weights visible
    q[i] = static_cast<std::uint8_t>(std::lround(255.0 * std::sqrt(std::clamp(static_cast<double>(w[i]), 0.0, 1.0))));
  return base64(q);
}

json num(double x, int digits) {
  if (!std::isfinite(x)) return nullptr;
  if (x == 0) return 0;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::fabs(x)))));
  return std::round(x * scale) / scale;
}

json nums(Span<const float> x, int digits) {
  json a = json::array();
  for (float v : x) a.push_back(num(v, digits));
  return a;
}

json nums(Span<const double> x, int digits) {
  json a = json::array();
  for (double v : x) a.push_back(num(v, digits));
  return a;
}

HeadSummary head_summary(const Recording& rec, int layer, int head) {
  const LayerRecord& lr = rec.layers[static_cast<std::size_t>(layer)];
  const std::int64_t n = rec.n;
  HeadSummary s;
  s.has_stats = static_cast<std::int64_t>(lr.stats.size()) == rec.heads * n;
  if (s.has_stats) {
    const auto rows = Span<const RowStats>(lr.stats).subspan(static_cast<std::size_t>(head * n), static_cast<std::size_t>(n));
    s.entropy = head_entropy(rows);
    s.sink = sink_score(rows);
  }
  const auto w = rec.exact_weights(layer, head);
  s.scored = !w.empty() && static_cast<std::int64_t>(rec.token_ids.size()) == n;
  if (s.scored) s.types = head_type_scores(w, rec.token_ids);
  return s;
}

json build_data(const Recording& rec, const ReportOptions& opts) {
  const std::int64_t n = rec.n;
  const int nl = static_cast<int>(rec.layers.size());
  json d;
  d["title"] = rec.title;
  d["tokens"] = rec.tokens;
  d["token_ids"] = rec.token_ids;
  d["n"] = n;
  d["layers"] = nl;
  d["heads"] = rec.heads;
  json ov = {{"entropy", json::array()}, {"sink", json::array()}, {"previous_token", json::array()},
             {"duplicate_token", json::array()}, {"induction", json::array()}};
  d["full"] = json::array();    // heads with exact weights
  d["thumbs"] = json::array();  // heads with pooled thumbnails only
  d["graphs"] = json::array();
  for (int l = 0; l < nl; ++l) {
    const LayerRecord& lr = rec.layers[static_cast<std::size_t>(l)];
    json ent = json::array(), sink = json::array(), prev = json::array(), dup = json::array(), ind = json::array();
    bool any_exact = false;
    for (std::int64_t h = 0; h < rec.heads; ++h) {
      const HeadSummary hs = head_summary(rec, l, static_cast<int>(h));
      ent.push_back(hs.has_stats ? num(hs.entropy) : json(nullptr));
      sink.push_back(hs.has_stats ? num(hs.sink) : json(nullptr));
      prev.push_back(hs.scored ? num(hs.types.previous_token) : json(nullptr));
      dup.push_back(hs.scored ? num(hs.types.duplicate_token) : json(nullptr));
      ind.push_back(hs.scored ? num(hs.types.induction) : json(nullptr));
      const auto w = rec.exact_weights(l, static_cast<int>(h));
      if (!w.empty()) {
        any_exact = true;
        auto decay = decay_by_distance(w, n);
        if (decay.size() > 512) decay.resize(512);
        d["full"].push_back({{"layer", l}, {"head", h}, {"w", quantize_sqrt_base64(w)}, {"decay", nums(decay)},
                             {"share0", nums(token_share(w, n, 0))}, {"recorded", rec.has_weights(l, static_cast<int>(h))}});
      } else if (lr.thumb_rows > 0 && static_cast<std::int64_t>(lr.thumb_mean.size()) == rec.heads * lr.thumb_rows * lr.thumb_cols) {
        const auto cells = static_cast<std::size_t>(lr.thumb_rows * lr.thumb_cols);
        const Span<const float> mean(lr.thumb_mean.data() + static_cast<std::size_t>(h) * cells, cells);
        const Span<const float> mx(lr.thumb_max.data() + static_cast<std::size_t>(h) * cells, cells);
        d["thumbs"].push_back({{"layer", l}, {"head", h}, {"rows", lr.thumb_rows}, {"cols", lr.thumb_cols},
                               {"mean", quantize_sqrt_base64(mean)}, {"max", quantize_sqrt_base64(mx)}});
      }
    }
    ov["entropy"].push_back(ent);
    ov["sink"].push_back(sink);
    ov["previous_token"].push_back(prev);
    ov["duplicate_token"].push_back(dup);
    ov["induction"].push_back(ind);
    if (any_exact || !lr.full_heads.empty()) {
      const std::vector<double> m = layer_mean(rec, l);
      const std::vector<float> mean(m.begin(), m.end());
      const RoutingGraph g = routing_graph(mean, n, rec.tokens, opts.graph_top_k, opts.graph_min_weight, 0,
                                           "layer " + std::to_string(l) + " (mean of heads with exact weights)");
      json edges = json::array();
      for (const Edge& e : g.edges) edges.push_back({e.from, e.to, num(e.weight)});
      d["graphs"].push_back({{"name", g.name}, {"layer", l}, {"edges", edges}});
    }
  }
  d["overview"] = ov;
  // Trajectory: the stream entering each recorded layer, then leaving the last one (PCA at any width).
  std::vector<float> states;
  std::int64_t stages = 0;
  const std::int64_t e = rec.d_model;
  for (int l = 0; l < nl; ++l) {
    const auto& pre = rec.layers[static_cast<std::size_t>(l)].resid_pre;
    if (e > 0 && static_cast<std::int64_t>(pre.size()) == n * e) { states.insert(states.end(), pre.begin(), pre.end()); ++stages; }
  }
  if (nl > 0 && e > 0 && static_cast<std::int64_t>(rec.layers.back().resid_post.size()) == n * e) {
    states.insert(states.end(), rec.layers.back().resid_post.begin(), rec.layers.back().resid_post.end());
    ++stages;
  }
  if (stages > 0) {
    const auto pts = pca_2d(states, stages, n, e);
    json points = json::array(), cosine = json::array();
    for (std::size_t p = 0; p + 1 < pts.size(); p += 2) points.push_back({num(pts[p]), num(pts[p + 1])});
    for (std::int64_t s = 0; s < stages; ++s)
      cosine.push_back(num(mean_pairwise_cosine(Span<const float>(states).subspan(static_cast<std::size_t>(s * n * e), static_cast<std::size_t>(n * e)), n, e)));
    d["trajectory"] = {{"stages", stages}, {"points", points}, {"cosine", cosine}};
  } else {
    d["trajectory"] = nullptr;
  }
  json ops = json::array();
  for (std::size_t i = 0; i < opts.operators.size(); ++i) {
    const HeadOperators& op = opts.operators[i];
    ops.push_back({{"index", i}, {"m_singular", nums(op.m_singular)}, {"f_singular", nums(op.f_singular)},
                   {"m_symmetric", num(op.m_symmetric_norm)}, {"m_antisymmetric", num(op.m_antisymmetric_norm)}});
  }
  d["operators"] = ops;
  d["emf_note"] = opts.emf_note;
  add_panels(d, rec, opts);
  add_interp_panels(d, rec, opts);
  return d;
}

}  // namespace attend::observe::detail_report
