// Runs the real `hetsched` executable (HETSCHED_BINARY) from a test and captures its exit code,
// stdout and stderr through temporary files. Shared by the tests/tools/test_*_cli.cpp files.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace hetsched::testing_cli {

struct CliRun {
  int code = -1;  // exit status; -1 if the process did not exit normally
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A per-test temporary path: <TempDir>hetsched_<prefix>_<test name>_<name>.
inline std::string temp_path(const std::string& prefix, const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "hetsched_" + prefix + "_" + info->name() + "_" + name;
}

// Runs `hetsched <args>` (args already shell-quoted where needed).
inline CliRun run_cli(const std::string& prefix, const std::string& args) {
  const std::string out = temp_path(prefix, "stdout"), err = temp_path(prefix, "stderr");
  const std::string cmd = std::string("'") + HETSCHED_BINARY + "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
}

}  // namespace hetsched::testing_cli
