// Helpers of the replay regression suite: run the CLI, copy a trace with one record edited, list
// the golden traces.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "telemetry/trace_reader.hpp"
#include "telemetry/trace_writer.hpp"
#include "tests/tools/cli_runner.hpp"

namespace hetsched::replay_test {

using testing_cli::CliRun;

inline CliRun hs(const std::string& args) { return testing_cli::run_cli("replay", args); }
inline std::string tmp(const std::string& name) { return testing_cli::temp_path("replay", name); }
inline std::string src(const std::string& rel) { return std::string(HETSCHED_SOURCE_DIR) + "/" + rel; }

inline std::vector<std::string> golden_traces() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(src("tests/replay/golden")))
    if (e.path().extension() == ".trace") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
inline void write_bytes(const std::string& path, const std::vector<char>& b, std::size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(b.data(), static_cast<std::streamsize>(n));
}

// Rewrites `in` to `out` record by record, letting `edit` change each decision (index, record).
inline void copy_trace(const std::string& in, const std::string& out,
                       const std::function<void(int, telemetry::Decision&)>& edit) {
  auto r = telemetry::TraceReader::open(in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  telemetry::TraceHeader h = r->header();
  auto w = telemetry::TraceWriter::create({.path = out}, h);
  ASSERT_TRUE(w.ok()) << w.status().message();
  telemetry::TraceChunk ch;
  int k = 0;
  while (r->next(ch)) {
    for (const auto& s : ch.samples) ASSERT_TRUE(w.value()->append(s).ok());
    for (const auto& e : ch.events) ASSERT_TRUE(w.value()->append(e).ok());
    for (auto d : ch.decisions) {
      edit(k++, d);
      ASSERT_TRUE(w.value()->append(d).ok());
    }
  }
  ASSERT_TRUE(w.value()->close().ok());
}

// Decisions held by the intact chunks of a (possibly damaged) trace.
inline std::uint64_t intact_decisions(const std::string& path) {
  auto r = telemetry::TraceReader::open(path);
  if (!r.ok()) return 0;
  return telemetry::summarize(*r).decisions;
}

}  // namespace hetsched::replay_test
