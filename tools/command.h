#pragma once
// Each subcommand of the `attend` command line lives in its own file and registers itself here.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace attend::cli {

// `setup` adds the subcommand's options to `sub` and returns the function that runs it.
using Setup = std::function<std::function<int()>(CLI::App& sub)>;

bool register_command(const std::string& name, const std::string& help, Setup setup);

}  // namespace attend::cli
