// Helpers shared by the trace tests: a deterministic trace with every record type.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "telemetry/trace_reader.hpp"
#include "telemetry/trace_writer.hpp"

namespace hetsched::telemetry::testutil {

inline std::string temp_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "hetsched_" + info->test_suite_name() + "_" + info->name() + "_" + name;
}

inline TraceHeader sample_header() {
  TraceHeader h;
  h.producer = "test_trace";
  h.platform = "rk3588";
  h.model = "mobilenet_v2";
  h.seeds = {1, 0xFFFFFFFFFFFFFFFFull};
  h.metadata = {{"scenario", "thermal_ramp"}, {"note", "ünïcode ok"}};
  for (const char* n : {"L", "B", "G", "N", "board", "soc_thermal"}) (void)h.sources.add(n);
  return h;
}

struct Records {
  std::vector<Sample> samples;
  std::vector<Event> events;
  std::vector<Decision> decisions;
};

// n samples cycling through every kind; an event every 50 samples; a decision every 100.
inline Records make_records(int n) {
  Records r;
  for (int i = 0; i < n; ++i) {
    const std::int64_t t = 1'000'000LL * i - 5;  // includes a negative timestamp
    r.samples.push_back({.t_ns = t, .value = i * 1.25 - 3.0, .source = static_cast<std::uint16_t>(i % 7),
                         .kind = static_cast<SampleKind>(i % kSampleKindCount)});
    if (i % 50 == 0)
      r.events.push_back({.t_ns = t, .kind = static_cast<EventKind>((i / 50) % kEventKindCount),
                          .source = static_cast<std::uint16_t>(i % 5), .text = "BBGGN#" + std::to_string(i)});
    if (i % 100 == 0)
      r.decisions.push_back({.t_ns = t, .action = i / 100 - 3,
                             .observation = {0.5f, -1.0f, static_cast<float>(i)}, .text = i % 200 ? "" : "LLBBN"});
  }
  return r;
}

// Writes records in timestamp order, interleaving events/decisions at their sample.
inline TraceWriterStats write_trace(const std::string& path, const Records& r, TraceWriterOptions o = {}) {
  o.path = path;
  auto w = TraceWriter::create(o, sample_header());
  EXPECT_TRUE(w.ok()) << w.status().to_string();
  std::size_t e = 0, d = 0;
  for (const auto& s : r.samples) {
    while (e < r.events.size() && r.events[e].t_ns <= s.t_ns) EXPECT_TRUE((*w)->append(r.events[e++]).ok());
    while (d < r.decisions.size() && r.decisions[d].t_ns <= s.t_ns) EXPECT_TRUE((*w)->append(r.decisions[d++]).ok());
    EXPECT_TRUE((*w)->append(s).ok());
  }
  (*w)->add_dropped(3);
  EXPECT_TRUE((*w)->close().ok());
  return (*w)->stats();
}

inline Records read_all(TraceReader& reader) {
  Records out;
  TraceChunk c;
  while (reader.next(c)) {
    out.samples.insert(out.samples.end(), c.samples.begin(), c.samples.end());
    out.events.insert(out.events.end(), c.events.begin(), c.events.end());
    out.decisions.insert(out.decisions.end(), c.decisions.begin(), c.decisions.end());
  }
  return out;
}

inline std::vector<char> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline void spit(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline bool same(const Sample& a, const Sample& b) {
  return a.t_ns == b.t_ns && a.value == b.value && a.source == b.source && a.kind == b.kind;
}
inline bool same(const Event& a, const Event& b) {
  return a.t_ns == b.t_ns && a.kind == b.kind && a.source == b.source && a.text == b.text;
}
inline bool same(const Decision& a, const Decision& b) {
  return a.t_ns == b.t_ns && a.action == b.action && a.observation == b.observation && a.text == b.text;
}

}  // namespace hetsched::telemetry::testutil
