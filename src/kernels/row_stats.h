#pragma once
// RowStats from a full row of logits (double precision): the definition the streaming in-kernel
// statistics must match.
#include <cmath>
#include "attend/span.h"

#include "attend/capture.h"
#include "kernels/problem.h"

namespace attend::kernels {

// logits: s_j for every key (-inf where masked); lse of the row; ip: the query's position in key
// coordinates; sink: number of leading keys counted as the sink; r: the range mask's visible keys.
inline RowStats row_stats_exact(Span<const double> logits, double lse, std::int64_t ip, int sink, KeyRange r) {
  RowStats st;
  st.lse = static_cast<float>(lse);
  st.visible = static_cast<std::int32_t>(r.hi > r.lo ? r.hi - r.lo : 0);
  if (!(lse > -INFINITY)) {
    st.entropy = 0;
    return st;
  }
  double ent = lse, sink_mass = 0, dist = 0, best = -1;
  for (std::size_t j = 0; j < logits.size(); ++j) {
    const double s = logits[j];
    if (!(s > -INFINITY)) continue;
    const double w = std::exp(s - lse);
    ent -= w * s;
    if (static_cast<std::int64_t>(j) < sink) sink_mass += w;
    dist += w * std::fabs(static_cast<double>(ip) - static_cast<double>(j));
    if (w > best) { best = w; st.argmax = static_cast<std::int32_t>(j); }
  }
  st.entropy = static_cast<float>(ent);
  st.sink_mass = static_cast<float>(sink_mass);
  st.mean_distance = static_cast<float>(dist);
  st.max_weight = static_cast<float>(best);
  return st;
}

}  // namespace attend::kernels
