// The `attend` command line: dispatches to the subcommands registered by tools/cmd_*.cpp.
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <vector>

#include "attend/error.h"
#include "command.h"
#include "core/printable.h"

namespace attend::cli {
namespace {
struct Entry { std::string help; Setup setup; };
std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r;
  return r;
}
}  // namespace

bool register_command(const std::string& name, const std::string& help, Setup setup) {
  registry()[name] = Entry{help, std::move(setup)};
  return true;
}

}  // namespace attend::cli

int main(int argc, char** argv) {
  using namespace attend::cli;
  CLI::App app{"attend: exact, fast attention on the CPU, and an observatory of how it routes information"};
  app.require_subcommand(1);
  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& [name, entry] : registry()) {
    CLI::App* sub = app.add_subcommand(name, entry.help);
    runners[sub] = entry.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Every message goes out through printable(): nothing from a file can drive the terminal.
  const char* command = "attend";
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) {
        command = sub->get_name().c_str();
        return run();
      }
  } catch (const attend::Error& e) {
    std::fprintf(stderr, "attend: %s\n", attend::printable(e.what()).c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "attend %s: out of memory: a request for memory failed (the input or the settings need more than this "
                 "machine or its limits allow)\n", command);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attend: error: %s\n", attend::printable(e.what()).c_str());
    return 1;
  }
  return 1;
}
