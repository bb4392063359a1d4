// The trained search model (the graph-search task of Saparov et al., ICLR 2025) for `attend demo` and `attend train --task search`:
// accuracy by lookahead on held-out graphs, the path-merging probe against the constructed
// pattern, and the observatory report of its attention on one problem.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "attend/attend.h"
#include "graph_demo.h"

namespace attend::cli {

void print_search_summary(const nn::Model& model, int problems, std::uint64_t seed) {
  const std::int64_t V = model.config().vocab, T = model.config().context;
  const int max_la = graph::max_search_lookahead(V, T);
  std::printf("  held-out accuracy by lookahead (%d graphs each; chance %.0f%% among the start's %d out-neighbours):\n", problems,
              100.0 / graph::kSearchBranches, graph::kSearchBranches);
  for (int la = 1; la <= max_la; ++la) {
    const graph::SearchEval e = graph::search_eval(model, la, problems, seed);
    std::printf("    lookahead %d: %5.1f%%   (answers that are an out-neighbour of the start %5.1f%%, the goal itself %5.1f%%)\n", la,
                100 * e.accuracy, 100 * e.neighbour, 100 * e.goal);
  }
  // Probe at the largest lookahead, where merging has the most to do; the constructed pattern on
  // the same problems is the reference (forward share 1, backward 0 by construction).
  const int probe_n = std::min(problems, 50);
  const graph::SearchProbe p = graph::probe_search_model(model, max_la, probe_n, seed);
  std::vector<graph::SearchProblem> ps;
  std::vector<observe::Recording> cons;
  for (int k = 0; k < probe_n; ++k) {
    ps.push_back(graph::search_problem(max_la, V, seed + 977u * static_cast<std::uint64_t>(k)));
    cons.push_back(graph::constructed_search_recording(ps.back(), V, static_cast<int>(model.config().layers)));
  }
  const graph::SearchProbe c = graph::probe_search(ps, cons);
  std::printf("  probe (lookahead %d, %d graphs): share of attention between edge-list vertex tokens that lands on\n"
              "  vertices the query already reaches (forward) / that reach it (backward) within 2^layer hops:\n", max_la, probe_n);
  std::printf("    layer  best-head forward  uniform  constructed | best-head backward  uniform  constructed\n");
  for (std::size_t l = 0; l < p.layers.size(); ++l) {
    const auto& t = p.layers[l];
    const auto bf = std::max_element(t.forward.begin(), t.forward.end()), bb = std::max_element(t.backward.begin(), t.backward.end());
    std::printf("    %5zu  %8.2f (head %td)  %7.2f  %11.2f | %9.2f (head %td)  %7.2f  %11.2f\n", l, *bf, bf - t.forward.begin(),
                t.forward_uniform, c.layers[l].forward[0], *bb, bb - t.backward.begin(), t.backward_uniform, c.layers[l].backward[0]);
  }
  std::printf("  (a share well above uniform in some layer means that layer routes between reachable vertices;\n"
              "   the constructed model's pattern is forward-only)\n");
}

int run_search_demo(int threads, const std::string& out_dir) {
  if (threads > 0) set_num_threads(threads);
  std::printf("\n4. a transformer trained on the search task (attend's Trainer; balanced graphs, lookahead 1-3)\n");
  nn::ModelConfig c;
  c.vocab = 20;    // 16 vertex labels + E, Q, P, pad
  c.context = 32;  // lookahead up to 3
  c.d_model = 64;
  c.layers = 2;
  c.heads = 4;
  c.kv_heads = 4;
  c.d_ff = 128;
  nn::Model model(c, 1);
  const nn::TaskData data(nn::Task::search, c.vocab, c.context);
  nn::TrainConfig tc;
  tc.steps = 400;
  tc.batch = 32;
  tc.lr = 3e-3f;
  tc.warmup = 30;
  tc.weight_decay = 0;
  const auto t0 = std::chrono::steady_clock::now();
  nn::Trainer trainer(model, data, tc);
  trainer.run();
  std::printf("  trained %lld steps of %lld graphs in %.1f s (final loss %.3f)\n", static_cast<long long>(tc.steps),
              static_cast<long long>(tc.batch), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              trainer.curve().back().loss);
  print_search_summary(model, 200, 2026);
  std::filesystem::create_directories(out_dir);
  const graph::SearchProblem p = graph::search_problem(3, c.vocab, 11);
  const std::string report = observe::write_report(graph::record_search(model, p), out_dir + "/search-report");
  model.save(out_dir + "/search.safetensors");
  std::printf("  its attention on one problem (observatory report, routing graphs): %s\n", report.c_str());
  std::printf("  longer run (bench/RESULTS.md): attend train --task search --vocab 20 --seq-len 32 --d-model 64 --layers 2 --heads 4 \\\n"
              "    --d-ff 128 --steps 1500 --batch 32 --lr 3e-3 --weight-decay 0 --warmup 30 --out search.safetensors\n");
  return 0;
}

}  // namespace attend::cli
