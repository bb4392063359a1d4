#pragma once
// An attention call (forward or backward) after validation: the reference, the fast forward and
// the fast backward all work from this one description, so they cannot disagree on shapes, masks
// or the logit. The logit itself (options, range mask, modifiers, limits) is the LogitSpec of
// logit.h, which decode's problem (decode_plan.h) shares.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attend/attention.h"
#include "core/element.h"
#include "kernels/logit.h"

namespace attend::kernels {

// One sequence of a (possibly ragged) batch: index into the tensors' B dimension, and the rows
// of the N dimensions it owns.
struct Sequence {
  std::int64_t batch = 0;
  std::int64_t q0 = 0, nq = 0;  // query rows [q0, q0 + nq)
  std::int64_t k0 = 0, nk = 0;  // key rows [k0, k0 + nk)
};

struct Problem : LogitSpec {
  TensorView q, k, v, out, lse;  // lse may be empty
  std::int64_t hq = 0, hkv = 0, group = 1, d = 0, dv = 0;
  float dropout_p = 0;
  std::uint64_t dropout_seed = 0;
  bool packed = false;                 // cu_seqlens form: bias indexed [sequence, h, local i, local j]
  std::vector<Sequence> seqs;
  int threads = 1;
  CaptureSink* capture = nullptr;

  std::int64_t kv_head(std::int64_t h) const { return h / group; }

  // Local query row i of sequence s: its position in key coordinates (bottom-right, shifted).
  std::int64_t query_pos(std::int64_t i, const Sequence& s) const { return LogitSpec::query_pos(i, s.nq, s.nk); }
  // Keys that causal/window/padding let local query row i see (bias -inf may hide more).
  KeyRange visible(std::int64_t i, const Sequence& s) const { return visible_at(query_pos(i, s), s.nk); }
  // True when every (i, j) of the tile is visible by the range rules (so no per-element mask).
  bool tile_fully_visible(std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1,
                          const Sequence& s) const {
    return all_visible(query_pos(i0, s), query_pos(i1 - 1, s), s.nk, j0, j1);
  }

  // The logit modifiers (LogitSpec::modify) of sequence `seq` (= sq), head h, local row i, key j.
  template <typename T>
  T modify_logit(T s, std::int64_t seq, std::int64_t h, std::int64_t i, std::int64_t j,
                 const Sequence& sq) const {
    return modify(s, packed ? seq : sq.batch, h, i, query_pos(i, sq), j);
  }
};

// The logit options of an attention call (the LogitOptions part of AttentionOptions).
LogitOptions logit_options(const AttentionOptions& o);

// Validates every argument (throwing attend::Error naming the function and the problem) and
// resolves defaults. `fn` names the public entry point in messages.
Problem make_problem(const char* fn, const TensorView& q, const TensorView& k, const TensorView& v,
                     const TensorView& out, const AttentionOptions& opts, const TensorView& lse);

// FLOPs under the project's convention: 2·(D + Dv) per visible (i, j) pair per head.
double flops_for(const Problem& p);

// Dropout keep decision for weight (seq, h, i, j): a pure function of the seed (counter-based).
inline bool dropout_keep(std::uint64_t seed, float p, std::int64_t seq, std::int64_t h,
                         std::int64_t i, std::int64_t j) {
  std::uint64_t x = seed ^ (static_cast<std::uint64_t>(seq) * 0x9E3779B97F4A7C15ull);
  x ^= static_cast<std::uint64_t>(h) * 0xC2B2AE3D27D4EB4Full + static_cast<std::uint64_t>(i) * 0x165667B19E3779F9ull;
  x ^= static_cast<std::uint64_t>(j) * 0xD6E8FEB86659FD93ull;
  x += 0x9E3779B97F4A7C15ull;  // splitmix64 finaliser
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  const double u = static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
  return u >= static_cast<double>(p);
}

inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace attend::kernels
