// `hetsched run`: host run with a hog (JSON metrics, zero dropped), usage errors, the default
// simulated run.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace {

struct Out {
  int code = -1;
  std::string out;
};

Out sh(const std::string& args) {
  Out o;
  const std::string cmd = std::string(HETSCHED_BINARY) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return o;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) o.out.append(buf.data(), n);
  const int st = pclose(p);
  o.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

TEST(RunCli, HostRunWithStressReportsMetricsAndDropsNothing) {
  const Out o = sh("run --platform host --model mobilenet_v1 --seconds 3 --stress cpu1@1:1 --json --quiet");
  ASSERT_EQ(o.code, 0) << o.out;
  const auto j = nlohmann::json::parse(o.out);
  for (const char* k : {"fps_mean", "qos_violation_pct", "energy_per_frame_mj", "avg_power_mw", "peak_temp_c", "throttled_pct",
                        "reconfigs", "frames", "dropped_frames"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_GT(j["frames"].get<int>(), 0);
  EXPECT_GT(j["fps_mean"].get<double>(), 0);
  EXPECT_EQ(j["dropped_frames"].get<int>(), 0);
  EXPECT_EQ(j["failed_frames"].get<int>(), 0);
}

TEST(RunCli, UsageErrorsExitTwo) {
  EXPECT_EQ(sh("run --platform host --stress cpu1").code, 2);
  EXPECT_EQ(sh("run --platform host --stress cpu9@1").code, 2);
  EXPECT_EQ(sh("run --platform host --stress cpu1@x:1").code, 2);
  EXPECT_EQ(sh("run --platform host --seconds -1").code, 2);
  EXPECT_EQ(sh("run --platform host --mode turbo").code, 2);
  EXPECT_EQ(sh("run --stress cpu1@1").code, 2);  // host-only flag on the simulated run
  EXPECT_EQ(sh("run --bogus").code, 2);
  EXPECT_EQ(sh("run --help").code, 0);
}

TEST(RunCli, HostRunErrorsExitOne) {
  EXPECT_EQ(sh("run --platform host --model no_such_model --seconds 1").code, 1);
  EXPECT_EQ(sh("run --platform host --seconds 1 --record /nonexistent/dir/t.trace").code, 1);
}

TEST(RunCli, DefaultRunIsTheSimulatedAdaptiveScheduler) {
  const Out o = sh("run --seconds 20 --json");
  ASSERT_EQ(o.code, 0) << o.out;
  const auto j = nlohmann::json::parse(o.out);
  EXPECT_GT(j["frames"].get<int>(), 0);
  EXPECT_GT(j["fps_mean"].get<double>(), 0);
}

}  // namespace
