#pragma once
// The report's data (one JSON document) is assembled in three files: report_data.cpp (tokens,
// overview, heads' matrices and thumbnails, graphs, trajectory, EMF), report_panels.cpp (head
// similarity, composition, distance histograms, rollout / flow) and report_interp.cpp (predictions,
// logit lens, direct logit attribution, head detectors, the comparison of two runs).
#include <cstdint>
#include "attend/span.h"
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/observe_metrics.h"
#include "attend/observe_report.h"

namespace attend::observe::detail_report {

std::string base64(const std::vector<std::uint8_t>& bytes);
// w in [0, 1] -> bytes round(255·√w), base64: keeps small weights visible at one byte per entry.
std::string quantize_sqrt_base64(const double* w, std::size_t count);
std::string quantize_sqrt_base64(Span<const float> w);
// x rounded to `digits` significant digits (null when not finite): keeps the JSON short.
nlohmann::json num(double x, int digits = 5);
nlohmann::json nums(Span<const float> x, int digits = 5);
nlohmann::json nums(Span<const double> x, int digits = 5);

// One head's summary, the same for every output (the report's overview and
// recording_summary.json): entropy and sink mass from the kernel's row statistics (every head),
// head-type scores where the head's exact weights were kept.
struct HeadSummary {
  bool has_stats = false, scored = false;
  double entropy = 0, sink = 0;
  HeadTypeScores types;
};
HeadSummary head_summary(const Recording& rec, int layer, int head);

nlohmann::json build_data(const Recording& rec, const ReportOptions& opts);
// Adds "headmap", "composition", "rollout" and per-full-head "hist" / "hist_edges" to d.
void add_panels(nlohmann::json& d, const Recording& rec, const ReportOptions& opts);
// Adds "predictions", "lens", "dla", "detectors", "comparison", "token_text", "intervention" to d.
void add_interp_panels(nlohmann::json& d, const Recording& rec, const ReportOptions& opts);

}  // namespace attend::observe::detail_report
