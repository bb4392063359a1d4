#pragma once
// Output for people: PNG heatmaps and the self-contained HTML report (no CDN; works from file://).
#include <string>
#include <vector>

#include "attend/image.h"
#include "attend/observe.h"
#include "attend/observe_metrics.h"

namespace attend::observe {

// a: [N, N] weights -> an image with `cell` pixels per entry (cells shrink so the side <= max_side).
Image heatmap(Span<const float> a, std::int64_t n, int max_side = 1024);

struct ReportOptions {
  int graph_top_k = 2;            // routing-graph pruning (per query)
  double graph_min_weight = 0.05;
  std::vector<HeadOperators> operators;  // optional EMF operators, [L * H] in layer-major order
};

// Escaping for token text: in HTML text / attributes, and inside a JSON string that sits in a
// <script> element ('<', '>', '&', U+2028, U+2029 written as \u escapes).
std::string escape_html(const std::string& s);
std::string json_for_script(const std::string& json_text);

// The report as one HTML string (CSS and JS embedded from web/ at build time).
std::string report_html(const Recording& rec, const ReportOptions& opts = {});
// Writes DIR/report.html, DIR/heatmap_L<l>_H<h>.png per full head, DIR/graph_L<l>.{graphml,dot,json}
// and DIR/recording_summary.json, each atomically; creates DIR. Returns the report's path.
std::string write_report(const Recording& rec, const std::string& dir, const ReportOptions& opts = {});

}  // namespace attend::observe
