#pragma once
// Random-weight Hugging Face checkpoints written by tests/models/hf_reference.py into a fresh folder
// (removed afterwards), for the model tests. status 77: python3 with torch is missing (skip).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "attend/io.h"

namespace attend::testing_hf {

struct Generated {
  std::filesystem::path dir;
  int status = -1;
  std::string log;
  explicit Generated(const std::vector<std::string>& names, const std::string& tag) {
    dir = std::filesystem::temp_directory_path() / ("attend_" + tag + "_" + std::to_string(::getpid()) + "_" + names.front());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::string cmd = "/usr/bin/python3 " + std::string(ATTEND_SOURCE_DIR) + "/tests/models/hf_reference.py --out " + dir.string() + " --only";
    for (const std::string& n : names) cmd += " " + n;
    cmd += " > " + (dir / "log.txt").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 255;
    log = read_file((dir / "log.txt").string());
  }
  ~Generated() { std::filesystem::remove_all(dir); }
  Generated(const Generated&) = delete;
  Generated& operator=(const Generated&) = delete;
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace attend::testing_hf

#define REQUIRE_GENERATED(g)                                                         \
  do {                                                                               \
    if ((g).status == 77) GTEST_SKIP() << "python3 with torch is not installed";     \
    ASSERT_EQ((g).status, 0) << "tests/models/hf_reference.py failed:\n" << (g).log; \
  } while (0)
