#pragma once
// An attention call after validation: every kernel (reference, forward, backward, decode) works
// from this one description, so they cannot disagree on shapes, masks or the logit's definition.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attend/attention.h"
#include "core/element.h"

namespace attend::kernels {

// One sequence of a (possibly ragged) batch: index into the tensors' B dimension, and the rows
// of the N dimensions it owns.
struct Sequence {
  std::int64_t batch = 0;
  std::int64_t q0 = 0, nq = 0;  // query rows [q0, q0 + nq)
  std::int64_t k0 = 0, nk = 0;  // key rows [k0, k0 + nk)
};

struct KeyRange {
  std::int64_t lo = 0, hi = 0;  // visible keys j in [lo, hi) (local indices); empty when lo >= hi
};

struct Problem {
  TensorView q, k, v, out, lse;  // lse may be empty
  std::int64_t hq = 0, hkv = 0, group = 1, d = 0, dv = 0;
  float scale = 1;
  bool causal = false;
  std::int64_t left = -1, right = -1;  // window; causal folded into right (-1 = unbounded)
  std::int64_t offset = 0;             // AttentionOptions::position_offset
  float softcap = 0;
  TensorView bias;                     // empty, or rank 4 broadcastable to [S, Hq, Nq, Nk]
  const float* alibi = nullptr;        // [Hq] or null
  float dropout_p = 0;
  std::uint64_t dropout_seed = 0;
  bool packed = false;                 // cu_seqlens form: bias indexed by local rows
  std::vector<Sequence> seqs;
  int threads = 1;
  CaptureSink* capture = nullptr;

  std::int64_t kv_head(std::int64_t h) const { return h / group; }

  // Keys that causal/window/padding let local query row i see (bias -inf may hide more).
  KeyRange visible(std::int64_t i, const Sequence& s) const {
    const std::int64_t ip = i + s.nk - s.nq + offset;  // bottom-right alignment, shifted
    KeyRange r{0, s.nk};
    if (left >= 0) r.lo = std::max<std::int64_t>(0, ip - left);
    if (right >= 0) r.hi = std::min<std::int64_t>(s.nk, ip + right + 1);
    return r;
  }
  // True when every (i, j) of the tile is visible by the range rules (so no per-element mask).
  bool tile_fully_visible(std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1,
                          const Sequence& s) const {
    const KeyRange a = visible(i0, s), b = visible(i1 - 1, s);  // ranges are monotone in i
    return a.lo <= j0 && b.lo <= j0 && a.hi >= j1 && b.hi >= j1;
  }

  // The logit modifiers after scale·q·k: soft-cap, bias, ALiBi. `s` is scale·q·k.
  template <typename T>
  T modify_logit(T s, std::int64_t seq, std::int64_t h, std::int64_t i, std::int64_t j,
                 const Sequence& sq) const {
    if (softcap > 0) s = static_cast<T>(softcap) * std::tanh(s / static_cast<T>(softcap));
    if (!bias.empty()) s += static_cast<T>(bias_at(seq, h, i, j, sq));
    if (alibi) {
      const std::int64_t ip = i + sq.nk - sq.nq + offset;
      s -= static_cast<T>(alibi[h]) * static_cast<T>(ip > j ? ip - j : j - ip);
    }
    return s;
  }
  bool has_modifiers() const { return softcap > 0 || !bias.empty() || alibi != nullptr; }

  float bias_at(std::int64_t seq, std::int64_t h, std::int64_t i, std::int64_t j,
                const Sequence& sq) const {
    const std::int64_t bi = packed ? seq : sq.batch;
    const std::int64_t off = bi * bias.stride[0] + h * bias.stride[1] + i * bias.stride[2] +
                             j * bias.stride[3];
    return core::load_f32(bias.data, bias.dtype, off);
  }
};

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
