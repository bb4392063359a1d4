// The report's analysis panels: head similarity (JS + MDS), EMF operators' composition, attended-
// distance histograms and rollout / attention flow (labelled as heuristics in the page).
#include "observe/report_panels.h"

#include <algorithm>
#include <cmath>

namespace attend::observe::detail_report {

using nlohmann::json;

std::string base64(const std::vector<std::uint8_t>& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t b0 = bytes[i], b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0, b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const std::uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string quantize_sqrt_base64(const double* w, std::size_t count) {
  std::vector<std::uint8_t> q(count);
  for (std::size_t i = 0; i < count; ++i) q[i] = static_cast<std::uint8_t>(std::lround(255.0 * std::sqrt(std::clamp(w[i], 0.0, 1.0))));
  return base64(q);
}

namespace {

constexpr std::int64_t kRolloutAllRows = 512;  // above: only the last kRolloutTail query rows by default
constexpr std::int64_t kRolloutTail = 32;
constexpr std::int64_t kFlowMaxTokens = 24;    // attention flow is O(N² · maxflow)

bool has_qk(const Recording& rec) {
  for (const LayerRecord& lr : rec.layers)
    if (lr.q.empty() || lr.k.empty() || static_cast<std::int64_t>(lr.stats.size()) != rec.heads * rec.n) return false;
  return !rec.layers.empty();
}

json rollout_panel(const Recording& rec, const ReportOptions& opts) {
  const std::int64_t n = rec.n;
  std::vector<std::int64_t> rows = opts.rollout_rows;
  if (rows.empty())
    for (std::int64_t i = n <= kRolloutAllRows ? 0 : n - kRolloutTail; i < n; ++i) rows.push_back(i);
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  // Dense when every layer has all heads exact (short inputs); else exact rows through the backward
  // kernel from the recorded q and k (any N); else from whatever heads were recorded in full.
  bool all_exact = !rec.layers.empty();
  for (std::size_t l = 0; l < rec.layers.size() && all_exact; ++l)
    for (int h = 0; h < rec.heads && all_exact; ++h) all_exact = !rec.exact_weights(static_cast<int>(l), h).empty();
  std::vector<std::vector<double>> means;
  std::vector<double> r;
  json recorded = json::array();
  std::string source;
  if (all_exact || !has_qk(rec)) {
    for (std::size_t l = 0; l < rec.layers.size(); ++l) {
      if (!all_exact && rec.layers[l].full_heads.empty()) return nullptr;  // rollout needs every layer
      means.push_back(layer_mean(rec, static_cast<int>(l)));
      recorded.push_back(all_exact ? static_cast<std::size_t>(rec.heads) : rec.layers[l].full_heads.size());
    }
    if (means.empty()) return nullptr;
    r = rollout_rows(means, n, rows);
    source = all_exact ? "every head" : "the heads recorded in full";
  } else {
    r = rollout_rows_exact(rec, rows);
    for (std::size_t l = 0; l < rec.layers.size(); ++l) recorded.push_back(rec.heads);
    source = "every head (exact rows from the recorded queries and keys)";
  }
  json p = {{"rows", rows}, {"w", quantize_sqrt_base64(r.data(), r.size())}, {"flow", nullptr}, {"heads_recorded", recorded},
            {"source", source}};
  if (n <= kFlowMaxTokens && !means.empty()) p["flow"] = nums(attention_flow(means, n));
  return p;
}

}  // namespace

void add_panels(json& d, const Recording& rec, const ReportOptions& opts) {
  const std::int64_t n = rec.n;
  // Attended-distance histograms (log2 bins) for every head with exact weights.
  const std::vector<int> edges = log2_distance_edges(n);
  std::vector<Span<const float>> full;
  json labels = json::array();
  for (auto& f : d["full"]) {
    const auto w = rec.exact_weights(f["layer"].get<int>(), f["head"].get<int>());
    f["hist"] = nums(distance_histogram(w, n, edges));
    full.push_back(w);
    labels.push_back({f["layer"], f["head"]});
  }
  d["hist_edges"] = edges;
  // Head similarity (JS) and its 2-D map; fewer sampled rows when there are many heads (K² pairs).
  if (full.size() >= 2) {
    const HeadMap map = head_similarity_map(full, n, full.size() > 32 ? 64 : 256);
    d["headmap"] = {{"labels", labels}, {"js", nums(map.js)}, {"xy", nums(map.xy)}};
  } else {
    d["headmap"] = nullptr;
  }
  // Composition between heads of different layers (given, or from the caller's dense operators).
  const auto nops = static_cast<std::int64_t>(opts.operators.size());
  std::vector<Composition> c = opts.composition;
  if (c.empty() && nops > 0 && rec.heads > 0 && nops == static_cast<std::int64_t>(rec.layers.size()) * rec.heads)
    c = composition_matrix(opts.operators, rec.heads);
  if (!c.empty() && static_cast<std::int64_t>(c.size()) == nops * nops) {
    json q = json::array(), k = json::array(), v = json::array();
    for (const Composition& x : c) { q.push_back(num(x.q)); k.push_back(num(x.k)); v.push_back(num(x.v)); }
    d["composition"] = {{"count", nops}, {"q", q}, {"k", k}, {"v", v}};
  } else {
    d["composition"] = nullptr;
  }
  d["rollout"] = rollout_panel(rec, opts);
}

}  // namespace attend::observe::detail_report
