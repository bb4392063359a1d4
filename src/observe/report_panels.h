#pragma once
// The report's analysis panels (head-similarity map, EMF operators and composition, attended-
// distance histograms, rollout / flow), added to the report's JSON by report.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/observe_report.h"

namespace attend::observe::detail_report {

std::string base64(const std::vector<std::uint8_t>& bytes);
// w in [0, 1] -> bytes round(255·√w), base64: keeps small weights visible at one byte per entry.
std::string quantize_sqrt_base64(const double* w, std::size_t count);
// Adds "headmap", "composition", "rollout" and per-full-head "hist" / "edges" to the report data d.
void add_panels(nlohmann::json& d, const Recording& rec, const ReportOptions& opts);

}  // namespace attend::observe::detail_report
