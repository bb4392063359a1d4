// Token flow on the sphere as a self-contained HTML page (inline SVG, no scripts, no network).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "attend/io.h"
#include "core/check.h"
#include "graph_demo.h"

namespace attend::cli {
namespace {

std::string num(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", x);
  return b;
}

}  // namespace

void write_flow_view(const std::string& path, const graph::FlowOptions& o, const graph::FlowTrace& t) {
  const std::size_t nd = static_cast<std::size_t>(o.n) * static_cast<std::size_t>(o.d), steps = t.clusters.size();
  if (o.n < 1 || o.d < 2 || steps < 1 || t.path.size() != steps * nd || t.mean_cos.size() != steps)
    detail::fail("write_flow_view", "need a trace kept with keep_path: ", t.path.size(), " path floats for ", steps, " steps of [",
                 o.n, ", ", o.d, "]");
  static const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
  const auto label = graph::cluster_labels(t.x, o.n, o.d, o.cluster_cos);
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='860' height='420' font-family='sans-serif' font-size='12'>";
  // Left: trajectories, (x0, x1) of each particle on the unit disc; a dot marks the end.
  svg += "<circle cx='200' cy='210' r='180' fill='none' stroke='#bbb'/>";
  for (int i = 0; i < o.n; ++i) {
    const char* col = kColours[static_cast<std::size_t>(label[static_cast<std::size_t>(i)]) % 8];
    std::string pts;
    for (std::size_t s = 0; s < steps; ++s) {
      const float* p = t.path.data() + s * nd + static_cast<std::size_t>(i) * static_cast<std::size_t>(o.d);
      pts += num(200 + 180 * p[0]) + "," + num(210 - 180 * p[1]) + " ";
    }
    svg += "<polyline fill='none' stroke-opacity='0.6' stroke='" + std::string(col) + "' points='" + pts + "'/>";
    const float* e = t.x.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(o.d);
    svg += "<circle r='3' fill='" + std::string(col) + "' cx='" + num(200 + 180 * e[0]) + "' cy='" + num(210 - 180 * e[1]) + "'/>";
  }
  svg += "<text x='20' y='20'>trajectories (first two coordinates), colour = final cluster</text>";
  // Right: cluster count (blue, left axis 0..n) and mean cosine (red, −1..1) per step.
  const double x0 = 460, x1 = 840, y0 = 380, y1 = 40;
  svg += "<rect x='460' y='40' width='380' height='340' fill='none' stroke='#888'/>";
  std::string cl, mc;
  const int cmax = std::max(1, *std::max_element(t.clusters.begin(), t.clusters.end()));
  for (std::size_t s = 0; s < steps; ++s) {
    const double x = x0 + (x1 - x0) * static_cast<double>(s) / static_cast<double>(std::max<std::size_t>(1, steps - 1));
    cl += num(x) + "," + num(y0 + (y1 - y0) * t.clusters[s] / cmax) + " ";
    mc += num(x) + "," + num(y0 + (y1 - y0) * (t.mean_cos[s] + 1) / 2) + " ";
  }
  svg += "<polyline fill='none' stroke='#1f77b4' stroke-width='2' points='" + cl + "'/>";
  svg += "<polyline fill='none' stroke='#d62728' stroke-width='2' points='" + mc + "'/>";
  svg += "<text x='460' y='30'>clusters (blue, 0.." + std::to_string(cmax) + ") and mean cosine (red, -1..1) over " +
         std::to_string(steps - 1) + " steps</text>";
  svg += "<text x='460' y='400'>step 0</text><text x='800' y='400'>" + std::to_string(steps - 1) + "</text></svg>";
  char head[256];
  std::snprintf(head, sizeof head, "n = %d tokens, d = %d, beta = %.2f, dt = %.3f, %s, Q = K = V = %s; clusters at the end: %d", o.n, o.d,
                static_cast<double>(o.beta), static_cast<double>(o.dt), o.unnormalised ? "unnormalised" : "softmax",
                o.identity ? "I" : "random", t.clusters.back());
  const std::string html = "<!doctype html><html><head><meta charset='utf-8'><title>attend: token flow on the sphere</title></head>"
                           "<body><h1>Self-attention dynamics on the sphere</h1><p>" +
                           std::string(head) + "</p>" + svg + "</body></html>\n";
  write_file_atomically(path, html);
}

}  // namespace attend::cli
