// Policy runner: observation bridge, offline detection, oracle candidates, runs of the
// baselines and the oracle over scenarios, recovery counting.
#include <gtest/gtest.h>

#include "env/policy_runner.hpp"

namespace he = hetsched::env;
namespace hp = hetsched::policies;

namespace {
std::shared_ptr<he::RunnerSetup> setup() {
  static std::shared_ptr<he::RunnerSetup> s = [] {
    auto r = he::make_runner_setup(HETSCHED_SOURCE_DIR, "rockpi_n10", "googlenet");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : nullptr;
  }();
  return s;
}
he::Scenario scenario(const std::string& name) {
  auto s = he::load_scenario(std::string(HETSCHED_SOURCE_DIR) + "/env/scenarios/" + name);
  EXPECT_TRUE(s.ok());
  return *s;
}
}  // namespace

TEST(PolicyRunner, FrameFromObservationConvertsUnits) {
  he::Observation o;
  o.period_s = 0.1, o.fps = 9.5, o.frames = 1, o.latency_ms = 120, o.max_latency_ms = 150, o.power_mw = 4000;
  o.num_stages = 2, o.stage_latency_ms = {40, 80}, o.num_units = 4, o.util = {0.5, 0.2, 0, 0};
  o.num_zones = 1, o.zone_temp_c = {55.5}, o.target_fps = 10, o.max_latency_target_ms = 200;
  hp::TelemetryFrame f;
  he::frame_from_observation(o, &f);
  EXPECT_DOUBLE_EQ(f.max_latency_us, 150000);
  EXPECT_DOUBLE_EQ(f.stage_latency_us[1], 80000);
  EXPECT_EQ(f.temp_mc[0], 55500);
  EXPECT_DOUBLE_EQ(f.max_latency_us_target, 200000);
  EXPECT_TRUE(f.fps_ok && f.latency_ok && f.unit_ok[3]);
}

TEST(PolicyRunner, OfflineDetectorFlagsStalledUnitAndForgets) {
  auto s = setup();
  ASSERT_TRUE(s);
  auto c = hp::parse_config("BBBBGGGGGNNNN:BL:5,7,4", s->platform, s->model);
  ASSERT_TRUE(c.ok());
  he::OfflineDetector d(s->platform, 3);
  he::Observation o;
  o.num_units = 4, o.num_stages = 3, o.stage_latency_ms = {50, 60, 0}, o.queue_depth = {0, 0, 2};
  o.util = {0.1, 0.5, 0.6, 0.0};
  o.max_freq_khz = {1416000, 1200000, 800000, 0};  // B capped at 1.2 GHz = OPP 4
  EXPECT_FALSE(d.update(o, *c).online[3]);
  EXPECT_EQ(d.mask().max_opp[1], 4);
  EXPECT_EQ(d.mask().max_opp[0], 5);
  o.queue_depth = {0, 0, 0};
  EXPECT_FALSE(d.update(o, *c).online[3]);
  EXPECT_TRUE(d.update(o, *c).online[3]);  // forgotten after 3 periods: probe again
}

TEST(PolicyRunner, OracleCandidatesAreValidAndIncludeStaticBest) {
  auto s = setup();
  ASSERT_TRUE(s);
  const he::Scenario sc = scenario("combined.json");
  auto c = he::oracle_candidates(*s, {sc}, 64);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_GE(c->size(), 4u);
  EXPECT_LE(c->size(), 64u);
  for (const auto& x : *c) EXPECT_TRUE(hp::validate_config(x, s->platform, s->model).ok());
  auto best = he::static_best(*s, sc);
  ASSERT_TRUE(best.ok());
  EXPECT_NE(std::find(c->begin(), c->end(), *best), c->end());
  auto parts = he::make_agent_parts(*s, *c);
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  EXPECT_EQ(parts->space->num_candidates(), static_cast<int>(c->size()));
}

TEST(PolicyRunner, OracleBeatsStaticBestWhenTheNpuGoesOffline) {
  auto s = setup();
  ASSERT_TRUE(s);
  const he::Scenario sc = scenario("npu_offline.json");
  auto sb = he::make_builtin(*s, "static-best", sc);
  ASSERT_TRUE(sb.ok());
  auto a = he::run_scenario(*s, sc, 1, sb->get());
  auto o = he::run_scenario(*s, sc, 1, nullptr);
  ASSERT_TRUE(a.ok() && o.ok());
  EXPECT_GT(a->metrics.frames, 0);
  EXPECT_LT(o->metrics.qos_violation_pct, a->metrics.qos_violation_pct);
  EXPECT_EQ(a->metrics.reconfigs, 0);  // static never reconfigures
  EXPECT_EQ(a->recovery_periods.size(), he::change_points(sc).size());
  EXPECT_GE(a->recovery_periods.size(), 1u);
  // Same seed, same run.
  auto a2 = he::run_scenario(*s, sc, 1, sb->get());
  ASSERT_TRUE(a2.ok());
  EXPECT_EQ(a2->metrics.frames, a->metrics.frames);
  EXPECT_FALSE(he::make_builtin(*s, "governor:nope", sc).ok());
}

TEST(PolicyRunner, RecoveryPeriodsCountUntilQosHolds) {
  he::Scenario sc;
  sc.duration_s = 2;
  sc.decision_period_ms = 100;
  he::ScenarioEvent e;
  e.t_s = 0.5;
  e.type = he::EventType::kTargetFps;
  e.value = 5;
  sc.events = {e};
  std::vector<std::uint8_t> v(20, 0);
  v[5] = v[6] = v[7] = 1;
  EXPECT_EQ(he::recovery_periods(sc, v), std::vector<int>{3});
  v[5] = v[6] = v[7] = 0;
  EXPECT_EQ(he::recovery_periods(sc, v), std::vector<int>{0});
}

TEST(PolicyRunner, LoadTrainedRefusesForeignAndMissingFiles) {
  auto s = setup();
  ASSERT_TRUE(s);
  EXPECT_FALSE(he::load_trained(*s, "/nonexistent.policy").ok());
  // The resnet50 policy names resnet50 candidates: refused on googlenet with a clear message.
  auto r = he::load_trained(*s, std::string(HETSCHED_SOURCE_DIR) + "/policies/trained/rockpi_n10_resnet50.policy");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.status().message().empty());
}
