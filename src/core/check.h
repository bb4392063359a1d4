#pragma once
// Internal helpers for errors. ATTEND_ASSERT is an always-on invariant check (file:line); it
// throws attend::Error instead of aborting, since the library never ends the process.
#include <sstream>
#include <string>

#include "attend/error.h"
#include "core/printable.h"

namespace attend::detail {

template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

// Throw attend::Error("<where>: <parts...>"). Parts often come from files (names, headers), so
// the message goes through printable(): a NUL does not cut it, control bytes cannot reach a terminal.
template <typename... Parts>
[[noreturn]] void fail(const char* where, const Parts&... parts) {
  throw Error(printable(concat(where, ": ", parts...)));
}

[[noreturn]] void assert_failed(const char* expr, const char* file, int line);

}  // namespace attend::detail

#define ATTEND_ASSERT(cond) \
  ((cond) ? (void)0 : ::attend::detail::assert_failed(#cond, __FILE__, __LINE__))
