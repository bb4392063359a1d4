#pragma once
// Shared by `attend inspect` / `attend compare` (tools/cmd_inspect.cpp, real checkpoints) and
// `attend inspect-toy` (the hand-built induction model), and `attend train`'s --periods: option parsing.
#include <string>
#include <vector>

namespace attend::cli {

// "0,2,5" or "1-3" or "" (all) -> sorted unique ints; throws attend::Error naming `command` and `what`.
std::vector<int> parse_int_list(const std::string& text, const char* what, const char* command = "inspect");

}  // namespace attend::cli
