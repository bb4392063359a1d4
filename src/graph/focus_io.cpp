// Link graphs for focus: CSV input (every field validated, errors name file and line) and a
// synthetic generator.
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "attend/graph.h"
#include "core/check.h"
#include "graph/csv_rows.h"

namespace attend::graph {
namespace {

std::string slurp(const std::string& path) {
  struct stat st {};  // regular files only: a FIFO would block, /dev/zero never end, a folder read as empty
  if (::stat(path.c_str(), &st) != 0) detail::fail("graph::read_links_csv", "cannot open '", path, "': ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) detail::fail("graph::read_links_csv", "'", path, "' is not a regular file");
  std::ifstream f(path, std::ios::binary);
  if (!f) detail::fail("graph::read_links_csv", "cannot open '", path, "'");
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

}  // namespace

LinkGraph read_links_csv(const std::string& links_path, const std::string& stakes_path) {
  return parse_links_csv(slurp(links_path), slurp(stakes_path), links_path, stakes_path);
}

LinkGraph parse_links_csv(std::string_view links, std::string_view stakes, const std::string& links_path,
                          const std::string& stakes_path) {
  LinkGraph g;
  std::unordered_map<std::string, std::uint32_t> neurons, particles;
  {
    internal::for_rows("graph::read_links_csv", stakes_path, stakes, "neuron,stake", 2, [&](const std::vector<std::string_view>& f, std::size_t line) {
      std::uint64_t v = 0;
      const auto [p, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), v);
      if (ec != std::errc() || p != f[1].data() + f[1].size())
        detail::fail("graph::read_links_csv", stakes_path, ":", line, ": stake '", f[1], "' is not an unsigned 64-bit integer");
      if (g.stake.size() >= 0xffffffffu) detail::fail("graph::read_links_csv", stakes_path, ":", line, ": too many neurons");
      const auto [it, fresh] = neurons.emplace(std::string(f[0]), static_cast<std::uint32_t>(g.stake.size()));
      if (!fresh) detail::fail("graph::read_links_csv", stakes_path, ":", line, ": neuron '", f[0], "' listed twice");
      g.stake.push_back(v);
      g.neuron_names.emplace_back(f[0]);
    });
  }
  internal::for_rows("graph::read_links_csv", links_path, links, "neuron,from,to", 3, [&](const std::vector<std::string_view>& f, std::size_t line) {
    const auto it = neurons.find(std::string(f[0]));
    if (it == neurons.end()) detail::fail("graph::read_links_csv", links_path, ":", line, ": neuron '", f[0], "' has no stake in ", stakes_path);
    auto particle = [&](std::string_view name) {
      const auto [pt, fresh] = particles.emplace(std::string(name), static_cast<std::uint32_t>(g.particle_names.size()));
      if (fresh) {
        if (g.particle_names.size() >= 0xffffffffu) detail::fail("graph::read_links_csv", links_path, ":", line, ": too many particles");
        g.particle_names.emplace_back(name);
      }
      return pt->second;
    };
    g.neuron.push_back(it->second);
    g.from.push_back(particle(f[1]));
    g.to.push_back(particle(f[2]));
  });
  g.neurons = static_cast<std::int64_t>(g.stake.size());
  g.particles = static_cast<std::int64_t>(g.particle_names.size());
  return g;
}

LinkGraph generate_links(std::int64_t links, std::int64_t particles, std::int64_t neurons, std::uint64_t seed) {
  if (links < 0 || particles < 1 || neurons < 1 || particles > 0xffffffffLL || neurons > 0xffffffffLL)
    detail::fail("graph::generate_links", "need links >= 0, 1 <= particles, neurons < 2^32, got ", links, ", ", particles, ", ", neurons);
  LinkGraph g;
  g.particles = particles;
  g.neurons = neurons;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  g.stake.resize(static_cast<std::size_t>(neurons));
  for (auto& s : g.stake) s = 1 + rng() % 1000000000ULL;
  g.neuron.resize(static_cast<std::size_t>(links));
  g.from.resize(g.neuron.size());
  g.to.resize(g.neuron.size());
  for (std::size_t i = 0; i < g.neuron.size(); ++i) {
    // Skewed targets (u³: a few popular particles), uniform sources and neurons.
    g.neuron[i] = static_cast<std::uint32_t>(rng() % static_cast<std::uint64_t>(neurons));
    g.from[i] = static_cast<std::uint32_t>(rng() % static_cast<std::uint64_t>(particles));
    const double x = u(rng);
    g.to[i] = static_cast<std::uint32_t>(std::min<double>(static_cast<double>(particles) - 1, x * x * x * static_cast<double>(particles)));
  }
  return g;
}

}  // namespace attend::graph
