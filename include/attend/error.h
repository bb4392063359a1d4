#pragma once
// attend::Error: what the library throws for bad arguments from a caller. The message names the
// function and the offending shape or value, e.g.
//   "attention: k has 7 heads, which does not divide q's 32 heads".
#include <stdexcept>
#include <string>

namespace attend {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace attend
