// Policy runner: observation bridge, offline detection, oracle candidates, runs of the
// baselines and the oracle over scenarios, recovery counting.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

// Probing back-off: a unit found offline again right after it was forgotten (the probe
// failed) stays masked twice as long; after a healthy spell the base period applies again.
TEST(PolicyRunner, OfflineDetectorBacksOffAfterAFailedProbe) {
  auto s = setup();
  ASSERT_TRUE(s);
  auto c = hp::parse_config("BBBBGGGGGNNNN:BL:5,7,4", s->platform, s->model);
  ASSERT_TRUE(c.ok());
  he::OfflineDetector d(s->platform, 3, 2);
  he::Observation hung, fine;
  hung.num_units = fine.num_units = 4, hung.num_stages = fine.num_stages = 3;
  hung.stage_latency_ms = {50, 60, 0}, hung.queue_depth = {0, 0, 2}, hung.util = {0.1, 0.5, 0.6, 0.0};
  fine.stage_latency_ms = {50, 60, 30}, fine.util = {0.1, 0.5, 0.6, 0.5};
  auto masked_periods = [&](const he::Observation& first) {
    int n = d.update(first, *c).online[3] ? 0 : 1;
    while (!d.update(fine, *c).online[3]) ++n;
    return n;
  };
  // Masked for forget·2^strikes periods counted from the detection (the last one unmasks).
  EXPECT_EQ(masked_periods(hung), 2);  // base: 3
  EXPECT_EQ(masked_periods(hung), 5);  // probe failed at once: 6
  EXPECT_EQ(masked_periods(hung), 5);  // capped at twice the base
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(d.update(fine, *c).online[3]);
  EXPECT_EQ(masked_periods(hung), 2);  // healthy for longer than the retry window: base again
}

// Candidate costs agree with predict_pipeline's FPS and power; the metadata text round-trips
// and damaged text is refused with the entry named.
TEST(PolicyRunner, CandidateCostsMatchThePredictorAndRoundTrip) {
  auto s = setup();
  ASSERT_TRUE(s);
  std::vector<hp::Config> cands;
  for (const char* t : {"BBBBGGGGGNNNN:BL:5,7,4", "LLLLLLLLLLLLL:BB:5,0,0", "NNNNNNNNNNLLL:LB:0,6,0"}) {
    auto c = hp::parse_config(t, s->platform, s->model);
    ASSERT_TRUE(c.ok()) << t;
    cands.push_back(*c);
  }
  auto k = he::candidate_costs(*s, cands);
  ASSERT_TRUE(k.ok()) << k.status().message();
  for (size_t i = 0; i < cands.size(); ++i) {
    auto p = he::predict_pipeline(*s->cost, cands[i]);
    ASSERT_TRUE(p.ok());
    double worst = 0, dyn_mj = 0;
    for (int u = 0; u < 4; ++u) {
      worst = std::max(worst, static_cast<double>((*k)[i].busy_ms[static_cast<size_t>(u)]));
      dyn_mj += (*k)[i].dyn_mw[static_cast<size_t>(u)] * (*k)[i].busy_ms[static_cast<size_t>(u)] * 1e-3;
    }
    EXPECT_NEAR(1000.0 / worst, p->fps, 1e-3 * p->fps);
    // At the bottleneck rate: power = idle + dynamic energy per frame x fps.
    EXPECT_NEAR((*k)[i].idle_mw + dyn_mj * p->fps, p->power_mw, 1e-3 * p->power_mw);
  }
  const std::string text = he::join_costs(*k, 4);
  auto back = he::parse_costs(text, 4, cands.size());
  ASSERT_TRUE(back.ok()) << back.status().message();
  for (size_t i = 0; i < cands.size(); ++i) {
    EXPECT_EQ((*back)[i].busy_ms, (*k)[i].busy_ms);
    EXPECT_EQ((*back)[i].idle_mw, (*k)[i].idle_mw);
  }
  EXPECT_FALSE(he::parse_costs(text, 4, cands.size() + 1).ok());
  EXPECT_FALSE(he::parse_costs("12;1,2;x,4", 4, 1).ok());
  EXPECT_FALSE(he::parse_costs("12;1,2;3,4;nan,1;1,1", 4, 1).ok());
  auto parts = he::make_agent_parts(*s, cands, 0, *k);
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->space->has_costs() && parts->encoder.has_costs());
  // The costs are part of the schema: a policy trained with other numbers is refused.
  auto other = *k;
  other[0].idle_mw += 100;
  auto parts2 = he::make_agent_parts(*s, cands, 0, other);
  ASSERT_TRUE(parts2.ok());
  EXPECT_NE(parts->schema.action_space, parts2->schema.action_space);
}

// The grid gives the same candidates on 2 threads from a cold cache and on 1 thread from the
// warm cache file, which then answers every grid query without the oracle.
TEST(PolicyRunner, OracleCandidatesThreadAndCacheIndependent) {
  auto s = setup();
  ASSERT_TRUE(s);
  const he::Scenario sc = scenario("steady.json");
  const std::string dir = ::testing::TempDir() + "/hetsched_oracle_cache";
  std::filesystem::remove_all(dir);
  auto cold = he::OracleCache::open(*s, dir);
  auto a = he::oracle_candidates(*s, {sc}, 64, 2, &cold);
  ASSERT_TRUE(a.ok());
  EXPECT_GT(cold.size(), 100u);
  ASSERT_TRUE(cold.flush().ok());
  auto warm = he::OracleCache::open(*s, dir);
  EXPECT_EQ(warm.path(), cold.path());
  auto b = he::oracle_candidates(*s, {sc}, 64, 1, &warm);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, *a);
  EXPECT_GT(warm.hits(), 100);
  EXPECT_EQ(warm.misses(), 0);
  // One query: the cached answer is the oracle's (in canonical text form).
  he::Conditions c = he::conditions_at(sc, s->platform, 0.0);
  hp::Config x, y;
  ASSERT_TRUE(warm.query(*s, c, &x));
  he::OracleResult r;
  ASSERT_TRUE(s->oracle->query(c, &r).ok());
  EXPECT_EQ(hp::format_config(x, s->platform), hp::format_config(r.config, s->platform));
  // A damaged file is ignored (with a note), not trusted.
  { std::ofstream(warm.path()) << "garbage\n"; }
  auto bad = he::OracleCache::open(*s, dir);
  EXPECT_FALSE(bad.note().empty());
  ASSERT_TRUE(bad.query(*s, c, &y));
  EXPECT_EQ(bad.misses(), 1);
  EXPECT_EQ(x, y);
  std::filesystem::remove_all(dir);
}

// hetsched train and bench_eval_agent default to a model's own suite when it has one.
TEST(PolicyRunner, DefaultScenarioDirPicksTheModelsSuite) {
  const std::string d = HETSCHED_SOURCE_DIR;
  EXPECT_EQ(he::default_scenario_dir(d, "resnet50"), d + "/env/scenarios/resnet50");
  EXPECT_EQ(he::default_scenario_dir(d, "googlenet"), d + "/env/scenarios");
  EXPECT_EQ(he::default_scenario_dir(d, "heldout"), d + "/env/scenarios");  // the held-out set is no model's suite
  EXPECT_EQ(he::default_scenario_dir(d, ""), d + "/env/scenarios");
  const std::string t = ::testing::TempDir() + "hetsched_default_suite";
  std::filesystem::remove_all(t);
  std::filesystem::create_directories(t + "/env/scenarios");
  EXPECT_EQ(he::default_scenario_dir(t, "mobilenet_v1"), t + "/env/scenarios");
  std::filesystem::create_directories(t + "/env/scenarios/mobilenet_v1");
  EXPECT_EQ(he::default_scenario_dir(t, "mobilenet_v1"), t + "/env/scenarios/mobilenet_v1");
  std::filesystem::remove_all(t);
}

// env/scenarios/resnet50 is the shared suite with the targets scaled by one factor (its
// README): same files, names, durations, event types, times, units and magnitudes; target FPS
// x s (0.1 FPS), latency bounds / s (10 ms).
TEST(PolicyRunner, Resnet50SuiteMirrorsTheSharedSuite) {
  const std::string d = HETSCHED_SOURCE_DIR;
  const double s = 0.3407;
  int files = 0;
  for (const std::string sub : {"", "/heldout"}) {
    for (const auto& e : std::filesystem::directory_iterator(d + "/env/scenarios" + sub)) {
      if (e.path().extension() != ".json") continue;
      ++files;
      auto a = he::load_scenario(e.path().string());
      auto b = he::load_scenario(d + "/env/scenarios/resnet50" + sub + "/" + e.path().filename().string());
      ASSERT_TRUE(a.ok() && b.ok()) << e.path();
      EXPECT_EQ(a->name, b->name);
      EXPECT_EQ(a->duration_s, b->duration_s);
      EXPECT_EQ(a->initial.ambient_c, b->initial.ambient_c);
      EXPECT_NEAR(b->initial.target_fps, a->initial.target_fps * s, 0.051) << a->name;
      ASSERT_EQ(a->events.size(), b->events.size()) << a->name;
      for (size_t i = 0; i < a->events.size(); ++i) {
        const auto &x = a->events[i], &y = b->events[i];
        EXPECT_EQ(x.type, y.type);
        EXPECT_EQ(x.t_s, y.t_s);
        EXPECT_EQ(x.unit, y.unit);
        EXPECT_EQ(x.duration_s, y.duration_s);
        EXPECT_EQ(x.cores, y.cores);
        EXPECT_EQ(x.util, y.util);
        EXPECT_EQ(x.slowdown, y.slowdown);
        if (x.type == he::EventType::kTargetFps) EXPECT_NEAR(y.value, x.value * s, 0.051) << a->name;
        else if (x.type == he::EventType::kMaxLatencyMs) EXPECT_NEAR(y.value, x.value / s, 5.01) << a->name;
        else EXPECT_EQ(x.value, y.value) << a->name;
      }
    }
  }
  EXPECT_EQ(files, 13);
}
