// attend graph-demo: three views of attention on graphs (search by path merging, diffusion, flow) on
// built-in data.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include "attend/attend.h"
#include "command.h"
#include "graph_demo.h"

namespace attend::cli {

int run_graph_demo(const std::string& out_dir) {
  std::printf("1. path-merging search (constructed transformer: merge layers and a choice layer, all attention by attend::attention)\n");
  std::mt19937_64 rng(8);
  const graph::SearchProblem p = graph::balanced_example(50, 6, 15, rng).problem;  // Saparov et al.'s balanced graph, lookahead 6
  const int distance = graph::bfs_distance(p, p.path.back(), p.goal);
  const int layers = graph::layers_needed(p);
  const graph::MergeTrace t = graph::path_merge(p, layers);
  std::printf("  balanced graph (lookahead 6): %zu edges, start %d, goal %d at distance %d -> %d merge layer(s) (2^%d >= %d)\n",
              p.edges.size(), p.start, p.goal, distance, layers, layers, distance - 1);
  for (std::size_t l = 0; l < t.sets.size(); ++l)
    std::printf("  after layer %zu: the start reaches %zu vertices (itself included)\n", l, t.sets[l][static_cast<std::size_t>(p.start)].size());
  const auto bfs = graph::bfs_answers(p);
  std::printf("  choice layer: next vertex %d (weight %.3f; BFS answers:", t.answer, t.answer >= 0 ? t.choice[static_cast<std::size_t>(t.answer)] : 0.0f);
  for (int w : bfs) std::printf(" %d", w);
  const graph::MergeTrace fewer = graph::path_merge(p, std::max(0, layers - 1));
  std::printf("); with %d merge layer(s) the choice is %d (-1: the none key)\n", std::max(0, layers - 1), fewer.answer);

  std::printf("2. diffusion\n");
  std::vector<float> q(16 * 8), k(16 * 8);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = (static_cast<float>(i * 37 % 17) - 8) / 8.0f, k[i] = (static_cast<float>(i * 53 % 19) - 9) / 9.0f;
  const auto m = graph::markov_stationary(graph::attention_matrix(q, k, 16, 8, 0.5f), 16);
  std::printf("  16-token attention matrix: pi*[0..3] = %.4f %.4f %.4f %.4f, spectral gap %.4f\n", m.pi[0], m.pi[1], m.pi[2], m.pi[3], 1 - m.lambda2);
  graph::DeqLayer L;
  L.n = 16, L.d = 8, L.x = q, L.gamma = 0.85f;
  L.wq.assign(64, 0.0f), L.wk = L.wq, L.wv = L.wq;
  for (int i = 0; i < 64; ++i) L.wq[static_cast<std::size_t>(i)] = static_cast<float>(i % 7) / 20.0f, L.wk[static_cast<std::size_t>(i)] = static_cast<float>(i % 5) / 20.0f, L.wv[static_cast<std::size_t>(i)] = static_cast<float>((i % 9) - 4) / 40.0f;
  const auto plain = graph::deq_solve(L, 1e-6, 500, 0), anderson = graph::deq_solve(L, 1e-6, 500, 5);
  std::printf("  DEQ fixed point: plain %zu iterations, Anderson(5) %zu (residual %.2g, %.2g)\n", plain.residuals.size(),
              anderson.residuals.size(), plain.residuals.back(), anderson.residuals.back());
  const graph::LinkGraph g = graph::generate_links(20000, 2000, 200, 5);
  for (auto mode : {graph::FocusMode::cyber, graph::FocusMode::pagerank, graph::FocusMode::trikernel}) {
    graph::FocusOptions o;
    o.mode = mode;
    o.tolerance = 1e-10;
    const auto r = graph::focus(g, o);
    std::printf("  focus %-9s on 20000 links: %d iterations, rank[0] %.3g\n",
                mode == graph::FocusMode::cyber ? "cyber" : mode == graph::FocusMode::pagerank ? "pagerank" : "trikernel", r.iterations, r.rank[0]);
  }

  std::printf("3. flow\n");
  std::vector<float> s(8 * 8);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<float>((i * 29 % 13)) / 4.0f;
  const auto sk = graph::sinkhorn(s, 8, 1.0f, 50);
  std::printf("  Sinkhorn 8x8: max |row/col sum - 1| after 1 round %.3g, after 50 %.3g\n", sk.deviation.front(), sk.deviation.back());
  graph::FlowOptions fo;
  fo.unnormalised = true, fo.steps = 200, fo.keep_path = !out_dir.empty();
  const auto fl = graph::token_flow(fo);
  for (int st = 0; st <= fo.steps; st += 50)
    std::printf("  step %3d: %2d clusters, mean cos %.3f, energy %.4f\n", st, fl.clusters[static_cast<std::size_t>(st)],
                fl.mean_cos[static_cast<std::size_t>(st)], fl.energy[static_cast<std::size_t>(st)]);
  if (!out_dir.empty()) {
    std::filesystem::create_directories(out_dir);
    write_flow_view(out_dir + "/token_flow.html", fo, fl);
    std::printf("  trajectories and cluster count: %s/token_flow.html\n", out_dir.c_str());
  }
  return 0;
}

namespace {
const bool registered = register_command("graph-demo", "path-merging search, focus diffusion and token flow on built-in data",
                                         [](CLI::App& sub) {
                                           auto trained = std::make_shared<bool>(false);
                                           auto threads = std::make_shared<int>(0);
                                           auto semcon = std::make_shared<SemconDemoOptions>();
                                           semcon->fit_steps = 1500;
                                           sub.add_option("--typed-links", semcon->links_csv, "semcon part on this CSV (neuron,from,to,type)");
                                           sub.add_option("--semcon-steps", semcon->fit_steps, "training steps of the k vs k-1 head layers (0: skip)")
                                               ->check(CLI::NonNegativeNumber);
                                           sub.add_option("--semcon-seeds", semcon->fit_seeds, "seeds per (types, heads)")->check(CLI::PositiveNumber);
                                           sub.add_option("--semcon-types", semcon->fit_types, "link type counts to train")->delimiter(',')->check(CLI::Range(2, 8));
                                           sub.add_flag("--trained", *trained, "also evaluate the committed trained search model (as attend demo does)");
                                           sub.add_option("--threads", *threads, "worker threads (0 = all)")->check(CLI::NonNegativeNumber);
                                           return [trained, threads, semcon] {
                                             const int rc = run_graph_demo("attend-demo") | run_semcon_demo(*semcon);
                                             return *trained ? rc | run_search_demo(*threads, "attend-demo") : rc;
                                           };
                                         });
}  // namespace

}  // namespace attend::cli
