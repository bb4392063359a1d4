#pragma once
// Output for people: PNG heatmaps and the self-contained HTML report (no CDN; works from file://).
// The report is one JSON document (report_json) rendered by web/report.js; report_html embeds both,
// so a server can send the same JSON to the same page.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "attend/image.h"
#include "attend/observe.h"
#include "attend/observe_interp.h"
#include "attend/observe_metrics.h"

namespace attend::observe {

// a: [N, N] weights -> an image with `cell` pixels per entry (cells shrink so the side <= max_side).
Image heatmap(Span<const float> a, std::int64_t n, int max_side = 1024);

// The residual stream as a flow (lab::residual_flow fills it): per layer the mean norm of the
// tokens' updates and of their attention and MLP parts, W₂ between the clouds entering and leaving
// the block (-1: not computed), clusters on the sphere, and the last token against the predicted
// token's unembedding u; update[l] holds every token's update norm.
struct FlowPanel {
  int predicted = -1, clusters_embedded = 0;
  double embedded_last_cos = 0, cluster_cos = 0.9;
  std::vector<double> mean_update, mean_attention, mean_mlp, w2, last_cos, last_attention_along, last_mlp_along;  // [L]
  std::vector<int> clusters;                  // [L]
  std::vector<std::vector<double>> update;    // [L][N]
};

struct ReportOptions {
  int graph_top_k = 2;            // routing-graph pruning (per query)
  double graph_min_weight = 0.05;
  std::vector<HeadOperators> operators;  // optional EMF operators, [L * H] in layer-major order
  std::vector<Composition> composition;  // optional [L·H, L·H] (e.g. emf_factored's); empty: from `operators` (dense)
  std::string emf_note;                  // how the operators were computed (shown with the panel)
  // Optional analyses of a real model (src/lab fills them; each has a panel in the page).
  std::optional<Predictions> predictions;
  std::optional<Predictions> baseline_predictions;  // the same prompt without the intervention
  std::string intervention;                         // e.g. "zero-ablated L0H1, L1H3"
  std::optional<LogitLens> lens;
  std::optional<Attribution> attribution;
  std::optional<HeadDetectors> detectors;
  std::optional<Comparison> comparison;
  std::optional<FlowPanel> flow;
  std::map<int, std::string> token_text;  // text of the token ids the analyses name
  // Query rows whose attention rollout the report holds. Empty: every row when N <= 512 (else the
  // last 32); rows beyond the recorded full matrices come from rollout_rows_exact.
  std::vector<std::int64_t> rollout_rows;
};

// Escaping for token text: in HTML text / attributes, and inside a JSON string that sits in a
// <script> element ('<', '>', '&', U+2028, U+2029 written as \u escapes).
std::string escape_html(const std::string& s);
std::string json_for_script(const std::string& json_text);

// The report's data: one JSON document (what web/report.js renders).
std::string report_json(const Recording& rec, const ReportOptions& opts = {});
// The report as one HTML string (CSS and JS embedded from web/ at build time, the JSON inline).
std::string report_html(const Recording& rec, const ReportOptions& opts = {});
// Writes DIR/report.html, DIR/report.json, DIR/heatmap_L<l>_H<h>.png per head recorded in full,
// DIR/graph_L<l>.{graphml,dot,json} and DIR/recording_summary.json, each atomically; creates DIR.
// Returns the report's path.
std::string write_report(const Recording& rec, const std::string& dir, const ReportOptions& opts = {});

}  // namespace attend::observe
