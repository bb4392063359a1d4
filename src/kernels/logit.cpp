#include "kernels/logit.h"

#include "core/check.h"
#include "core/view_checks.h"

namespace attend::kernels {

using detail::fail;

LogitSpec make_logit_spec(const char* fn, const LogitOptions& opts, std::int64_t d, std::int64_t dv, std::int64_t hq) {
  if (d <= 0 || dv <= 0) fail(fn, "head sizes must be positive, got D = ", d, ", Dv = ", dv);
  if (d > kMaxHeadSize || dv > kMaxHeadSize)
    fail(fn, "head size D = ", d, ", Dv = ", dv, " exceeds the supported maximum ", kMaxHeadSize);
  LogitSpec s;
  s.scale = opts.scale ? *opts.scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  if (!std::isfinite(s.scale)) fail(fn, "scale must be finite, got ", s.scale);
  if (!(opts.softcap >= 0) || !std::isfinite(opts.softcap)) fail(fn, "softcap must be >= 0 and finite, got ", opts.softcap);
  s.softcap = opts.softcap;
  if (opts.window_left < -1) fail(fn, "window sizes must be >= 0 or -1 (unbounded), got window_left = ", opts.window_left);
  if (opts.window_right < -1) fail(fn, "window sizes must be >= 0 or -1 (unbounded), got window_right = ", opts.window_right);
  s.left = opts.window_left;
  s.right = causal_right(opts.causal, opts.window_right);
  s.offset = opts.position_offset;
  if (!opts.alibi_slopes.empty()) {
    if (static_cast<std::int64_t>(opts.alibi_slopes.size()) != hq)
      fail(fn, "alibi_slopes has ", opts.alibi_slopes.size(), " entries but q has ", hq, " heads");
    for (float a : opts.alibi_slopes)
      if (!std::isfinite(a)) fail(fn, "alibi_slopes must be finite, got ", a);
    s.alibi = opts.alibi_slopes.data();
  }
  return s;
}

void set_bias(const char* fn, LogitSpec& spec, const TensorView& bias, const std::int64_t (&want)[4]) {
  core::check_view(fn, "bias", bias, 4, /*allow_broadcast=*/true);
  for (int i = 0; i < 4; ++i)
    if (bias.dim(i) != want[i] && bias.dim(i) != 1)
      fail(fn, "bias has shape ", bias.shape_string(), ", not broadcastable to [", want[0], ", ", want[1], ", ", want[2], ", ",
           want[3], "]");
  spec.bias = bias;
  for (int i = 0; i < 4; ++i)
    if (bias.dim(i) == 1) spec.bias.stride[static_cast<std::size_t>(i)] = 0;  // broadcast
}

}  // namespace attend::kernels
