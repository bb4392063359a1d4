// The routing graph: tokens as nodes, attention as weighted directed edges (each forward pass builds
// such a graph of token influence: attention as a routing primitive), with GraphML, DOT and JSON
// exports.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "attend/observe_metrics.h"
#include "core/check.h"
#include "core/printable.h"

namespace attend::observe {
namespace {

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

// Token labels are arbitrary bytes (one byte of a multi-byte character on a byte-level model,
// control bytes, NUL). printable() turns them into valid UTF-8 without control characters or
// U+FFFE/U+FFFF (invalid bytes and controls become visible escapes such as \xC3 or \n), which
// XML 1.0 and DOT both accept; then the format's own metacharacters are escaped.
std::string escape_xml(const std::string& raw) {
  std::string out;
  for (char c : printable(raw)) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_dot(const std::string& raw) {
  std::string out;
  for (char c : printable(raw)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

RoutingGraph routing_graph(Span<const float> a, std::int64_t n, const std::vector<std::string>& tokens, int top_k,
                           double min_weight, double mass, std::string name) {
  if (n < 0 || static_cast<std::int64_t>(a.size()) != n * n)
    detail::fail("routing_graph", "matrix has ", a.size(), " entries, expected n*n with n=", n);
  if (static_cast<std::int64_t>(tokens.size()) != n) detail::fail("routing_graph", tokens.size(), " token labels for n=", n);
  RoutingGraph g{std::move(name), tokens, {}};
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = a.data() + i * n;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) { return row[x] > row[y]; });
    const std::int64_t keep = top_k > 0 ? std::min<std::int64_t>(top_k, n) : n;
    double cum = 0;
    for (std::int64_t r = 0; r < keep; ++r) {
      const std::int64_t j = order[static_cast<std::size_t>(r)];
      if (row[j] <= 0 || row[j] < min_weight) break;
      g.edges.push_back({j, i, row[j]});
      cum += row[j];
      if (mass > 0 && cum >= mass) break;
    }
  }
  return g;
}

std::string to_graphml(const RoutingGraph& g) {
  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n"
     << "  <key id=\"label\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>\n"
     << "  <key id=\"weight\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>\n"
     << "  <graph id=\"" << escape_xml(g.name.empty() ? "attention" : g.name) << "\" edgedefault=\"directed\">\n";
  for (std::size_t i = 0; i < g.tokens.size(); ++i)
    os << "    <node id=\"t" << i << "\"><data key=\"label\">" << escape_xml(g.tokens[i]) << "</data></node>\n";
  for (const Edge& e : g.edges)
    os << "    <edge source=\"t" << e.from << "\" target=\"t" << e.to << "\"><data key=\"weight\">" << number(e.weight)
       << "</data></edge>\n";
  os << "  </graph>\n</graphml>\n";
  return os.str();
}

std::string to_dot(const RoutingGraph& g) {
  std::ostringstream os;
  os << "digraph \"" << escape_dot(g.name.empty() ? "attention" : g.name) << "\" {\n  rankdir=LR;\n";
  for (std::size_t i = 0; i < g.tokens.size(); ++i)
    os << "  t" << i << " [label=\"" << i << ": " << escape_dot(g.tokens[i]) << "\"];\n";
  for (const Edge& e : g.edges)
    os << "  t" << e.from << " -> t" << e.to << " [weight=" << number(e.weight) << ", penwidth=" << number(0.5 + 4 * e.weight)
       << "];\n";
  os << "}\n";
  return os.str();
}

std::string to_json(const RoutingGraph& g) {
  nlohmann::json j;
  j["name"] = g.name;
  j["directed"] = true;
  j["nodes"] = nlohmann::json::array();
  for (std::size_t i = 0; i < g.tokens.size(); ++i) j["nodes"].push_back({{"id", i}, {"label", g.tokens[i]}});
  j["edges"] = nlohmann::json::array();
  for (const Edge& e : g.edges) j["edges"].push_back({{"source", e.from}, {"target", e.to}, {"weight", e.weight}});
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace attend::observe
