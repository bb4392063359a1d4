#pragma once
// One fuzz input for each parser target. The libFuzzer targets (fuzz_*.cpp) call these, and the
// gtest FuzzRegressions.* replays every checked-in corpus and regression input through the same
// functions in the normal and sanitizer builds. Each must accept or throw attend::Error: any other
// exception, crash, leak or sanitizer report is a bug. Each returns whether the input was accepted.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attend/error.h"
#include "attend/graph.h"
#include "attend/model.h"
#include "attend/safetensors.h"
#include "nn/model_impl.h"
#include "nn/model_io.h"

namespace attend::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

// safetensors: parse; a parsed file must serialise (as F32) and parse back to the same tensors.
inline bool safetensors_input(std::string_view bytes) {
  SafetensorsFile f;
  try {
    f = parse_safetensors(bytes, "fuzz");
  } catch (const Error&) {
    return false;
  }
  std::vector<SafeTensorRef> refs;
  for (const auto& [name, t] : f.tensors) refs.push_back({name, t.shape, t.values.data()});
  const SafetensorsFile back = parse_safetensors(safetensors_bytes(refs, f.metadata), "fuzz-roundtrip");
  check(back.metadata == f.metadata && back.tensors.size() == f.tensors.size(), "round trip keeps names and metadata");
  for (const auto& [name, t] : f.tensors) {
    const SafeTensor& u = back.tensors.at(name);
    check(u.shape == t.shape && u.values.size() == t.values.size(), "round trip keeps shapes");
    check(t.values.empty() || std::memcmp(u.values.data(), t.values.data(), t.values.size() * sizeof(float)) == 0,
          "round trip keeps the bits");
  }
  return true;
}

// Model checkpoints (attend layout or GPT-2 layout): load; a small loaded model must also run a
// forward and a cached generation (the configuration drives every shape in them).
inline bool model_input(std::string_view bytes) {
  try {
    const SafetensorsFile f = parse_safetensors(bytes, "fuzz");
    const nn::Model m = nn::load_model_file(f, "fuzz");
    const nn::ModelConfig& c = m.config();
    check(m.impl().param_count > 0, "a loaded model has parameters");
    if (m.impl().param_count > 200000) return true;  // keep each input fast
    std::vector<std::int32_t> tokens;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(c.context, 3); ++i) tokens.push_back(static_cast<std::int32_t>(i % c.vocab));
    const Tensor logits = m.forward(tokens);
    check(logits.view().shape[0] == static_cast<std::int64_t>(tokens.size()) && logits.view().shape[1] == c.vocab, "logits shape");
    nn::Model::GenerateOptions g;
    g.max_new_tokens = 2;
    g.temperature = 0;
    (void)m.generate(std::span<const std::int32_t>(tokens.data(), 1), g);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Links CSV: "<links>\0<stakes>" (no NUL: the whole input is the links file, stakes empty).
inline bool links_input(std::string_view bytes) {
  const std::size_t cut = bytes.find('\0');
  const std::string_view links = bytes.substr(0, cut);
  const std::string_view stakes = cut == std::string_view::npos ? std::string_view() : bytes.substr(cut + 1);
  try {
    const graph::LinkGraph g = graph::parse_links_csv(links, stakes, "links", "stakes");
    check(g.neuron.size() == g.from.size() && g.from.size() == g.to.size(), "one entry per link");
    check(static_cast<std::int64_t>(g.stake.size()) == g.neurons && static_cast<std::int64_t>(g.particle_names.size()) == g.particles,
          "counts match");
    for (std::size_t i = 0; i < g.neuron.size(); ++i)
      check(g.neuron[i] < g.neurons && g.from[i] < g.particles && g.to[i] < g.particles, "indices in range");
    // Any legal stakes (up to 2^64 - 1 each) give finite ranks, entropies and karma.
    if (g.particles <= 2000 && g.neuron.size() <= 20000) {
      for (graph::FocusMode mode : {graph::FocusMode::cyber, graph::FocusMode::pagerank}) {
        graph::FocusOptions o;
        o.mode = mode;
        o.max_iter = 60;
        o.threads = 1;
        const graph::FocusResult r = graph::focus(g, o);
        for (double v : r.rank) check(std::isfinite(v) && v >= 0, "focus ranks are finite");
        for (double v : r.entropy) check(std::isfinite(v), "focus entropy is finite");
        for (double v : r.karma) check(std::isfinite(v), "focus karma is finite");
      }
    }
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace attend::fuzz
