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

}  // namespace attend::cli
