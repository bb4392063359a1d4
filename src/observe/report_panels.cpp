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

constexpr std::int64_t kRolloutAllRows = 512;  // above: only the last kRolloutTail query rows
constexpr std::int64_t kRolloutTail = 32;
constexpr std::int64_t kFlowMaxTokens = 24;    // attention flow is O(N² · maxflow)

json rollout_panel(const Recording& rec) {
  const std::int64_t n = rec.n;
  std::vector<std::vector<double>> means;
  for (std::size_t l = 0; l < rec.layers.size(); ++l) {
    if (rec.layers[l].full_heads.empty()) return nullptr;  // rollout needs every layer
    means.push_back(layer_mean(rec, static_cast<int>(l)));
  }
  if (means.empty()) return nullptr;
  std::vector<std::int64_t> rows;
  for (std::int64_t i = n <= kRolloutAllRows ? 0 : n - kRolloutTail; i < n; ++i) rows.push_back(i);
  const std::vector<double> r = rollout_rows(means, n, rows);
  json p = {{"rows", rows}, {"w", quantize_sqrt_base64(r.data(), r.size())}, {"flow", nullptr},
            {"heads_recorded", json::array()}};
  for (const LayerRecord& lr : rec.layers) p["heads_recorded"].push_back(lr.full_heads.size());
  if (n <= kFlowMaxTokens) p["flow"] = attention_flow(means, n);
  return p;
}

}  // namespace

void add_panels(json& d, const Recording& rec, const ReportOptions& opts) {
  const std::int64_t n = rec.n;
  // Attended-distance histograms (log2 bins) for every head recorded in full.
  const std::vector<int> edges = log2_distance_edges(n);
  std::vector<Span<const float>> full;
  json labels = json::array();
  for (auto& f : d["full"]) {
    const auto w = rec.weights(f["layer"].get<int>(), f["head"].get<int>());
    f["hist"] = distance_histogram(w, n, edges);
    full.push_back(w);
    labels.push_back({f["layer"], f["head"]});
  }
  d["hist_edges"] = edges;
  // Head similarity (JS) and its 2-D map, over the heads recorded in full.
  if (full.size() >= 2) {
    const HeadMap map = head_similarity_map(full, n);
    d["headmap"] = {{"labels", labels}, {"js", map.js}, {"xy", map.xy}};
  } else {
    d["headmap"] = nullptr;
  }
  // Composition between heads of different layers (EMF operators given by the caller).
  const auto nops = static_cast<std::int64_t>(opts.operators.size());
  if (nops > 0 && rec.heads > 0 && nops == static_cast<std::int64_t>(rec.layers.size()) * rec.heads) {
    const std::vector<Composition> c = composition_matrix(opts.operators, rec.heads);
    json q = json::array(), k = json::array(), v = json::array();
    for (const Composition& x : c) { q.push_back(x.q); k.push_back(x.k); v.push_back(x.v); }
    d["composition"] = {{"count", nops}, {"q", q}, {"k", k}, {"v", v}};
  } else {
    d["composition"] = nullptr;
  }
  d["rollout"] = rollout_panel(rec);
}

}  // namespace attend::observe::detail_report
