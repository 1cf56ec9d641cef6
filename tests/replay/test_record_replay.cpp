// Record -> replay is identical (simulated and host runs); cut and corrupted traces replay their
// intact part and say what was lost; the counterfactual rebuilds the recorded conditions.
#include <random>
#include <thread>

#include "tests/replay/replay_util.hpp"

using namespace hetsched::replay_test;

namespace {
const std::string kScen = "--scenario '" + src("tests/replay/scenarios/combined.json") + "'";
}

TEST(RecordReplay, SimulatedRunsReplayIdenticallyForEveryPolicyKind) {
  for (const char* policy : {"trained", "heuristic", "governor:schedutil", "static-best"}) {
    SCOPED_TRACE(policy);
    const std::string t = tmp(std::string("sim_") + (policy[0] == 'g' ? "gov" : policy) + ".trace");
    const CliRun rec = hs("sim " + kScen + " --policy " + policy + " --record '" + t + "' --json");
    ASSERT_EQ(rec.code, 0) << rec.err;
    // Recording does not change the run.
    EXPECT_EQ(hs("sim " + kScen + " --policy " + policy + " --json").out, rec.out);
    const CliRun r = hs("replay '" + t + "' --json");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(j["identical"].get<bool>());
    EXPECT_EQ(j["decisions_replayed"].get<int>(), 40);
  }
  // Same run, same bytes: a trace recorded in virtual time is reproducible.
  const std::string a = tmp("a.trace"), b = tmp("b.trace");
  ASSERT_EQ(hs("sim " + kScen + " --policy heuristic --record '" + a + "'").code, 0);
  ASSERT_EQ(hs("sim " + kScen + " --policy heuristic --record '" + b + "'").code, 0);
  EXPECT_EQ(read_bytes(a), read_bytes(b));
}

TEST(RecordReplay, SimulatedHetschedRunReplaysIdentically) {
  // `hetsched run` (simulated, shortened: the scenario's later events never fire) records the same
  // way; its trace carries fewer controller keys, and replay falls back to what run uses.
  const std::string t = tmp("run.trace");
  const CliRun rec = hs("run --seconds 6 --quiet --record '" + t + "'");
  ASSERT_EQ(rec.code, 0) << rec.err;
  const CliRun r = hs("replay '" + t + "' --json");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out)["identical"].get<bool>());
  EXPECT_EQ(nlohmann::json::parse(r.out)["decisions_replayed"], 60);
}

TEST(RecordReplay, CutAtRandomBytesReplaysUpToTheCut) {
  const std::string full = src("tests/replay/golden/combined.trace");
  const auto bytes = read_bytes(full);
  std::mt19937_64 rng(20261125);
  for (int i = 0; i < 6; ++i) {
    const std::size_t cut = 200 + rng() % (bytes.size() - 200);
    SCOPED_TRACE("cut at byte " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
    const std::string t = tmp("cut.trace");
    write_bytes(t, bytes, cut);
    const CliRun r = hs("replay '" + t + "' --json");
    const std::uint64_t intact = intact_decisions(t);
    if (intact == 0) {  // cut inside the first chunk: nothing to replay, and it says so
      EXPECT_EQ(r.code, 1);
      EXPECT_NE(r.err.find("no intact decision period"), std::string::npos) << r.err;
      continue;
    }
    EXPECT_EQ(r.code, 1) << r.out << r.err;  // damaged, but ...
    EXPECT_NE(r.err.find("replayed the intact part"), std::string::npos) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(j["identical"].get<bool>());  // ... everything before the cut replays identically
    EXPECT_TRUE(j["damaged"].get<bool>());
    // Every intact decision is replayed, except one whose frame samples the cut split off.
    EXPECT_GE(j["decisions_replayed"].get<std::uint64_t>() + 1, intact);
    EXPECT_LE(j["decisions_replayed"].get<std::uint64_t>(), intact);
  }
}

TEST(RecordReplay, CorruptedMiddleGivesAClearErrorAndTheIntactPartReplays) {
  const auto bytes = read_bytes(src("tests/replay/golden/combined.trace"));
  auto bad = bytes;
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  const std::string t = tmp("corrupt.trace");
  write_bytes(t, bad, bad.size());
  const CliRun r = hs("replay '" + t + "' --json");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is damaged"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["identical"].get<bool>());
  EXPECT_GT(j["decisions_replayed"].get<int>(), 5);
  EXPECT_LT(j["decisions_replayed"].get<int>(), 40);
  EXPECT_NE(j["damage"].get<std::string>().find("lost"), std::string::npos) << j["damage"];
  // Not a trace at all: one line, exit 1.
  write_bytes(t, std::vector<char>(100, 'x'), 100);
  const CliRun n = hs("replay '" + t + "'");
  EXPECT_EQ(n.code, 1);
  EXPECT_NE(n.err.find("not a hetsched trace"), std::string::npos) << n.err;
}

TEST(RecordReplay, CounterfactualUnderTheRecordedPolicyReproducesTheRecordedMetrics) {
  const std::string t = tmp("cf.trace");
  ASSERT_EQ(hs("sim " + kScen + " --policy heuristic --record '" + t + "'").code, 0);
  const CliRun same = hs("replay '" + t + "' --counterfactual --policy heuristic --json");
  ASSERT_EQ(same.code, 0) << same.err;
  const auto j = nlohmann::json::parse(same.out);
  EXPECT_EQ(j["recorded"], j["counterfactual"]);  // same conditions + same policy = same run
  EXPECT_EQ(j["scenario_events"], 6);
  const CliRun other = hs("replay '" + t + "' --counterfactual --policy oracle --json");
  ASSERT_EQ(other.code, 0) << other.err;
  const auto o = nlohmann::json::parse(other.out);
  EXPECT_EQ(o["recorded"], j["recorded"]);
  EXPECT_NE(o["counterfactual"], o["recorded"]);
  for (const char* k : {"fps_mean", "qos_violation_pct", "energy_per_frame_mj", "avg_power_mw", "peak_temp_c", "throttled_pct",
                        "reconfigs", "frames", "dropped_frames"}) {
    EXPECT_TRUE(o["recorded"].contains(k)) << k;
    EXPECT_TRUE(o["counterfactual"].contains(k)) << k;
  }
  // The simulator's own count of frames is what the trace recomputation finds.
  EXPECT_EQ(o["counterfactual"]["frames"], o["counterfactual_simulator"]["frames"]);
  EXPECT_EQ(hs("replay '" + t + "' --counterfactual").code, 2);
  EXPECT_EQ(hs("replay '" + t + "' --counterfactual --policy nosuch").code, 2);
}

TEST(RecordReplay, HostRunReplaysIdentically) {
  // Real inference on this machine: timing is nondeterministic, so the check is record -> replay
  // within this run, not a stored golden trace.
  const std::string t = tmp("host.trace");
  const CliRun rec = hs("run --platform host --model mobilenet_v1 --seconds 2 --quiet --record '" + t + "'");
  ASSERT_EQ(rec.code, 0) << rec.err;
  const CliRun r = hs("replay '" + t + "' --json");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["identical"].get<bool>());
  EXPECT_GE(j["decisions_replayed"].get<int>(), 10);  // 100 ms decision period over 2 s
}

TEST(RecordReplay, HostRunWithSplitRecordsTheControllerSettingsAndReplaysIdentically) {
  // With --split the initial split is the user's while the guard's safe split is the
  // calibration's balance: a trace without the controller's settings made replay fall back to
  // safe = initial, so any guard decision would have replayed as the user's split. The header now
  // carries both (and the guard, rate limit, balancer gain). --deadline-ms is a non-default
  // option on the same path (a burst of >= 5 misses per 100 ms period would trigger the guard;
  // mobilenet_v1 runs at ~27 fps on this VM, so the guard itself cannot be forced here).
  const std::string t = tmp("host_split.trace");
  const CliRun rec = hs("run --platform host --model mobilenet_v1 --seconds 2 --quiet --split cpu0:26,cpu1:2 --deadline-ms 1 "
                        "--record '" + t + "'");
  ASSERT_EQ(rec.code, 0) << rec.err;
  const CliRun info = hs("trace info '" + t + "'");
  ASSERT_EQ(info.code, 0) << info.err;
  auto meta = [&](const std::string& key) {
    const auto p = info.out.find(" " + key + "=");
    if (p == std::string::npos) return std::string("<missing>");
    const auto s = p + key.size() + 2;
    return info.out.substr(s, info.out.find_first_of(" \n", s) - s);
  };
  for (const char* key : {"guard", "rate_limit_ns", "host_units", "min_gain", "period_ns"})
    EXPECT_NE(meta(key), "<missing>") << key << "\n" << info.out;
  EXPECT_EQ(meta("initial_config").substr(0, 28), std::string(26, 'A') + "BB") << info.out;
  EXPECT_NE(meta("safe_config"), "<missing>");
  EXPECT_NE(meta("safe_config"), meta("initial_config")) << "the safe split is the calibration's balance";
  const CliRun r = hs("replay '" + t + "' --json");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["identical"].get<bool>()) << r.out;
  EXPECT_GE(j["decisions_replayed"].get<int>(), 10);
}
