// Helpers for the inspect commands (see inspect_common.h).
#include "inspect_common.h"

#include <algorithm>
#include <sstream>

#include "core/check.h"

namespace attend::cli {

std::vector<int> parse_int_list(const std::string& text, const char* what) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    try {
      std::size_t used = 0;
      const auto dash = part.find('-', 1);
      const int a = std::stoi(part.substr(0, dash), &used);
      if (used != (dash == std::string::npos ? part.size() : dash)) throw std::invalid_argument(part);
      const int b = dash == std::string::npos ? a : std::stoi(part.substr(dash + 1), &used);
      if (dash != std::string::npos && used != part.size() - dash - 1) throw std::invalid_argument(part);
      if (a < 0 || b < a || b - a > 100000) throw std::invalid_argument(part);
      for (int x = a; x <= b; ++x) out.push_back(x);
    } catch (const std::logic_error&) {
      detail::fail("inspect", "bad ", what, " list entry '", part, "' (want e.g. 0,2 or 1-3)");
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<observe::HeadOperators> layer_operators(const nn::AttentionWeights& w) {
  const std::int64_t e = w.d_model, h = w.heads, g = w.kv_heads, d = w.head_dim;
  if (e < 1 || h < 1 || g < 1 || h % g != 0 || d < 1 || static_cast<std::int64_t>(w.w_q.size()) != e * h * d ||
      static_cast<std::int64_t>(w.w_k.size()) != e * g * d || static_cast<std::int64_t>(w.w_v.size()) != e * g * d ||
      static_cast<std::int64_t>(w.w_o.size()) != h * d * e)
    detail::fail("layer_operators", "weights do not match E=", e, " H=", h, " G=", g, " D=", d);
  std::vector<observe::HeadOperators> ops;
  for (std::int64_t head = 0; head < h; ++head) {
    const std::int64_t kv = head / (h / g);
    observe::HeadWeights hw;
    hw.d_model = e; hw.head_dim = d; hw.v_dim = d;
    for (std::int64_t r = 0; r < e; ++r)
      for (std::int64_t c = 0; c < d; ++c) {
        hw.wq.push_back(w.w_q[static_cast<std::size_t>(r * h * d + head * d + c)]);
        hw.wk.push_back(w.w_k[static_cast<std::size_t>(r * g * d + kv * d + c)]);
        hw.wv.push_back(w.w_v[static_cast<std::size_t>(r * g * d + kv * d + c)]);
      }
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r < e; ++r) hw.wo.push_back(w.w_o[static_cast<std::size_t>((head * d + c) * e + r)]);
    ops.push_back(observe::head_operators(hw));
  }
  return ops;
}

}  // namespace attend::cli
