#pragma once
// The converse of the semcon construction (attend/semcon.h), measured rather than asserted: the
// best one-layer attention transformer with a given number of heads, trained by attend (its
// attention forward/backward kernels, the model runtime's linear layers and AdamW) on fresh random
// typed graphs and states every step, then scored on held-out graphs. With heads >= types the
// construction shows the error can reach ~0; with fewer heads a head must mix types. A lower
// bound found by optimisation is evidence, not proof.
#include <cstdint>
#include <vector>

namespace attend::lab {

struct SemconFitOptions {
  int n = 12, types = 3, d = 8;  // particles, link types, state width
  int heads = 3;                 // heads of the trained layer (head size n + 1, value size d)
  double link_p = 0.25;          // probability of each (i, j, type) link in the random graphs
  int steps = 2000, batch = 16;
  float lr = 1e-2f;
  int eval_graphs = 64;
  std::uint64_t seed = 1;
};

struct SemconFit {
  std::vector<double> loss;       // per step: the batch's relative error Σ‖y − t‖² / Σ‖t‖²
  double heldout_error = 0;       // the same on eval_graphs held-out graphs (fresh states)
  double constructed_error = -1;  // the construction on the same held-out graphs (-1: heads < types)
  double seconds = 0;
};

SemconFit fit_semcon_layer(const SemconFitOptions& opts);

}  // namespace attend::lab
