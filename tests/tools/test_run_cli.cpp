// `hetsched run`: host run with a hog (JSON metrics, zero dropped, trace), usage errors, the
// default simulated run through the runtime controller (same metrics as `hetsched sim` / `hetsched
// eval` for the same policy, scenario and seed), --record, a refused host policy file.
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

std::string tmp(const std::string& name) { return ::testing::TempDir() + "hetsched_runcli_" + name; }

// The metric keys only (run adds decisions/guard_overrides, sim/eval their own labels).
nlohmann::json metrics_of(const nlohmann::json& j) {
  nlohmann::json m;
  for (const char* k : {"fps_mean", "qos_violation_pct", "energy_per_frame_mj", "avg_power_mw", "peak_temp_c", "throttled_pct",
                        "reconfigs", "frames", "dropped_frames"})
    m[k] = j.at(k);
  return m;
}

TEST(RunCli, HostRunWithStressReportsMetricsAndDropsNothing) {
  const std::string trace = tmp("host.trace");
  // An FPS target nobody reaches: every period after the first second violates QoS (the
  // simulator's definition); no --deadline-ms: no frame misses a deadline.
  const Out o = sh("run --platform host --model mobilenet_v1 --seconds 3 --stress cpu1@1:1 --target-fps 100000 --json --quiet --record " + trace);
  ASSERT_EQ(o.code, 0) << o.out;
  const auto j = nlohmann::json::parse(o.out);
  for (const char* k : {"fps_mean", "qos_violation_pct", "energy_per_frame_mj", "avg_power_mw", "peak_temp_c", "throttled_pct",
                        "reconfigs", "frames", "dropped_frames"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_GT(j["frames"].get<int>(), 0);
  EXPECT_GT(j["fps_mean"].get<double>(), 0);
  EXPECT_EQ(j["dropped_frames"].get<int>(), 0);
  EXPECT_EQ(j["failed_frames"].get<int>(), 0);
  EXPECT_EQ(j["policy"], "balance");
  EXPECT_EQ(j["qos_violation_pct"].get<double>(), 100.0);
  EXPECT_EQ(j["deadline_miss_pct"].get<double>(), 0.0);
  // The host trace holds the controller's decisions (one per period) and the stress events.
  const Out info = sh("trace info " + trace);
  ASSERT_EQ(info.code, 0) << info.out;
  EXPECT_NE(info.out.find("mode=host"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("event.scenario"), std::string::npos) << info.out;
  const auto d = info.out.find("decisions:");
  ASSERT_NE(d, std::string::npos) << info.out;
  EXPECT_GE(std::stoi(info.out.substr(d + 10)), static_cast<int>(j["decisions"].get<int>()) - 1);
  EXPECT_GE(j["decisions"].get<int>(), 10);  // 3 s at 100 ms, minus calibration
}

TEST(RunCli, HostPolicyForAnotherPlatformIsRefused) {
  const Out o = sh(std::string("run --platform host --seconds 1 --quiet --profile ") + HETSCHED_SOURCE_DIR +
                   "/env/platforms/rockpi_n10.json --policy " + HETSCHED_SOURCE_DIR + "/policies/trained/rockpi_n10_googlenet.policy");
  EXPECT_EQ(o.code, 1);
  const Out p = sh(std::string("run --platform host --seconds 1 --quiet --policy ") + HETSCHED_SOURCE_DIR +
                   "/policies/trained/rockpi_n10_googlenet.policy");
  EXPECT_EQ(p.code, 1);
}

TEST(RunCli, UsageErrorsExitTwo) {
  EXPECT_EQ(sh("run --platform host --stress cpu1").code, 2);
  EXPECT_EQ(sh("run --platform host --stress cpu9@1").code, 2);
  EXPECT_EQ(sh("run --platform host --stress cpu1@x:1").code, 2);
  EXPECT_EQ(sh("run --platform host --seconds -1").code, 2);
  EXPECT_EQ(sh("run --platform host --mode turbo").code, 2);
  EXPECT_EQ(sh("run --platform host --target-fps -3").code, 2);
  EXPECT_EQ(sh("run --platform host --target-fps nan").code, 2);
  EXPECT_EQ(sh("run --target-fps 10").code, 2);  // host-only: a simulated run takes targets from its scenario
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
  EXPECT_EQ(j["decisions"].get<int>(), 200);  // one per 100 ms period, through runtime::Controller
  EXPECT_EQ(j["policy"], "trained");
}

// The same controller in virtual time gives exactly the simulator's numbers.
TEST(RunCli, SimulatedRunMatchesSimAndEvalForTheSamePolicyScenarioAndSeed) {
  const std::string sc = std::string(HETSCHED_SOURCE_DIR) + "/env/scenarios/combined.json";
  for (const std::string pol : {"static:BBBBGGGGGNNNN:BL:5,7,4", "oracle"}) {
    for (const std::string seed : {"1", "7"}) {
      const Out r = sh("run --json --quiet --seed " + seed + " --policy " + pol);
      const Out s = sh("sim --json --platform rockpi_n10 --model googlenet --scenario " + sc + " --seed " + seed + " --policy " + pol);
      ASSERT_EQ(r.code, 0) << pol;
      ASSERT_EQ(s.code, 0) << pol;
      EXPECT_EQ(metrics_of(nlohmann::json::parse(r.out)), metrics_of(nlohmann::json::parse(s.out))) << pol << " seed " << seed;
    }
  }
  const Out r = sh("run --json --quiet --policy trained");
  const Out e = sh("eval --json --platform rockpi_n10 --model googlenet --scenario " + sc + " --policy trained");
  ASSERT_EQ(r.code, 0);
  ASSERT_EQ(e.code, 0);
  EXPECT_EQ(metrics_of(nlohmann::json::parse(r.out)), metrics_of(nlohmann::json::parse(e.out)["results"][0]));
  // A different seed is a different run (the comparison above can fail).
  const Out r7 = sh("run --json --quiet --seed 7 --policy trained");
  EXPECT_NE(metrics_of(nlohmann::json::parse(r7.out)), metrics_of(nlohmann::json::parse(r.out)));
}

TEST(RunCli, SimulatedRecordHoldsOneDecisionPerPeriodAndTheIdentity) {
  const std::string trace = tmp("sim.trace");
  const Out o = sh("run --quiet --seconds 30 --record " + trace);
  ASSERT_EQ(o.code, 0);
  const Out info = sh("trace info " + trace);
  ASSERT_EQ(info.code, 0);
  EXPECT_NE(info.out.find("decisions:  300"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("mode=sim"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("policy_checksum="), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("event.scenario"), std::string::npos) << info.out;  // the 20 s background load
  EXPECT_EQ(sh("run --quiet --seconds 1 --record /nonexistent/dir/t.trace").code, 1);
  EXPECT_EQ(sh("run --quiet --token-file /tmp/x").code, 2);
}

}  // namespace
