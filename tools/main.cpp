// The `attend` command line: dispatches to the subcommands registered by tools/cmd_*.cpp.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "attend/error.h"
#include "attend/version.h"
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

namespace {

// Levenshtein distance (a mistyped command is suggested its nearest name).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

// A usage error: one line on stderr, exit status 2 (the shell convention; 1 is a failure of the work).
// `command` is "attend" or "attend <subcommand>".
int usage_error(const std::string& what, const std::string& command) {
  std::string line = what;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::fprintf(stderr, "%s: %s (see '%s --help')\n", command.c_str(), attend::printable(line).c_str(), command.c_str());
  return kUsageErrorExit;
}

// Checks the command word before CLI11 does, so a missing or mistyped one gets a message that
// lists the commands or names the nearest. Returns -1 when the word is fine.
int check_command_word(int argc, char** argv) {
  std::string names;
  for (const auto& [name, entry] : registry()) names += (names.empty() ? "" : ", ") + name;
  if (argc < 2) return usage_error("a command is required: " + names, "attend");
  const std::string word = argv[1];
  if (word.empty() || word[0] == '-' || registry().count(word)) return -1;
  std::string nearest;
  std::size_t best = 3;  // suggest only within two edits
  for (const auto& [name, entry] : registry())
    if (const std::size_t d = edit_distance(word, name); d < best) best = d, nearest = name;
  return usage_error("unknown command '" + word + "'" + (nearest.empty() ? "; the commands are: " + names
                                                                        : "; did you mean '" + nearest + "'?"),
                     "attend");
}

}  // namespace
}  // namespace attend::cli

int main(int argc, char** argv) {
  using namespace attend::cli;
  CLI::App app{"attend: exact, fast attention on the CPU, and an observatory of how it routes information"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("attend ") + ATTEND_VERSION_STRING, "print the version and exit");
  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& [name, entry] : registry()) {
    CLI::App* sub = app.add_subcommand(name, entry.help);
    runners[sub] = entry.setup(*sub);
  }
  if (const int rc = check_command_word(argc, argv); rc >= 0) return rc;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: printed, success
    const std::vector<CLI::App*> subs = app.get_subcommands();
    return usage_error(e.what(), subs.empty() ? "attend" : "attend " + subs.front()->get_name());
  }
  // Every message goes out through printable(): nothing from a file can drive the terminal.
  const char* command = "attend";
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) {
        command = sub->get_name().c_str();
        return run();
      }
  } catch (const UsageError& e) {
    return usage_error(e.what(), std::string("attend ") + command);
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
