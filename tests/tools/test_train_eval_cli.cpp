// End-to-end tests of `hetsched train` and `hetsched eval` through the real executable.
#include <gtest/gtest.h>

#include "tests/tools/cli_runner.hpp"
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using hetsched::testing_cli::CliRun;
std::string slurp(const std::string& p) { return hetsched::testing_cli::slurp(p); }
std::string tmp(const std::string& name) { return hetsched::testing_cli::temp_path("train_eval", name); }
CliRun run(const std::string& args) { return hetsched::testing_cli::run_cli("train_eval", std::string("") + args); }

const std::string kSrc = HETSCHED_SOURCE_DIR;
const std::string kBoard = "--platform rockpi_n10 --model googlenet";
const std::string kSteady = "'" + kSrc + "/env/scenarios/steady.json'";

}  // namespace

TEST(EvalCli, JsonResultsForEveryPair) {
  const CliRun r = run("eval " + kBoard + " --policy static-best --policy oracle --policy governor:schedutil --scenario " + kSteady +
                    " --scenario '" + kSrc + "/env/scenarios/npu_offline.json' --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 6u);
  for (const auto& x : j["results"])
    for (const char* k : {"scenario", "policy", "fps_mean", "qos_violation_pct", "energy_per_frame_mj", "reconfigs"})
      EXPECT_TRUE(x.contains(k)) << k;
  EXPECT_EQ(j["results"][0]["policy"], "static-best");
  EXPECT_EQ(j["results"][0]["scenario"], "steady");
  // The oracle on the NPU-offline scenario beats the static offline pick.
  EXPECT_LT(j["results"][3]["qos_violation_pct"].get<double>(), j["results"][1]["qos_violation_pct"].get<double>());
}

TEST(EvalCli, ShippedTrainedPolicyRuns) {
  const CliRun r = run("eval " + kBoard + " --policy trained --scenario " + kSteady + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["results"][0]["frames"].get<double>(), 0);
}

TEST(EvalCli, BadArgumentsExit2AndBadFilesExit1) {
  EXPECT_EQ(run("eval " + kBoard + " --scenario " + kSteady).code, 2);                        // no --policy
  EXPECT_EQ(run("eval " + kBoard + " --policy governor:turbo --scenario " + kSteady).code, 2);  // unknown builtin
  EXPECT_EQ(run("eval " + kBoard + " --policy oracle --scenario " + kSteady + " --seed -1").code, 2);
  EXPECT_EQ(run("eval " + kBoard + " --policy oracle --scenario /nonexistent.json").code, 1);
  const CliRun r = run("eval " + kBoard + " --policy /nonexistent.policy --scenario " + kSteady);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nonexistent.policy"), std::string::npos);
  EXPECT_EQ(run("eval --help").code, 0);
}

TEST(EvalCli, RecordWritesOneReplayableTracePerPair) {
  const std::string dir = tmp("eval_rec");
  std::system(("rm -rf '" + dir + "'").c_str());
  const std::string pairs = "eval " + kBoard + " --policy heuristic --policy governor:schedutil --scenario " + kSteady +
                            " --scenario '" + kSrc + "/env/scenarios/fps_changes.json'";
  const CliRun r = run(pairs + " --record '" + dir + "' --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 4u);
  // Recording does not change the table.
  const auto plain = nlohmann::json::parse(run(pairs + " --json").out);
  for (size_t i = 0; i < 4; ++i) {
    auto x = j["results"][i];
    x.erase("trace");
    x.erase("trace_metrics_identical");
    EXPECT_EQ(x, plain["results"][i]) << i;
  }
  // One trace per pair, names sanitised; each replays bit-for-bit under its recorded policy.
  for (const char* f : {"heuristic_steady", "heuristic_fps_changes", "governor_schedutil_steady", "governor_schedutil_fps_changes"}) {
    const std::string t = dir + "/" + f + ".trace";
    EXPECT_TRUE(std::ifstream(t).good()) << t;
    const CliRun rep = run("replay '" + t + "' --json");
    EXPECT_EQ(rep.code, 0) << t << ": " << rep.out << rep.err;
    if (rep.code == 0) {
      EXPECT_TRUE(nlohmann::json::parse(rep.out)["identical"].get<bool>()) << t;
    }
  }
  // The heuristic's recorded run is the one in the table (same metrics through the controller loop).
  EXPECT_EQ(j["results"][0]["trace"], dir + "/heuristic_steady.trace");
  EXPECT_TRUE(j["results"][0]["trace_metrics_identical"].get<bool>());
  EXPECT_TRUE(j["results"][1]["trace_metrics_identical"].get<bool>());
  // Two pairs that would write the same file: usage error before anything runs.
  const CliRun clash = run("eval " + kBoard + " --policy governor:schedutil --policy governor_schedutil --scenario " + kSteady +
                           " --record '" + dir + "'");
  EXPECT_EQ(clash.code, 2);
  EXPECT_NE(clash.err.find("would both write"), std::string::npos) << clash.err;
  // A directory that cannot be created: runtime error.
  EXPECT_EQ(run("eval " + kBoard + " --policy heuristic --scenario " + kSteady + " --record /proc/nope/x").code, 1);
}

TEST(TrainCli, SameSeedSamePolicyAndCurve) {
  const std::string a = tmp("a.policy"), b = tmp("b.policy");
  const std::string args = "train " + kBoard + " --scenarios " + kSteady + " --seed 3 --steps 3000 --envs 2 --out ";
  const CliRun ra = run(args + "'" + a + "'");
  ASSERT_EQ(ra.code, 0) << ra.err;
  const CliRun rb = run(args + "'" + b + "' --threads 2");
  ASSERT_EQ(rb.code, 0) << rb.err;
  EXPECT_EQ(slurp(a), slurp(b));  // byte-identical policy files (no wall-clock metadata)
  // Without the oracle-answer cache (b ran with a's answers cached): the same file again.
  const std::string d = tmp("d.policy");
  const CliRun rd = run(args + "'" + d + "' --cache none");
  ASSERT_EQ(rd.code, 0) << rd.err;
  EXPECT_EQ(slurp(a), slurp(d));
  EXPECT_EQ(slurp(a + ".csv"), slurp(b + ".csv"));
  EXPECT_NE(slurp(a + ".csv").find("episode,steps,scenario,mean_reward"), std::string::npos);
  EXPECT_NE(ra.err.find("steps/s"), std::string::npos);
  // The written policy evaluates.
  const CliRun e = run("eval " + kBoard + " --policy '" + a + "' --scenario " + kSteady + " --json");
  EXPECT_EQ(e.code, 0) << e.err;
  // Another seed gives other weights.
  const std::string c = tmp("c.policy");
  ASSERT_EQ(run("train " + kBoard + " --scenarios " + kSteady + " --seed 4 --steps 3000 --envs 2 --out '" + c + "'").code, 0);
  EXPECT_NE(slurp(a), slurp(c));
}

TEST(TrainCli, BadArgumentsExit2) {
  EXPECT_EQ(run("train " + kBoard + " --seed 1").code, 2);                                // no --out
  EXPECT_EQ(run("train " + kBoard + " --seed 1 --out x --steps 0").code, 2);
  EXPECT_EQ(run("train " + kBoard + " --seed 1 --out x --learner sarsa").code, 2);
  EXPECT_EQ(run("train " + kBoard + " --seed 1 --out x --minutes -1").code, 2);
  EXPECT_EQ(run("train --platform nowhere --model googlenet --seed 1 --out x").code, 1);
  EXPECT_EQ(run("train --help").code, 0);
}
