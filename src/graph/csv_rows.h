#pragma once
// The strict CSV rows of the graph inputs (focus links and stakes, typed links): no quoting, no
// spaces, every field non-empty; errors name the file and the line.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/check.h"

namespace attend::graph::internal {

// Calls fn(fields, line_number) for each non-empty line; skips a first line equal to `header`.
template <typename Fn>
void for_rows(const char* where, const std::string& path, std::string_view text, std::string_view header, std::size_t want, Fn&& fn) {
  std::size_t pos = 0, line = 0;
  std::vector<std::string_view> fields;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view row(text.data() + pos, end - pos);
    pos = end + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (row.empty()) continue;
    if (line == 1 && row == header) continue;
    fields.clear();
    std::size_t b = 0;
    for (;;) {
      const std::size_t c = row.find(',', b);
      fields.push_back(row.substr(b, c == std::string_view::npos ? std::string_view::npos : c - b));
      if (c == std::string_view::npos) break;
      b = c + 1;
    }
    if (fields.size() != want)
      detail::fail(where, path, ":", line, ": expected ", want, " fields (", header, "), got ", fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (fields[i].empty() || fields[i].find_first_of(" \t\"") != std::string_view::npos)
        detail::fail(where, path, ":", line, ": field ", i + 1, " is empty or has spaces/quotes: '", fields[i], "'");
    fn(fields, line);
  }
}


}  // namespace attend::graph::internal
