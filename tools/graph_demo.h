#pragma once
// `attend graph-demo`: path-merging search, diffusion/focus and token flow on built-in data.
#include <cstdint>
#include <string>
#include <vector>

#include "attend/graph.h"
#include "attend/model.h"

namespace attend::cli {
// out_dir non-empty: also writes OUT_DIR/token_flow.html (trajectories and cluster count).
int run_graph_demo(const std::string& out_dir = {});

// tools/search_demo.cpp: held-out accuracy by lookahead (`problems` per lookahead) and the
// path-merging probe of a search model (context = the task's maximum input).
void print_search_summary(const nn::Model& model, int problems);
// Loads the committed search model (kSearchModelPath, relative to the repository root), prints its
// summary and writes OUT_DIR/search-report/ (observatory report of its attention on one graph).
constexpr const char* kSearchModelPath = "data/search/search.safetensors";
int run_search_demo(int threads, const std::string& out_dir, const std::string& model_path = kSearchModelPath);

// tools/semcon_demo.cpp: the k-head semcon construction on a random typed graph (or links_csv:
// neuron,from,to,type) and, when fit_steps > 0, trained layers with k and k − 1 heads.
struct SemconDemoOptions {
  std::string links_csv;
  int fit_steps = 0, fit_n = 8, fit_seeds = 1;
  std::vector<int> fit_types{2, 3};
};
int run_semcon_demo(const SemconDemoOptions& opts);

// tools/flow_view.cpp: a self-contained HTML page (inline SVG) of a token-flow run kept with
// FlowOptions::keep_path: particle trajectories projected on the first two axes, coloured by final
// cluster, and the cluster count and mean cosine per step. Written atomically.
void write_flow_view(const std::string& path, const graph::FlowOptions& opts, const graph::FlowTrace& trace);
}  // namespace attend::cli
