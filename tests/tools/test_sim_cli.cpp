// End-to-end tests of `hetsched sim` through the real executable (HETSCHED_BINARY).
#include <gtest/gtest.h>

#include "tests/tools/cli_runner.hpp"
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using SimRun = hetsched::testing_cli::CliRun;
std::string tmp(const std::string& name) { return hetsched::testing_cli::temp_path("sim_cli", name); }
SimRun sim(const std::string& args) { return hetsched::testing_cli::run_cli("sim_cli", std::string("sim ") + args); }

const std::string kSrc = HETSCHED_SOURCE_DIR;
const std::string kSteady = "--scenario '" + kSrc + "/env/scenarios/steady.json'";
const std::string kStatic = "--policy static:BBBBGGGGGNNNN:BL:5,7,4";
const std::string kBoard = "--platform rockpi_n10 --model googlenet";

TEST(SimCli, JsonHasExactlyTheMetricKeysPlusRunIdentity) {
  const SimRun r = sim(kBoard + " " + kSteady + " " + kStatic + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const std::vector<std::string> keys = {"fps_mean", "qos_violation_pct", "energy_per_frame_mj", "avg_power_mw",
                                         "peak_temp_c", "throttled_pct", "reconfigs", "frames", "dropped_frames",
                                         "scenario", "policy", "platform", "model"};
  EXPECT_EQ(j.size(), keys.size()) << r.out;
  for (const auto& k : keys) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["scenario"], "steady");
  EXPECT_EQ(j["platform"], "rockpi_n10");
  EXPECT_EQ(j["model"], "googlenet");
  // steady.json: 60 s of a 10 FPS source: never more than 600 frames, and the metrics agree.
  const double fps = j["fps_mean"].get<double>();
  EXPECT_GT(fps, 5);
  EXPECT_LE(fps, 10.0 + 1e-9);
  EXPECT_NEAR(j["frames"].get<double>(), fps * 60, 1e-6);
  EXPECT_LE(j["frames"].get<double>() + j["dropped_frames"].get<double>(), 600);
  // Same seed: byte-identical output; another seed: different noise.
  EXPECT_EQ(sim(kBoard + " " + kSteady + " " + kStatic + " --json").out, r.out);
  EXPECT_NE(sim(kBoard + " " + kSteady + " " + kStatic + " --json --seed 2").out, r.out);
}

TEST(SimCli, TablePrintsEveryMetricAndOracleRuns) {
  const SimRun r = sim(kBoard + " " + kSteady + " " + kStatic);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* k : {"fps_mean", "qos_violation_pct", "energy_per_frame_mj", "avg_power_mw", "peak_temp_c",
                        "throttled_pct", "reconfigs", "frames", "dropped_frames"})
    EXPECT_NE(r.out.find(k), std::string::npos) << k;
  const SimRun o = sim(kBoard + " " + kSteady + " --policy oracle --json");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_GT(nlohmann::json::parse(o.out)["frames"].get<int>(), 0);
}

TEST(SimCli, ScenarioMayNamePlatformAndModelAndFlagsOverrideThem) {
  const std::string sc = tmp("named.json");
  std::ofstream(sc) << R"({"name":"named","duration_s":3,"decision_period_ms":100,"platform":"rockpi_n10",
    "model":"googlenet","initial":{"target_fps":5},"events":[]})";
  SimRun r = sim("--scenario '" + sc + "' " + kStatic + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["model"], "googlenet");
  r = sim("--scenario '" + sc + "' --platform nosuch " + kStatic + " --json");  // the flag wins
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
}

TEST(SimCli, ErrorsExitOneForMissingThingsAndTwoForBadFlags) {
  SimRun r = sim("--platform nosuch --model googlenet " + kSteady + " " + kStatic);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
  r = sim("--platform rockpi_n10 --model nosuchnet " + kSteady + " " + kStatic);
  EXPECT_EQ(r.code, 1);
  r = sim(kBoard + " --scenario /nonexistent.json " + kStatic);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/nonexistent.json"), std::string::npos);
  const std::string bad = tmp("bad.json");
  std::ofstream(bad) << R"({"name":"b","duration_s":5,"decision_period_ms":100,"initial":{},"events":[{"t_s":1,"type":"quake"}]})";
  r = sim(kBoard + " --scenario '" + bad + "' " + kStatic);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("events[0].type: unknown event type 'quake'"), std::string::npos) << r.err;
  EXPECT_EQ(sim(kBoard + " " + kSteady + " --policy greedy").code, 2);
  EXPECT_EQ(sim(kBoard + " " + kSteady + " --policy static:XYZ").code, 2);
  EXPECT_EQ(sim(kBoard + " " + kSteady + " " + kStatic + " --frobnicate").code, 2);
  EXPECT_EQ(sim(kBoard + " " + kStatic).code, 2);                       // no --scenario
  EXPECT_EQ(sim(kSteady + " " + kStatic).code, 2);                       // no platform anywhere
  EXPECT_EQ(sim(kBoard + " " + kSteady + " " + kStatic + " --seed x").code, 2);
  EXPECT_EQ(sim("--help").code, 0);
}

}  // namespace

TEST(SimCli, RecordWritesAReplayableTraceWithTheRunIdentity) {
  const std::string t = tmp("rec.trace");
  const SimRun r = sim(kBoard + " " + kSteady + " --policy heuristic --seconds 3 --record '" + t + "' --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["policy"], "heuristic");
  const auto info = hetsched::testing_cli::run_cli("sim_cli", "trace info '" + t + "'");
  ASSERT_EQ(info.code, 0) << info.err;
  for (const char* want : {"mode=sim", "policy=heuristic", "policy_checksum=0000000000000000", "initial_config=", "safe_config=",
                           "period_ns=100000000", "\"name\":\"steady\"", "decisions:  30", "integrity:  clean"})
    EXPECT_NE(info.out.find(want), std::string::npos) << want << "\n" << info.out;
  const auto rep = hetsched::testing_cli::run_cli("sim_cli", "replay '" + t + "'");
  EXPECT_EQ(rep.code, 0) << rep.out << rep.err;
  // --seconds bounds the run; bad values and unwritable paths are errors.
  EXPECT_EQ(sim(kBoard + " " + kSteady + " --policy heuristic --seconds 0").code, 2);
  EXPECT_EQ(sim(kBoard + " " + kSteady + " --policy heuristic --seconds 0.01").code, 2);  // shorter than a period
  const SimRun bad = sim(kBoard + " " + kSteady + " --policy heuristic --seconds 1 --record /nonexistent/dir/x.trace");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("/nonexistent/dir/x.trace"), std::string::npos) << bad.err;
}

TEST(SimCli, EveryControllerKindRuns) {
  for (const char* p : {"trained", "heuristic", "static-best", "governor:schedutil"}) {
    const SimRun r = sim(kBoard + " " + kSteady + " --policy " + p + " --seconds 2 --json");
    ASSERT_EQ(r.code, 0) << p << ": " << r.err;
    EXPECT_GT(nlohmann::json::parse(r.out)["frames"].get<int>(), 0) << p;
  }
}
