#pragma once
// JSON from files, parsed with bounded work: nesting deeper than `max_depth` containers is refused
// as soon as the parser reaches it (a header of 50 million '[' would otherwise build 50 million
// nested values, ~38 bytes of memory per byte of input), and running out of memory while parsing
// becomes attend::Error naming the input instead of std::bad_alloc.
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/check.h"

namespace attend::io {

inline nlohmann::json parse_json_bounded(std::string_view text, int max_depth, const char* where, const std::string& name,
                                         const char* what) {
  // depth: containers already open around this one (0 for the outermost).
  auto guard = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
        depth >= max_depth)
      detail::fail(where, name, ": ", what, " nests deeper than ", max_depth, " levels");
    return true;
  };
  try {
    return nlohmann::json::parse(text, guard);
  } catch (const nlohmann::json::exception& e) {
    detail::fail(where, name, ": ", what, " is not valid JSON (", e.what(), ")");
  } catch (const std::bad_alloc&) {
    detail::fail(where, name, ": not enough memory to parse ", what, " of ", text.size(), " bytes");
  }
}

}  // namespace attend::io
