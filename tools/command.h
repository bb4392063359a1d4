#pragma once
// Each subcommand of the `attend` command line lives in its own file and registers itself here.
#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>
#include <string>

namespace attend::cli {

// `setup` adds the subcommand's options to `sub` and returns the function that runs it.
using Setup = std::function<std::function<int()>(CLI::App& sub)>;

bool register_command(const std::string& name, const std::string& help, Setup setup);

// Exit status of a usage error (bad or missing arguments), as CLI11's own parse errors get: 2.
inline constexpr int kUsageErrorExit = 2;
// Thrown by a subcommand for arguments that do not fit together (checks CLI11 cannot express):
// one line on stderr, exit status kUsageErrorExit.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace attend::cli
