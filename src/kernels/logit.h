#pragma once
// The logit of every attention entry (forward, backward, decode and the double reference) in one
// place: its options, their validation, the range mask and the modifiers. Each entry's problem
// (Problem in problem.h, DecodeProblem in decode_plan.h) is a LogitSpec plus its own tensors.
//
//   s = scale · q_i·k_j                       (scale defaults to 1/√D)
//   s = softcap · tanh(s / softcap)            (softcap > 0)
//   s += bias[b, h, i, j]                      (forward and backward; decode has no bias)
//   s -= alibi[h] · |i' − j|
//   s = −inf where the range mask hides j from i'
// with i' = i + (Nk − Nq) + offset the query's position in key coordinates: causal and windows are
// bottom-right aligned (FlashAttention ≥ 2.1), so a block of new queries sees the whole cache.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>

#include "attend/tensor.h"
#include "core/element.h"

namespace attend::kernels {

// The largest D and Dv of any entry: the kernels stage one row of K or V in a stack buffer of this
// many floats (forward_impl.h, backward_impl.h).
inline constexpr std::int64_t kMaxHeadSize = 1024;

struct KeyRange {
  std::int64_t lo = 0, hi = 0;  // visible keys j in [lo, hi) (local indices); empty when lo >= hi
};

// The caller's options that shape the logit, as the public entries receive them.
struct LogitOptions {
  std::optional<float> scale;             // default 1/√D
  bool causal = false;
  std::int64_t window_left = -1, window_right = -1;  // -1: unbounded
  std::int64_t position_offset = 0;       // added to i'
  float softcap = 0;
  std::span<const float> alibi_slopes;    // [Hq] or empty
};

struct LogitSpec {
  float scale = 1;
  float softcap = 0;
  std::int64_t left = -1, right = -1;  // window; causal folded into right (-1 = unbounded)
  std::int64_t offset = 0;             // position offset added to i'
  const float* alibi = nullptr;        // [Hq] or null
  TensorView bias;                     // empty, or rank 4 with stride 0 on broadcast dimensions

  // Query row i of nq rows against nk keys: its position i' in key coordinates (bottom-right).
  std::int64_t query_pos(std::int64_t i, std::int64_t nq, std::int64_t nk) const { return i + nk - nq + offset; }

  // Keys that causal and the window let the query at position ip see among nk keys.
  KeyRange visible_at(std::int64_t ip, std::int64_t nk) const {
    KeyRange r{0, nk};
    if (left >= 0) r.lo = std::max<std::int64_t>(0, ip - left);
    if (right >= 0) r.hi = std::min<std::int64_t>(nk, ip + right + 1);
    return r;
  }
  // True when the queries at positions [ip0, ip1] all see every key of [j0, j1) (ranges are
  // monotone in the position, so the first and the last query decide).
  bool all_visible(std::int64_t ip0, std::int64_t ip1, std::int64_t nk, std::int64_t j0, std::int64_t j1) const {
    const KeyRange a = visible_at(ip0, nk), b = visible_at(ip1, nk);
    return a.lo <= j0 && b.lo <= j0 && a.hi >= j1 && b.hi >= j1;
  }

  bool has_modifiers() const { return softcap > 0 || !bias.empty() || alibi != nullptr; }

  // The bias element (b = the bias's batch index, i = the local query row, j = the key).
  float bias_at(std::int64_t b, std::int64_t h, std::int64_t i, std::int64_t j) const {
    const std::int64_t off = b * bias.stride[0] + h * bias.stride[1] + i * bias.stride[2] + j * bias.stride[3];
    return core::load_f32(bias.data, bias.dtype, off);
  }

  // The modifiers after scale·q·k, in the order above: `s` is scale·q_i·k_j of head h for the
  // query at local row i, position ip, and key j (b: the bias's batch index).
  template <typename T>
  T modify(T s, std::int64_t b, std::int64_t h, std::int64_t i, std::int64_t ip, std::int64_t j) const {
    if (softcap > 0) s = static_cast<T>(softcap) * std::tanh(s / static_cast<T>(softcap));
    if (!bias.empty()) s += static_cast<T>(bias_at(b, h, i, j));
    if (alibi) s -= static_cast<T>(alibi[h]) * static_cast<T>(ip > j ? ip - j : j - ip);
    return s;
  }
};

// causal folded into the window's right edge: keys after i' are hidden.
inline std::int64_t causal_right(bool causal, std::int64_t window_right) {
  return causal ? (window_right < 0 ? 0 : std::min<std::int64_t>(window_right, 0)) : window_right;
}

// Validates the logit options of an entry with head sizes d, dv and hq query heads (throwing
// attend::Error that names `fn` and the offending value) and resolves the defaults. The one
// validation every entry runs: attention, attention_backward, decode and the reference.
LogitSpec make_logit_spec(const char* fn, const LogitOptions& opts, std::int64_t d, std::int64_t dv, std::int64_t hq);

// Checks that `bias` broadcasts to `want` ([B or sequences, Hq, Nq, Nk]) and stores it in the spec
// with stride 0 on its broadcast dimensions.
void set_bias(const char* fn, LogitSpec& spec, const TensorView& bias, const std::int64_t (&want)[4]);

}  // namespace attend::kernels
