// Head detectors on repeated random sequences of several periods and offsets (attend/lab.h).
#include <algorithm>
#include <numeric>
#include <random>

#include "attend/lab.h"
#include "core/check.h"

namespace attend::lab {

using I64 = std::int64_t;

namespace {
std::size_t sz(I64 v) { return static_cast<std::size_t>(v); }

struct Probe {
  std::vector<std::int32_t> tokens;
  I64 period = 0, start = 0;  // r of length `period` repeats from `start` to the end
};

// [noise (start) | r | r | …]: r holds `period` distinct symbols, the noise draws from the others.
Probe make_probe(I64 length, I64 period, I64 symbols, std::mt19937_64& rng) {
  Probe p;
  p.period = period;
  p.start = std::uniform_int_distribution<I64>(0, length - 2 * period)(rng);
  std::vector<std::int32_t> sym(sz(symbols));
  std::iota(sym.begin(), sym.end(), 0);
  std::shuffle(sym.begin(), sym.end(), rng);
  std::uniform_int_distribution<I64> noise(period, symbols - 1);
  for (I64 i = 0; i < length; ++i)
    p.tokens.push_back(i < p.start ? sym[sz(noise(rng))] : sym[sz((i - p.start) % period)]);
  return p;
}

}  // namespace

observe::HeadDetectors detect_heads(const nn::Model& model, const DetectorOptions& opts) {
  const nn::ModelConfig& c = model.config();
  const I64 length = opts.length > 0 ? opts.length : std::min<I64>(c.context, 64);
  const I64 symbols = opts.symbols > 0 ? opts.symbols : c.vocab - 1;
  if (length < 8 || length > c.context) detail::fail("detect_heads", "length ", length, " is outside [8, ", c.context, "]");
  if (symbols < 4 || symbols > c.vocab) detail::fail("detect_heads", "symbols ", symbols, " is outside [4, ", c.vocab, "]");
  if (opts.sequences < 1) detail::fail("detect_heads", "sequences ", opts.sequences, " < 1");
  std::vector<int> periods = opts.periods;
  const I64 p_max = std::min<I64>(length / 2 - 1, symbols - 1);
  if (periods.empty()) {  // up to 5 distinct periods spread over [3, p_max]
    for (int k = 0; k < 5; ++k) periods.push_back(static_cast<int>(3 + (p_max - 3) * k / 4));
    std::sort(periods.begin(), periods.end());
    periods.erase(std::unique(periods.begin(), periods.end()), periods.end());
  }
  for (int p : periods)
    if (p < 2 || p > p_max) detail::fail("detect_heads", "period ", p, " is outside [2, ", p_max, "] for length ", length, " and ", symbols, " symbols");

  const I64 nl = c.layers, nh = c.heads, np = static_cast<I64>(periods.size());
  observe::HeadDetectors out;
  out.periods = periods;
  out.sequences = opts.sequences;
  out.length = static_cast<int>(length);
  // Per head: sums over sequences of each score, per period; offset profiles per period [P, length].
  constexpr I64 kShifts = 4;  // s = 0 (duplicate) .. 3
  std::vector<double> prev(sz(nl * nh), 0.0), dup(sz(nl * nh), 0.0), ind(sz(nl * nh * np), 0.0);
  std::vector<double> track(sz(nl * nh * np * kShifts), 0.0);  // per period: mass on i − kP + s
  std::vector<double> profile(sz(nl * nh * np * length), 0.0);
  std::mt19937_64 rng(opts.seed);
  observe::Selection sel;
  sel.full_matrices = false;
  sel.activations = false;
  sel.thumbnail = length;  // one cell per entry: the exact weights, from the kernel
  for (I64 pi = 0; pi < np; ++pi)
    for (int s = 0; s < opts.sequences; ++s) {
      const Probe probe = make_probe(length, periods[sz(pi)], symbols, rng);
      const Run r = run(model, probe.tokens, sel);
      const I64 n = length, per = probe.period, a0 = probe.start;
      for (I64 l = 0; l < nl; ++l)
        for (I64 h = 0; h < nh; ++h) {
          const auto w = r.rec.exact_weights(static_cast<int>(l), static_cast<int>(h));
          const std::size_t k = sz(l * nh + h);
          double pt = 0, dp = 0, id = 0;
          for (I64 i = 1; i < n; ++i) pt += w[sz(i * n + i - 1)];
          I64 rows = 0;
          for (I64 i = a0 + per; i < n; ++i, ++rows)  // rows in the repeats: earlier copies at i − m·P >= a0
            for (I64 j = i - per; j >= a0; j -= per) {
              dp += w[sz(i * n + j)];
              id += w[sz(i * n + j + 1)];
            }
          for (I64 sh = 0; sh < kShifts && sh < per; ++sh) {  // j = i − kP + s, with j − s still in the repeats
            double t = 0;
            for (I64 i = a0 + per; i < n; ++i)
              for (I64 j = i - per + sh; j - sh >= a0; j -= per) t += w[sz(i * n + j)];
            track[(k * sz(np) + sz(pi)) * kShifts + sz(sh)] += t / static_cast<double>(rows) / opts.sequences;
          }
          prev[k] += pt / static_cast<double>(n - 1) / static_cast<double>(np * opts.sequences);
          dup[k] += dp / static_cast<double>(rows) / static_cast<double>(np * opts.sequences);
          ind[k * sz(np) + sz(pi)] += id / static_cast<double>(rows) / opts.sequences;
          for (I64 d = 0; d < n; ++d) {  // mean A[i, i − d] over the rows in the repeats that reach d back
            double m = 0;
            I64 cnt = 0;
            for (I64 i = std::max(a0 + per, d); i < n; ++i, ++cnt) m += w[sz(i * n + i - d)];
            if (cnt) profile[(k * sz(np) + sz(pi)) * sz(length) + sz(d)] += m / static_cast<double>(cnt) / opts.sequences;
          }
        }
    }
  for (I64 l = 0; l < nl; ++l)
    for (I64 h = 0; h < nh; ++h) {
      const std::size_t k = sz(l * nh + h);
      observe::HeadDetector d;
      d.layer = static_cast<int>(l);
      d.head = static_cast<int>(h);
      d.previous_token = prev[k];
      d.duplicate_token = dup[k];
      d.induction_min = 1;
      for (I64 pi = 0; pi < np; ++pi) {
        d.induction += ind[k * sz(np) + sz(pi)] / static_cast<double>(np);
        d.induction_min = std::min(d.induction_min, ind[k * sz(np) + sz(pi)]);
      }
      d.offset_mass = -1;
      for (I64 off = 0; off < length; ++off) {  // the offset whose mass holds for every period
        double lo = 1;
        for (I64 pi = 0; pi < np; ++pi) lo = std::min(lo, profile[(k * sz(np) + sz(pi)) * sz(length) + sz(off)]);
        if (lo > d.offset_mass) { d.offset_mass = lo; d.offset = static_cast<int>(off); }
      }
      d.shift_mass = -1;
      for (I64 sh = 0; sh < kShifts; ++sh) {  // the shift whose mass holds for every period
        double lo = 1;
        for (I64 pi = 0; pi < np; ++pi) lo = std::min(lo, track[(k * sz(np) + sz(pi)) * kShifts + sz(sh)]);
        if (lo > d.shift_mass) { d.shift_mass = lo; d.shift = static_cast<int>(sh); }
      }
      d.positional = d.offset_mass >= 0.5;
      if (d.shift_mass >= 0.5 && d.shift_mass > d.offset_mass)
        d.kind = d.shift == 0 ? "duplicate-token" : d.shift == 1 ? "induction" : "induction (shift " + std::to_string(d.shift) + ")";
      else if (d.positional) d.kind = d.offset == 1 ? "previous-token" : "positional (offset " + std::to_string(d.offset) + ")";
      else d.kind = "–";
      out.heads.push_back(std::move(d));
    }
  return out;
}

}  // namespace attend::lab
