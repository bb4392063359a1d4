// attend focus: rank particles of a link graph (go-cyber x/rank, PageRank or the tri-kernel).
//   attend focus --links links.csv --stakes stakes.csv [--mode cyber|pagerank|trikernel] [--out ranks.csv] [--top K]
//   attend focus --generate N [--runs 5]     synthetic graph of N links; times build + rank
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "cli_paths.h"
#include "command.h"
#include "core/printable.h"

namespace attend::cli {
namespace {

struct Args {
  std::string links, stakes, out, mode = "cyber", heat = "laplacian";
  std::int64_t generate = 0;
  int runs = 1, threads = 0, top = 10;
  graph::FocusOptions o;
};

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

int run(const Args& a) {
  PathCheck("focus").input("--links", a.links).input("--stakes", a.stakes).output("--out", a.out, {".csv"}).check();
  graph::FocusOptions o = a.o;
  o.threads = a.threads;
  o.heat = a.heat == "random-walk" ? graph::HeatKernel::random_walk : graph::HeatKernel::laplacian;
  o.mode = a.mode == "pagerank" ? graph::FocusMode::pagerank : a.mode == "trikernel" ? graph::FocusMode::trikernel : graph::FocusMode::cyber;
  graph::LinkGraph g;
  if (a.generate > 0) {
    g = graph::generate_links(a.generate, std::max<std::int64_t>(1, a.generate / 10), std::max<std::int64_t>(1, a.generate / 100), 1);
  } else {
    if (a.links.empty() || a.stakes.empty()) throw UsageError("give --links and --stakes, or --generate N");
    g = graph::read_links_csv(a.links, a.stakes);
  }
  std::vector<double> times;
  graph::FocusResult r;
  for (int i = 0; i < a.runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    r = graph::focus(g, o);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  std::printf("focus %s: %zu links, %lld particles, %lld unique pairs, %d iterations\n", a.mode.c_str(), g.from.size(),
              static_cast<long long>(g.particles), static_cast<long long>(r.unique_pairs), r.iterations);
  std::printf("time (build + rank) median %.3f s, min %.3f, max %.3f over %d run(s); CSR %.1f MiB; peak RSS %.1f MiB\n",
              sorted[sorted.size() / 2], sorted.front(), sorted.back(), a.runs, static_cast<double>(r.memory_bytes) / 1048576.0, peak_rss_mib());
  if (!a.out.empty()) {
    std::ostringstream os;
    os << (o.mode == graph::FocusMode::cyber ? "particle,rank,entropy\n" : "particle,rank\n");
    os.precision(17);
    for (std::size_t i = 0; i < r.rank.size(); ++i) {
      os << (g.particle_names.empty() ? std::to_string(i) : g.particle_names[i]) << ',' << r.rank[i];
      if (o.mode == graph::FocusMode::cyber) os << ',' << r.entropy[i];
      os << '\n';
    }
    write_file_atomically(a.out, os.str());
  }
  // The top ranks on stdout (all of them go to --out): highest first, ties by particle index.
  std::vector<std::size_t> order(r.rank.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const std::size_t top = std::min(order.size(), static_cast<std::size_t>(a.top));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                    [&](std::size_t x, std::size_t y) { return r.rank[x] > r.rank[y] || (r.rank[x] == r.rank[y] && x < y); });
  if (top > 0) std::printf("top %zu of %zu particles by rank:\n", top, order.size());
  for (std::size_t k = 0; k < top; ++k) {
    const std::size_t i = order[k];
    std::printf("%4zu  %-24s %.6g\n", k + 1, (g.particle_names.empty() ? std::to_string(i) : g.particle_names[i]).c_str(), r.rank[i]);
  }
  if (o.mode == graph::FocusMode::cyber && a.generate == 0)
    for (std::size_t u = 0; u < r.karma.size() && u < 20; ++u) std::printf("karma %s %.6g\n", printable(g.neuron_names[u]).c_str(), r.karma[u]);
  return 0;
}

const bool registered = register_command("focus", "rank particles of a link graph (cyber, pagerank, trikernel)", [](CLI::App& sub) {
  auto a = std::make_shared<Args>();
  sub.add_option("--links", a->links, "CSV: neuron,from,to per line");
  sub.add_option("--stakes", a->stakes, "CSV: neuron,stake per line");
  sub.add_option("--mode", a->mode, "cyber | pagerank | trikernel")->check(CLI::IsMember({"cyber", "pagerank", "trikernel"}));
  sub.add_option("--out", a->out, "write ranks CSV (atomically)");
  sub.add_option("--top", a->top, "print the K highest-ranked particles (default 10; 0: none)")->check(CLI::NonNegativeNumber);
  sub.add_option("--generate", a->generate, "synthetic graph with N links (N/10 particles, N/100 neurons)")->check(CLI::PositiveNumber);
  sub.add_option("--runs", a->runs, "repeat and report the median time")->check(CLI::PositiveNumber);
  sub.add_option("--threads", a->threads, "worker threads (0 = all)")->check(CLI::NonNegativeNumber);
  sub.add_option("--damping", a->o.damping, "damping factor (0.85)");
  sub.add_option("--tolerance", a->o.tolerance, "L-infinity stopping tolerance");
  sub.add_option("--max-iter", a->o.max_iter, "iteration cap");
  sub.add_option("--w-diffusion", a->o.w_diffusion, "tri-kernel weight of the diffusion step");
  sub.add_option("--w-springs", a->o.w_springs, "tri-kernel weight of the screened-Laplacian solve");
  sub.add_option("--w-heat", a->o.w_heat, "tri-kernel weight of the heat-kernel step");
  sub.add_option("--screening", a->o.screening, "tri-kernel mu in (L + mu I) s = mu phi");
  sub.add_option("--heat-time", a->o.heat_time, "tri-kernel t in exp(-t G)");
  sub.add_option("--heat", a->heat, "tri-kernel heat operator G: laplacian (L = D - A, the specification's) | random-walk (I - P^T)")
      ->check(CLI::IsMember({"laplacian", "random-walk"}))->capture_default_str();
  sub.add_option("--heat-terms", a->o.heat_terms, "tri-kernel heat series terms (0: until the tail is < 1e-15)");
  return [a] { return run(*a); };
});

}  // namespace
}  // namespace attend::cli
