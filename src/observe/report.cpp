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

bool exact_layer(const Recording& rec, int l) {
  for (int h = 0; h < rec.heads; ++h)
    if (!rec.exact_weights(l, h).empty()) return true;
  return !rec.layer(l).full_heads.empty();
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

std::string report_json(const Recording& rec, const ReportOptions& opts) {
  if (rec.n < 1 || static_cast<std::int64_t>(rec.tokens.size()) != rec.n)
    detail::fail("report_json", rec.tokens.size(), " token strings for n=", rec.n);
  return detail_report::build_data(rec, opts).dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// The page around the report's JSON document `data`.
std::string html_page(const Recording& rec, const std::string& data) {
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  html += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
          "style-src 'unsafe-inline'; img-src data:\">\n";
  html += "<link rel=\"icon\" href=\"data:,\">\n<title>attend report: " + escape_html(rec.title) + "</title>\n";
  html += std::string("<style>") + web::kReportCss + "</style>\n</head><body>\n";
  html += "<h1>attend observatory</h1><div class=\"note\">prompt: <span id=\"title\"></span> · " + std::to_string(rec.n) +
          " tokens, " + std::to_string(rec.layers.size()) + " layers, " + std::to_string(rec.heads) + " heads</div>\n";
  html += web::kReportBody;  // the panels' static markup (web/report_body.html)
  html += "<script type=\"application/json\" id=\"attend-data\">" + json_for_script(data) + "</script>\n";
  html += std::string("<script>") + web::kReportPlotJs + "</script>\n<script>" + web::kReportPanelsJs + "</script>\n";
  html += std::string("<script>") + web::kReportJs + "</script>\n</body></html>\n";
  return html;
}

}  // namespace

std::string report_html(const Recording& rec, const ReportOptions& opts) {
  if (rec.n < 1 || static_cast<std::int64_t>(rec.tokens.size()) != rec.n)
    detail::fail("report_html", rec.tokens.size(), " token strings for n=", rec.n);
  return html_page(rec, report_json(rec, opts));
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
  if (n == "report.html" || n == "report.json" || n == "recording_summary.json") return true;
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
  const std::string data = report_json(rec, opts);
  const std::string html = html_page(rec, data);
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
      const detail_report::HeadSummary hs = detail_report::head_summary(rec, static_cast<int>(l), static_cast<int>(h));
      if (hs.has_stats) {
        head["entropy_normalized"] = hs.entropy;
        head["sink_score"] = hs.sink;
      }
      if (hs.scored) {
        head["previous_token"] = hs.types.previous_token;
        head["duplicate_token"] = hs.types.duplicate_token;
        head["induction"] = hs.types.induction;
      }
      layer["heads"].push_back(head);
    }
    summary["layers"].push_back(layer);
    for (std::size_t k = 0; k < lr.full_heads.size(); ++k) {
      const std::string stem = dir + "/heatmap_L" + std::to_string(l) + "_H" + std::to_string(lr.full_heads[k]);
      write_png(stem + ".png", heatmap(lr.weights[k], rec.n));
    }
    if (exact_layer(rec, static_cast<int>(l))) {
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
  write_file_atomically(dir + "/report.json", data);
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
