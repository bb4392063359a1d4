// Output for people: PNG heatmaps and the self-contained HTML report.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "attend/io.h"
#include "attend/observe_report.h"
#include "core/check.h"
#include "io/atomic_file.h"
#include "observe/report_panels.h"
#include "observe/web_assets.h"

namespace attend::observe {
namespace {

using nlohmann::json;

using detail_report::base64;

json nullable(bool ok, double x) { return ok && std::isfinite(x) ? json(x) : json(nullptr); }

json build_data(const Recording& rec, const ReportOptions& opts) {
  const std::int64_t n = rec.n;
  const int nl = static_cast<int>(rec.layers.size());
  json d;
  d["title"] = rec.title;
  d["tokens"] = rec.tokens;
  d["n"] = n;
  d["layers"] = nl;
  d["heads"] = rec.heads;
  json ov = {{"entropy", json::array()}, {"sink", json::array()}, {"previous_token", json::array()},
             {"duplicate_token", json::array()}, {"induction", json::array()}};
  d["full"] = json::array();
  d["graphs"] = json::array();
  for (int l = 0; l < nl; ++l) {
    const LayerRecord& lr = rec.layers[static_cast<std::size_t>(l)];
    json ent = json::array(), sink = json::array(), prev = json::array(), dup = json::array(), ind = json::array();
    for (std::int64_t h = 0; h < rec.heads; ++h) {
      const bool has_stats = static_cast<std::int64_t>(lr.stats.size()) == rec.heads * n;
      Span<const RowStats> rows;
      if (has_stats) rows = Span<const RowStats>(lr.stats).subspan(static_cast<std::size_t>(h * n), static_cast<std::size_t>(n));
      ent.push_back(nullable(has_stats, head_entropy(rows)));
      sink.push_back(nullable(has_stats, sink_score(rows)));
      const bool full = rec.has_weights(l, static_cast<int>(h)) && static_cast<std::int64_t>(rec.token_ids.size()) == n;
      HeadTypeScores t;
      if (full) t = head_type_scores(rec.weights(l, static_cast<int>(h)), rec.token_ids);
      prev.push_back(nullable(full, t.previous_token));
      dup.push_back(nullable(full, t.duplicate_token));
      ind.push_back(nullable(full, t.induction));
    }
    ov["entropy"].push_back(ent);
    ov["sink"].push_back(sink);
    ov["previous_token"].push_back(prev);
    ov["duplicate_token"].push_back(dup);
    ov["induction"].push_back(ind);
    for (std::size_t k = 0; k < lr.full_heads.size(); ++k) {
      const auto& w = lr.weights[k];
      std::vector<std::uint8_t> q(w.size());
      for (std::size_t i = 0; i < w.size(); ++i)  // q = round(255·√w): keeps small weights visible
        q[i] = static_cast<std::uint8_t>(std::lround(255.0 * std::sqrt(std::clamp(static_cast<double>(w[i]), 0.0, 1.0))));
      auto decay = decay_by_distance(w, n);
      if (decay.size() > 512) decay.resize(512);
      d["full"].push_back({{"layer", l}, {"head", lr.full_heads[k]}, {"w", base64(q)}, {"decay", decay}, {"share0", token_share(w, n, 0)}});
    }
    if (!lr.full_heads.empty()) {
      std::vector<float> mean(static_cast<std::size_t>(n * n), 0.0f);
      for (const auto& w : lr.weights)
        for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += w[i] / static_cast<float>(lr.weights.size());
      const RoutingGraph g = routing_graph(mean, n, rec.tokens, opts.graph_top_k, opts.graph_min_weight, 0,
                                           "layer " + std::to_string(l) + " (mean of recorded heads)");
      json edges = json::array();
      for (const Edge& e : g.edges) edges.push_back({e.from, e.to, e.weight});
      d["graphs"].push_back({{"name", g.name}, {"layer", l}, {"edges", edges}});
    }
  }
  d["overview"] = ov;
  // Trajectory: the stream entering each recorded layer, then leaving the last one.
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
  if (stages > 0 && e <= 1024) {
    const auto pts = pca_2d(states, stages, n, e);
    json points = json::array(), cosine = json::array();
    for (std::size_t p = 0; p + 1 < pts.size(); p += 2) points.push_back({pts[p], pts[p + 1]});
    for (std::int64_t s = 0; s < stages; ++s)
      cosine.push_back(mean_pairwise_cosine(Span<const float>(states).subspan(static_cast<std::size_t>(s * n * e), static_cast<std::size_t>(n * e)), n, e));
    d["trajectory"] = {{"stages", stages}, {"points", points}, {"cosine", cosine}};
  } else {
    d["trajectory"] = nullptr;
  }
  json ops = json::array();
  for (std::size_t i = 0; i < opts.operators.size(); ++i) {
    const HeadOperators& op = opts.operators[i];
    ops.push_back({{"index", i}, {"m_singular", op.m_singular}, {"f_singular", op.f_singular},
                   {"m_symmetric", op.m_symmetric_norm}, {"m_antisymmetric", op.m_antisymmetric_norm}});
  }
  d["operators"] = ops;
  detail_report::add_panels(d, rec, opts);
  return d;
}

}  // namespace

std::string escape_html(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string json_for_script(const std::string& j) {
  // Valid JSON either way; these escapes keep "</script>", "<!--" and JS line terminators inert.
  std::string out;
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    const char c = j[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xE2' && i + 2 < j.size() && j[i + 1] == '\x80' && (j[i + 2] == '\xA8' || j[i + 2] == '\xA9')) {
      out += j[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else out += c;
  }
  return out;
}

Image heatmap(Span<const float> a, std::int64_t n, int max_side) {
  if (n < 1 || static_cast<std::int64_t>(a.size()) != n * n) detail::fail("heatmap", "matrix has ", a.size(), " entries for n=", n);
  if (max_side < 1) detail::fail("heatmap", "max_side=", max_side);
  const std::int64_t cell = std::max<std::int64_t>(1, max_side / n);
  const auto side = static_cast<int>(std::min<std::int64_t>(n * cell, std::max<std::int64_t>(max_side, 1)));
  Image img(side, side);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      // pixel → entry (nearest; several entries share a pixel when n > max_side: their max is shown)
      const std::int64_t i0 = y * n / side, i1 = std::max(i0 + 1, (y + 1) * n / side);
      const std::int64_t j0 = x * n / side, j1 = std::max(j0 + 1, (x + 1) * n / side);
      float m = 0;
      for (std::int64_t i = i0; i < i1; ++i)
        for (std::int64_t j = j0; j < j1; ++j) m = std::max(m, a[static_cast<std::size_t>(i * n + j)]);
      img.set(x, y, colormap(std::sqrt(m)));
    }
  return img;
}

std::string report_html(const Recording& rec, const ReportOptions& opts) {
  if (rec.n < 1 || static_cast<std::int64_t>(rec.tokens.size()) != rec.n)
    detail::fail("report_html", rec.tokens.size(), " token strings for n=", rec.n);
  const json data = build_data(rec, opts);
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  html += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
          "style-src 'unsafe-inline'; img-src data:\">\n";
  html += "<link rel=\"icon\" href=\"data:,\">\n<title>attend report: " + escape_html(rec.title) + "</title>\n";
  html += std::string("<style>") + web::kReportCss + "</style>\n</head><body>\n";
  html += "<h1>attend observatory</h1><div class=\"note\">prompt: <span id=\"title\"></span> · " + std::to_string(rec.n) +
          " tokens, " + std::to_string(rec.layers.size()) + " layers, " + std::to_string(rec.heads) + " heads</div>\n";
  html += R"(<section><h2>Heads × layers</h2>
<label>metric <select id="metric"><option value="entropy">entropy / log(visible keys)</option><option value="sink">sink mass</option>
<option value="previous_token">previous-token score</option><option value="duplicate_token">duplicate-token score</option>
<option value="induction" selected>induction score</option></select></label>
<div class="note">Entropy and sink mass come from the kernel's streaming statistics (every head); head-type scores need the heads recorded in full (outlined; click to show).</div>
<table class="overview" id="overview"></table></section>
<section><h2>One head</h2><div id="heatlabel" class="note"></div>
<div class="row"><div><div id="heatwrap"><canvas id="heat" width="640" height="640"></canvas><canvas id="heatover" width="640" height="640"></canvas></div>
<div id="heatinfo" class="note">wheel: zoom · drag: pan · hover a token below: red row = where it attends, orange column = what attends to it</div></div>
<div style="flex:1;min-width:300px"><h2>Tokens</h2><div class="note">hover: blue = keys this token attends to (shade = weight), orange top bar = tokens attending to it</div><div id="tokens"></div></div></div></section>
<section><h2>Routing graph</h2><select id="graphsel"></select> <span id="graphnote" class="note"></span><br>
<svg id="graph" width="960" height="300"></svg></section>
<section class="row"><div><h2>Decay: mean weight by distance</h2><canvas class="plot" id="decay" width="460" height="260"></canvas>
<div class="note">mean over queries of A[i, i − d] for each recorded head</div></div>
<div><h2>Trajectories (PCA of the residual stream)</h2><canvas class="plot" id="traj" width="460" height="260"></canvas><div id="trajnote" class="note"></div></div></section>
<section class="row"><div><h2>A fixed token's share as context grows</h2><canvas class="plot" id="share" width="460" height="260"></canvas>
<div class="note">A[i, 0] for i = 0 … N − 1: how much each later query still reads token 0 (as context grows, softmax competition spreads the mass thinner)</div></div>
<div><h2>Attended distance</h2><canvas class="plot" id="hist" width="460" height="260"></canvas>
<div class="note">mass on keys at distance |i − j| in bins 0, 1, [2, 4), [4, 8), …, averaged over queries</div></div></section>
<section class="row"><div><h2>Head similarity (Jensen–Shannon map)</h2><canvas class="plot" id="headmap" width="460" height="260"></canvas>
<div id="headmapnote" class="note"></div></div>
<div><h2>Attention rollout and flow (heuristics)</h2><canvas class="plot" id="rollout" width="460" height="260"></canvas>
<div id="rolloutnote" class="note"></div></div></section>
<section><h2>EMF operators per head</h2><label>head <select id="opsel"></select></label>
<div class="row"><div><canvas class="plot" id="opsv" width="460" height="220"></canvas><div id="opnote" class="note"></div></div>
<div><label>composition <select id="compkind"><option value="q">Q-composition</option><option value="k" selected>K-composition</option>
<option value="v">V-composition</option></select></label><div class="note">rows: later head (its M or F), columns: earlier head (its F)</div>
<table class="overview" id="comp"></table></div></div></section>
<section><h2>Files beside this report</h2><div class="note" id="files"></div></section>
)";
  html += "<script type=\"application/json\" id=\"attend-data\">" +
          json_for_script(data.dump(-1, ' ', false, json::error_handler_t::replace)) + "</script>\n";
  html += std::string("<script>") + web::kReportJs + "</script>\n</body></html>\n";
  return html;
}

namespace {

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The names write_report creates (and leftovers of earlier in-place writes): a folder holding
// only these may be replaced; anything else in it is someone's file, never deleted by us.
bool report_file_name(std::string_view n) {
  if (io::is_temp_name(n)) return true;
  if (const std::size_t t = n.find(".tmp."); t != std::string_view::npos && n.size() - t == 11) n = n.substr(0, t);
  if (n == "report.html" || n == "recording_summary.json") return true;
  if (n.starts_with("heatmap_L") && n.ends_with(".png")) {
    const std::string_view mid = n.substr(9, n.size() - 13);
    const std::size_t h = mid.find("_H");
    return h != std::string_view::npos && digits(mid.substr(0, h)) && digits(mid.substr(h + 2));
  }
  if (n.starts_with("graph_L")) {
    for (std::string_view ext : {".graphml", ".dot", ".json"})
      if (n.ends_with(ext)) return digits(n.substr(7, n.size() - 7 - ext.size()));
  }
  return false;
}

void check_replaceable(const std::string& dir) {
  std::error_code ec;
  const auto st = std::filesystem::symlink_status(dir, ec);
  if (ec || st.type() == std::filesystem::file_type::not_found) return;
  if (st.type() != std::filesystem::file_type::directory) detail::fail("write_report", "'", dir, "' exists and is not a folder");
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!report_file_name(name) || !e.is_regular_file())
      detail::fail("write_report", "'", dir, "' holds '", name, "', which is not part of an attend report; the report replaces the whole ",
                   "folder, so give a new or empty folder");
  }
  if (ec) detail::fail("write_report", "cannot list '", dir, "': ", ec.message());
}

// Writes every file of the report into `dir` (a fresh folder).
void write_report_files(const Recording& rec, const std::string& dir, const ReportOptions& opts) {
  const std::string html = report_html(rec, opts);
  json summary;
  summary["title"] = rec.title;
  summary["tokens"] = rec.tokens;
  summary["layers"] = json::array();
  std::vector<std::vector<double>> means;
  for (std::size_t l = 0; l < rec.layers.size(); ++l) {
    const LayerRecord& lr = rec.layers[l];
    json layer = {{"layer", l}, {"heads", json::array()}};
    for (std::int64_t h = 0; h < rec.heads; ++h) {
      json head = {{"head", h}};
      if (static_cast<std::int64_t>(lr.stats.size()) == rec.heads * rec.n) {
        Span<const RowStats> rows(lr.stats.data() + h * rec.n, static_cast<std::size_t>(rec.n));
        head["entropy_normalized"] = head_entropy(rows);
        head["sink_score"] = sink_score(rows);
      }
      if (rec.has_weights(static_cast<int>(l), static_cast<int>(h)) && static_cast<std::int64_t>(rec.token_ids.size()) == rec.n) {
        const auto t = head_type_scores(rec.weights(static_cast<int>(l), static_cast<int>(h)), rec.token_ids);
        head["previous_token"] = t.previous_token;
        head["duplicate_token"] = t.duplicate_token;
        head["induction"] = t.induction;
      }
      layer["heads"].push_back(head);
    }
    summary["layers"].push_back(layer);
    for (std::size_t k = 0; k < lr.full_heads.size(); ++k) {
      const std::string stem = dir + "/heatmap_L" + std::to_string(l) + "_H" + std::to_string(lr.full_heads[k]);
      write_png(stem + ".png", heatmap(lr.weights[k], rec.n));
    }
    if (!lr.full_heads.empty()) {
      means.push_back(layer_mean(rec, static_cast<int>(l)));
      std::vector<float> mean(means.back().begin(), means.back().end());
      const RoutingGraph g = routing_graph(mean, rec.n, rec.tokens, opts.graph_top_k, opts.graph_min_weight, 0,
                                           "layer " + std::to_string(l) + " mean");
      const std::string stem = dir + "/graph_L" + std::to_string(l);
      write_file_atomically(stem + ".graphml", to_graphml(g));
      write_file_atomically(stem + ".dot", to_dot(g));
      write_file_atomically(stem + ".json", to_json(g));
    }
  }
  if (means.size() == rec.layers.size() && !means.empty()) {
    // All rows for short inputs; else the last 32 query rows (the full product is O(L·N³) and N² numbers).
    std::vector<std::int64_t> rows;
    for (std::int64_t i = rec.n <= 512 ? 0 : rec.n - 32; i < rec.n; ++i) rows.push_back(i);
    summary["rollout_rows"] = rows;
    summary["rollout"] = rollout_rows(means, rec.n, rows);  // [rows, N] row-major
    if (rec.n <= 24) summary["attention_flow"] = attention_flow(means, rec.n);
    summary["rollout_note"] = "rollout and attention flow are heuristics over head-averaged attention, not causal attributions";
  }
  write_file_atomically(dir + "/recording_summary.json", summary.dump(1, ' ', false, json::error_handler_t::replace));
  write_file_atomically(dir + "/report.html", html);
}

}  // namespace

// The folder is written as one unit: every file goes into a temporary sibling folder, which then
// replaces `dir` in one rename (io::replace_folder), so a crash or a full disk leaves either the
// old report or the new one, never new heatmaps beside an old report.html.
std::string write_report(const Recording& rec, const std::string& dir_in, const ReportOptions& opts) {
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) detail::fail("write_report", "empty folder name");
  check_replaceable(dir);
  const std::string tmp = io::make_temp_folder(dir);
  try {
    write_report_files(rec, tmp, opts);
  } catch (...) {
    io::remove_tree(tmp);
    throw;
  }
  io::replace_folder(tmp, dir);
  return dir + "/report.html";
}

}  // namespace attend::observe
