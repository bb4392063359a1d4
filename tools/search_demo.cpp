// The trained search model (the graph-search task of Saparov et al., ICLR 2025) for `attend demo`,
// `attend graph-demo --trained`, `attend train --task search` and `attend eval --task search`:
// accuracy by lookahead on held-out balanced graphs, the path-merging probe against the constructed
// pattern, and the observatory report of its attention on one problem.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "attend/attend.h"
#include "graph_demo.h"

namespace attend::cli {

void print_search_summary(const nn::Model& model, int problems) {
  const std::int64_t S = model.config().context;
  const int max_la = graph::max_search_lookahead(S);
  problems = std::clamp(problems, 1, graph::kSearchHeldOut);
  std::printf("  held-out accuracy by lookahead (%d balanced graphs each, Saparov et al.'s distribution at max input %lld;\n"
              "  chance = mean 1 / out-degree of the current vertex):\n", problems, static_cast<long long>(S));
  for (int la = 1; la <= max_la; ++la) {
    const graph::SearchEval e = graph::search_eval(model, la, problems);
    std::printf("    lookahead %d: %5.1f%%  (chance %4.1f%%; answers that are an out-neighbour %5.1f%%, the goal itself %5.1f%%)\n", la,
                100 * e.accuracy, 100 * e.chance, 100 * e.neighbour, 100 * e.goal);
  }
  // Probe at the largest lookahead, where merging has the most to do; the constructed pattern on
  // the same examples is the reference (its forward reach at layer l is 2^l).
  const int probe_n = std::min(problems, 50);
  const graph::SearchProbe p = graph::probe_search_model(model, max_la, probe_n);
  std::vector<graph::SearchExample> xs;
  std::vector<observe::Recording> cons;
  for (int k = 0; k < probe_n; ++k) {
    xs.push_back(graph::search_held_out(S, max_la, k));
    cons.push_back(graph::constructed_search_recording(xs.back(), S, static_cast<int>(model.config().layers)));
  }
  const graph::SearchProbe c = graph::probe_search(xs, cons);
  std::printf("  probe (lookahead %d, %d graphs): attention between edge-list vertex tokens by hop distance d of the\n"
              "  key's vertex from the query's (forward: query reaches key; backward: key reaches query). Reach = the\n"
              "  largest d whose share is >= 2x uniform and >= 0.01. Per layer: reach of each head, then the best head's shares d=1..4\n",
              max_la, probe_n);
  std::printf("  flow reach (hop distance of the vertices whose tokens feed an edge-list vertex token through focused\n"
              "  attention, composed over layers; mean over tokens; path-merging doubles it per layer):\n");
  for (std::size_t l = 0; l < p.layers.size(); ++l)
    std::printf("    after layer %zu: forward %.2f  backward %.2f   (constructed pattern: forward %.2f)\n", l, p.flow_forward[l],
                p.flow_backward[l], c.flow_forward[l]);
  for (std::size_t l = 0; l < p.layers.size(); ++l) {
    const auto& t = p.layers[l];
    auto best = [&](const std::vector<int>& reach) { return static_cast<std::size_t>(std::max_element(reach.begin(), reach.end()) - reach.begin()); };
    const std::size_t bf = best(t.forward_reach), bb = best(t.backward_reach);
    std::printf("    layer %zu  forward reach", l);
    for (int r : t.forward_reach) std::printf(" %d", r);
    std::printf("  (constructed %d) | backward reach", c.layers[l].forward_reach[0]);
    for (int r : t.backward_reach) std::printf(" %d", r);
    std::printf("\n      head %zu fwd", bf);
    for (std::size_t d = 1; d <= 4 && d < t.forward_uniform.size(); ++d)
      std::printf(" %.2f/%.2f", t.forward[bf][d], t.forward_uniform[d]);
    std::printf("   head %zu bwd", bb);
    for (std::size_t d = 1; d <= 4 && d < t.backward_uniform.size(); ++d)
      std::printf(" %.2f/%.2f", t.backward[bb][d], t.backward_uniform[d]);
    std::printf("   (share/uniform)\n");
  }
}

int run_search_demo(int threads, const std::string& out_dir, const std::string& model_path) {
  if (threads > 0) set_num_threads(threads);
  std::printf("\n4. a transformer trained by attend on graph search (Saparov et al.'s balanced distribution)\n");
  std::string path = model_path;
#ifdef ATTEND_SOURCE_DIR
  if (!std::filesystem::exists(path) && std::filesystem::path(path).is_relative())
    path = std::string(ATTEND_SOURCE_DIR) + "/" + model_path;  // the checkout this binary was built from
#endif
  if (!std::filesystem::exists(path)) {
    std::printf("  %s not found (it is committed under data/search/; run from the repository root)\n", model_path.c_str());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const nn::Model model = nn::Model::load(path);
  const nn::ModelConfig& c = model.config();
  std::printf("  %s: %lld layers, width %lld, %lld heads, context %lld (bench/RESULTS.md: how it was trained)\n", path.c_str(),
              static_cast<long long>(c.layers), static_cast<long long>(c.d_model), static_cast<long long>(c.heads),
              static_cast<long long>(c.context));
  print_search_summary(model, 200);
  std::filesystem::create_directories(out_dir);
  const graph::SearchExample x = graph::search_held_out(c.context, graph::max_search_lookahead(c.context), 0);
  const std::string report = observe::write_report(graph::record_search(model, x), out_dir + "/search-report");
  std::printf("  its attention on one held-out problem (observatory report: every layer and head, routing graphs): %s\n", report.c_str());
  std::printf("  (%.1f s)\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace attend::cli
