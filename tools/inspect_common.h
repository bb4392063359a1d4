#pragma once
// Shared by `attend inspect` / `attend compare` (tools/cmd_inspect.cpp, real checkpoints) and
// `attend inspect-toy` (the hand-built induction model): option parsing.
#include <string>
#include <vector>

namespace attend::cli {

// "0,2,5" or "1-3" or "" (all) -> sorted unique ints; throws attend::Error naming `what`.
std::vector<int> parse_int_list(const std::string& text, const char* what);

}  // namespace attend::cli
