// Discrete-event dynamics on a hand-built platform with exact costs (so expected FPS and
// power are simple arithmetic), plus one check against the calibrated CostModel.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "env/calib_data.hpp"
#include "env/cost_model.hpp"
#include "env/sim.hpp"
#include "policies/config.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"

namespace hetsched::env::testing {

using policies::Config;
using policies::PlatformDesc;
using policies::UnitKind;

PlatformDesc fake_platform() {
  PlatformDesc p;
  p.name = "fake";
  auto unit = [](char l, UnitKind k, int cores, std::vector<std::int64_t> mhz, std::string hosts) {
    policies::UnitDesc u;
    u.letter = l, u.kind = k, u.cores = cores, u.hosts = std::move(hosts);
    for (auto f : mhz) u.opps.push_back({f * 1000, 900000});
    return u;
  };
  p.units = {unit('L', UnitKind::kCpu, 4, {500, 1000, 1500}, ""), unit('B', UnitKind::kCpu, 2, {1000, 1500, 2000}, ""),
             unit('G', UnitKind::kGpu, 1, {400, 800}, "LB")};
  p.zones = {{"soc", {{70000, 2000, "passive"}, {95000, 2000, "critical"}}, "LBG"}};
  return p;
}

// Pure compute scaling: t = t_max · f_max / f; 1 ms per hand-off; linear power in util.
class FakeCosts final : public SimCosts {
 public:
  FakeCosts() : p_(fake_platform()) {}
  const PlatformDesc& platform() const noexcept override { return p_; }
  int num_blocks() const noexcept override { return 6; }
  double block_time_ms(int, int unit, int opp, int, int) const noexcept override {
    static const double t_max[] = {20, 10, 8};
    const auto& o = p_.units[unit].opps;
    return t_max[unit] * static_cast<double>(o.back().freq_khz) / static_cast<double>(o[opp].freq_khz);
  }
  double transfer_ms(int, int s, int d) const noexcept override { return s == d ? 0 : 1; }
  double board_idle_mw(const std::array<std::int8_t, kMaxUnits>&, double) const noexcept override { return 2000; }
  double dynamic_power_mw(int unit, int opp, double util) const noexcept override {
    static const double mw[3][3] = {{300, 600, 1000}, {500, 1000, 2000}, {400, 1200, 1200}};
    return mw[unit][opp] * util;
  }
  double dvfs_delay_ms(int, int a, int b) const noexcept override { return a == b ? 0 : dvfs_ms; }
  double dvfs_ms = 1;  // measured transition delay stand-in

 private:
  PlatformDesc p_;
};

std::shared_ptr<const SimCosts> fake_costs() { return std::make_shared<FakeCosts>(); }
ThermalParams fake_thermal() {
  ThermalParams t;
  t.zones.resize(1);
  return t;
}

Config make_config(const std::string& order, std::array<int, 3> opp) {
  Config c;
  c.num_blocks = static_cast<int>(order.size());
  for (size_t i = 0; i < order.size(); ++i) c.unit[i] = order[i];
  c.gpu_host = 'B', c.npu_host = 'B';
  c.freq_idx.fill(-1);
  for (int u = 0; u < 3; ++u) c.freq_idx[u] = static_cast<std::int8_t>(opp[u]);
  return c;
}

Scenario make_scenario(double duration_s, double fps, double ambient = 25) {
  Scenario s;
  s.name = "test";
  s.duration_s = duration_s;
  s.decision_period_ms = 100;
  s.initial.target_fps = fps;
  s.initial.ambient_c = ambient;
  return s;
}

Simulator make_sim(SimOptions o = {}) {
  auto s = Simulator::create(fake_costs(), fake_thermal(), o);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return std::move(s.value());
}

void run(Simulator& sim, const Config& c) {
  ASSERT_TRUE(sim.apply(c).ok());
  while (!sim.done()) sim.step();
}

void expect_conservation(const Simulator& sim) {
  const auto& t = sim.truth();
  EXPECT_EQ(t.frames_in, t.frames_done + t.frames_dropped + t.frames_in_system);
  EXPECT_EQ(sim.metrics().result().frames, t.frames_done);
  EXPECT_EQ(sim.metrics().result().dropped_frames, t.frames_dropped);
}

TEST(Sim, SteadyStateMatchesBottleneckAndPowerArithmetic) {
  auto sim = make_sim();
  ASSERT_TRUE(sim.reset(make_scenario(30, 0), 1).ok());
  // B stage: 3 x 10 ms = 30 ms (bottleneck); G stage: 3 x 8 ms + 1 ms hand-off = 25 ms.
  run(sim, make_config("BBBGGG", {2, 2, 1}));
  const Metrics m = sim.metrics().result();
  EXPECT_NEAR(m.fps_mean, 1000.0 / 30, 1000.0 / 30 * 0.02);
  // P = idle 2000 + B 2000·1 + G 1200·25/30 = 5000 mW (noise CoV 1.4 % per period averages out).
  EXPECT_NEAR(m.avg_power_mw, 5000, 5000 * 0.02);
  EXPECT_NEAR(m.energy_per_frame_mj, 5000 / (1000.0 / 30), 150 * 0.03);
  EXPECT_EQ(m.dropped_frames, 0);
  EXPECT_EQ(m.reconfigs, 0);
  expect_conservation(sim);
  // Latency of one frame through both stages ≈ 30 + 25 ms (+ waiting behind the bottleneck).
  EXPECT_GE(sim.observation().latency_ms, 50);
  EXPECT_NEAR(sim.observation().stage_latency_ms[0], 30, 1.5);
  EXPECT_NEAR(sim.observation().stage_latency_ms[1], 25, 1.5);
}

TEST(Sim, BoundedInputQueueDropsWhenSourceOutrunsPipeline) {
  auto sim = make_sim();
  ASSERT_TRUE(sim.reset(make_scenario(20, 20), 2).ok());
  run(sim, make_config("LLLLLL", {2, 0, 0}));  // 6 x 20 ms = 120 ms per frame: 8.3 FPS < 20
  const Metrics m = sim.metrics().result();
  EXPECT_NEAR(m.fps_mean, 1000.0 / 120, 0.3);
  // 20 FPS offered for 20 s = 400 frames; ~167 served, the rest dropped (a few still queued).
  EXPECT_NEAR(static_cast<double>(m.dropped_frames), 400 - 20 * 1000.0 / 120, 8);
  EXPECT_GT(m.qos_violation_pct, 95);
  expect_conservation(sim);
}

TEST(Sim, PeriodicSourceBelowCapacityDeliversTargetWithoutDrops) {
  auto sim = make_sim();
  ASSERT_TRUE(sim.reset(make_scenario(20, 10), 3).ok());
  run(sim, make_config("BBBGGG", {2, 2, 1}));
  const Metrics m = sim.metrics().result();
  EXPECT_NEAR(m.fps_mean, 10, 0.1);
  EXPECT_EQ(m.dropped_frames, 0);
  EXPECT_EQ(m.qos_violation_pct, 0);
  // Pipeline idle between frames: power = idle + B 2000·0.3 + G 1200·0.25 = 2900 mW.
  EXPECT_NEAR(m.avg_power_mw, 2900, 2900 * 0.02);
}

TEST(Sim, ReconfigurationDrainsRefillsAndCountsEveryFrameOnce) {
  auto sim = make_sim();
  ASSERT_TRUE(sim.reset(make_scenario(20, 10), 4).ok());
  ASSERT_TRUE(sim.apply(make_config("LLLLLL", {2, 0, 0})).ok());
  for (int i = 0; i < 50; ++i) sim.step();
  const auto before = sim.truth();
  ASSERT_TRUE(sim.apply(make_config("BBBGGG", {2, 2, 1})).ok());
  bool saw_reconfiguring = false;
  for (int i = 0; i < 5; ++i) saw_reconfiguring |= sim.step().reconfiguring || sim.truth().sample.reconfigs > 0;
  EXPECT_TRUE(saw_reconfiguring);
  while (!sim.done()) sim.step();
  const Metrics m = sim.metrics().result();
  EXPECT_EQ(m.reconfigs, 1);
  EXPECT_EQ(sim.num_stages(), 2);
  expect_conservation(sim);
  EXPECT_GT(sim.truth().frames_done, before.frames_done);
  // After the switch the faster pipeline keeps up with 10 FPS (the old one ran at 8.3).
  EXPECT_NEAR(sim.observation().fps, 10, 0.3);
  // Same config again: no reconfiguration; DVFS-only change: no reconfiguration either.
  ASSERT_TRUE(sim.reset(make_scenario(5, 10), 4).ok());
  ASSERT_TRUE(sim.apply(make_config("BBBGGG", {2, 2, 1})).ok());
  sim.step();
  ASSERT_TRUE(sim.apply(make_config("BBBGGG", {2, 2, 1})).ok());
  ASSERT_TRUE(sim.apply(make_config("BBBGGG", {2, 1, 1})).ok());
  while (!sim.done()) sim.step();
  EXPECT_EQ(sim.metrics().result().reconfigs, 0);
  EXPECT_EQ(sim.observation().freq_khz[1], 1500000);
}

TEST(Sim, SameSeedSameTrajectoryDifferentSeedDifferentNoise) {
  auto trajectory = [](std::uint64_t seed) {
    auto sim = make_sim();
    EXPECT_TRUE(sim.reset(make_scenario(10, 0), seed).ok());
    EXPECT_TRUE(sim.apply(make_config("BBBGGG", {2, 2, 1})).ok());
    std::vector<double> v;
    while (!sim.done()) {
      const auto& o = sim.step();
      v.insert(v.end(), {o.fps, o.power_mw, o.latency_ms, o.stage_latency_ms[0], o.stage_latency_ms[1], o.zone_temp_c[0]});
    }
    return v;
  };
  const auto a = trajectory(42), b = trajectory(42), c = trajectory(43);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(double)));  // bit for bit
  EXPECT_NE(a, c);
}

TEST(Sim, NoiseHasTheRequestedCoefficientOfVariation) {
  auto sim = make_sim();
  ASSERT_TRUE(sim.reset(make_scenario(200, 5), 9).ok());
  ASSERT_TRUE(sim.apply(make_config("BBBBBB", {0, 2, 0})).ok());
  double s = 0, s2 = 0, ps = 0, ps2 = 0;
  int n = 0;
  while (!sim.done()) {
    const auto& o = sim.step();
    if (o.t_s < 2) continue;
    ps += o.power_mw, ps2 += o.power_mw * o.power_mw;
    if (o.frames == 1) s += o.stage_latency_ms[0], s2 += o.stage_latency_ms[0] * o.stage_latency_ms[0], ++n;
  }
  ASSERT_GT(n, 500);
  const double mean = s / n, cov = std::sqrt(s2 / n - mean * mean) / mean;
  EXPECT_NEAR(mean, 60, 0.5);
  EXPECT_NEAR(cov, 0.02, 0.004);
}

TEST(Sim, BackgroundLoadAndContentionStretchServiceTimes) {
  auto sim = make_sim();
  Scenario sc = make_scenario(40, 0);
  // 2 of B's 2 cores at 100 %: slowdown = 1 + 1·2/2 = 2 on B; G contention 1.5 later.
  sc.events.push_back({10, EventType::kBackgroundLoad, 'B', 2, 1.0, 1, 0, 10});
  sc.events.push_back({25, EventType::kContention, 'G', 0, 0, 1.5, 0, -1});
  ASSERT_TRUE(sim.reset(sc, 5).ok());
  ASSERT_TRUE(sim.apply(make_config("BBBGGG", {2, 2, 1})).ok());
  double fps_bg = 0, fps_after = 0, fps_cont = 0;
  Conditions c_bg{};
  while (!sim.done()) {
    const auto& o = sim.step();
    if (std::abs(o.t_s - 19.0) < 1e-9) fps_bg = o.fps, c_bg = sim.conditions();
    if (std::abs(o.t_s - 24.0) < 1e-9) fps_after = o.fps;
    if (std::abs(o.t_s - 39.0) < 1e-9) fps_cont = o.fps;
  }
  EXPECT_DOUBLE_EQ(c_bg.unit[1].slowdown, 2.0);
  EXPECT_DOUBLE_EQ(c_bg.unit[1].bg_util, 1.0);
  EXPECT_NEAR(fps_bg, 1000.0 / 60, 0.8);     // B: 30 ms x 2
  EXPECT_NEAR(fps_after, 1000.0 / 30, 1.5);  // load gone
  EXPECT_NEAR(fps_cont, 1000.0 / 37, 1.5);   // G: 24 x 1.5 + 1 = 37 ms is the bottleneck now
}

TEST(Sim, OfflineUnitStallsItsStagesUntilItReturns) {
  auto sim = make_sim();
  Scenario sc = make_scenario(20, 10);
  sc.events.push_back({5, EventType::kUnitOffline, 'G', 0, 0, 1, 0, 5});
  ASSERT_TRUE(sim.reset(sc, 6).ok());
  ASSERT_TRUE(sim.apply(make_config("BBBGGG", {2, 2, 1})).ok());
  double fps_off = 1, fps_back = 0;
  while (!sim.done()) {
    const auto& o = sim.step();
    if (std::abs(o.t_s - 9.5) < 1e-9) {
      fps_off = o.fps;
      EXPECT_FALSE(sim.conditions().unit[2].online);
    }
    if (std::abs(o.t_s - 19.0) < 1e-9) fps_back = o.fps;
  }
  EXPECT_LT(fps_off, 1.5);
  EXPECT_NEAR(fps_back, 10, 0.3);
  EXPECT_GT(sim.metrics().result().dropped_frames, 30);
  expect_conservation(sim);
}

TEST(Sim, HotAmbientThrottlesAndCapsFrequencies) {
  auto sim = make_sim();
  ASSERT_TRUE(sim.reset(make_scenario(400, 0, 50), 7).ok());
  run(sim, make_config("BBBGGG", {2, 2, 1}));
  const Metrics m = sim.metrics().result();
  // Steady state at full speed would be 50 + 0.53·5 W·16.5 °C/W ≈ 94 °C: step_wise must hold it near 70 °C.
  EXPECT_GT(m.throttled_pct, 10);
  EXPECT_GT(m.peak_temp_c, 70);
  EXPECT_LT(m.peak_temp_c, 76);
  const auto& o = sim.observation();
  EXPECT_LT(o.max_freq_khz[1], 2000000);
  EXPECT_LE(o.freq_khz[1], o.max_freq_khz[1]);
  EXPECT_LT(sim.conditions().unit[1].max_opp, 2);
  EXPECT_LT(m.fps_mean, 1000.0 / 30);
}

TEST(Sim, DvfsChangeTakesTheTransitionDelayAtTheOldSpeed) {
  auto costs = std::make_shared<FakeCosts>();
  costs->dvfs_ms = 150;  // longer than a 100 ms period, so the old OPP is visible for one period
  auto sim = Simulator::create(costs, fake_thermal(), {});
  ASSERT_TRUE(sim.ok());
  ASSERT_TRUE(sim->reset(make_scenario(3, 0), 1).ok());
  ASSERT_TRUE(sim->apply(make_config("BBBBBB", {0, 2, 0})).ok());  // B starts at OPP 0: 150 ms to reach OPP 2
  EXPECT_EQ(sim->step().freq_khz[1], 1000000);
  EXPECT_EQ(sim->step().freq_khz[1], 2000000);
  for (int i = 0; i < 8; ++i) sim->step();
  const double fast = sim->observation().stage_latency_ms[0];
  EXPECT_NEAR(fast, 60, 2);                                        // 6 x 10 ms at 2 GHz
  ASSERT_TRUE(sim->apply(make_config("BBBBBB", {0, 0, 0})).ok());  // down to 1 GHz
  const auto& o = sim->step();
  EXPECT_EQ(o.freq_khz[1], 2000000);                               // still in transition
  EXPECT_NEAR(o.stage_latency_ms[0], 60, 2);                       // frames run at the old speed, no stall
  EXPECT_EQ(sim->metrics().result().reconfigs, 0);
  for (int i = 0; i < 3; ++i) sim->step();
  EXPECT_EQ(sim->observation().freq_khz[1], 1000000);
  EXPECT_NEAR(sim->observation().stage_latency_ms[0], 120, 8);  // one frame: ±3.3 σ of 2 % noise
}

TEST(Sim, RejectsConfigsForAnotherModelOrPlatform) {
  auto sim = make_sim();
  ASSERT_TRUE(sim.reset(make_scenario(1, 0), 1).ok());
  EXPECT_FALSE(sim.apply(make_config("BBBGG", {2, 2, 1})).ok());   // 5 blocks, model has 6
  EXPECT_FALSE(sim.apply(make_config("BBBNNN", {2, 2, 1})).ok());  // no N on this platform
  Scenario bad = make_scenario(5, 0);
  bad.events.push_back({1, EventType::kUnitOffline, 'N', 0, 0, 1, 0, -1});
  const Status st = sim.reset(bad, 1);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unknown unit 'N'"), std::string::npos) << st.message();
}

// The calibrated cost model: at steady state with target_fps = 0 the simulated FPS and power
// agree with predict_pipeline (power without the temperature-dependent leakage, which
// predict_pipeline evaluates at the calibration temperature).
TEST(Sim, SteadyStateMatchesPredictPipelineOnRockPiN10) {
  auto platform = policies::load_platform_by_name(HETSCHED_SOURCE_DIR, "rockpi_n10");
  auto model = policies::load_model_by_name(HETSCHED_SOURCE_DIR, "googlenet");
  if (!platform.ok() || !model.ok()) GTEST_SKIP() << "platform/model files not available";
  CostModel::Options co;
  co.data_dir = HETSCHED_SOURCE_DIR;
  auto cost = CostModel::create(*platform, *model, co);
  ASSERT_TRUE(cost.ok()) << cost.status().to_string();
  auto shared = std::make_shared<CostModel>(std::move(cost.value()));
  auto thermal = load_thermal_params(*platform);
  ASSERT_TRUE(thermal.ok()) << thermal.status().to_string();
  auto sim = Simulator::create(std::make_shared<CostModelCosts>(shared), *thermal, {});
  ASSERT_TRUE(sim.ok()) << sim.status().to_string();
  for (const char* text : {"BBBBGGGGGNNNN:BL:5,7,4", "LLLLBBBBBBBBB:BB:5,7,4", "NNNNNNNNNNNNN:BB:5,7,4"}) {
    auto cfg = policies::parse_config(text, *platform, *model);
    ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
    auto pred = predict_pipeline(*shared, *cfg);
    ASSERT_TRUE(pred.ok()) << pred.status().to_string();
    ASSERT_TRUE(sim->reset(make_scenario(20, 0, 5), 11).ok());
    ASSERT_TRUE(sim->apply(*cfg).ok());
    double fps = 0, pw = 0;
    int n = 0;
    while (!sim->done()) {
      const auto& o = sim->step();
      if (o.t_s <= 3) continue;  // fill and DVFS transitions
      fps += o.frames / o.period_s, pw += o.power_mw - shared->leakage_power_mw(o.zone_temp_c[0]), ++n;
    }
    fps /= n, pw /= n;
    EXPECT_NEAR(fps, pred->fps, pred->fps * 0.03) << text;
    EXPECT_NEAR(pw, pred->power_mw, pred->power_mw * 0.03) << text;
    EXPECT_LT(sim->die_temp_c(), 70) << text;  // not throttled: the comparison is like for like
  }
}

}  // namespace hetsched::env::testing

namespace hetsched::env::testing {
// Switch mode (serial run with per-block DVFS) against predict_switch. The simulator also pays
// the wrap-around DVFS transition from the previous frame's last OPPs (predict_switch starts
// each frame with no history), a few ms on a ~300 ms frame, inside the tolerance.
TEST(Sim, SwitchModeMatchesPredictSwitchOnRockPiN10) {
  auto platform = policies::load_platform_by_name(HETSCHED_SOURCE_DIR, "rockpi_n10");
  auto model = policies::load_model_by_name(HETSCHED_SOURCE_DIR, "googlenet");
  if (!platform.ok() || !model.ok()) GTEST_SKIP() << "platform/model files not available";
  CostModel::Options co;
  co.data_dir = HETSCHED_SOURCE_DIR;
  auto cost = CostModel::create(*platform, *model, co);
  ASSERT_TRUE(cost.ok()) << cost.status().to_string();
  auto shared = std::make_shared<const CostModel>(std::move(cost.value()));
  auto sim = Simulator::create(std::make_shared<CostModelCosts>(shared), *load_thermal_params(*platform), {});
  ASSERT_TRUE(sim.ok());
  // A measured configuration of armcoup/rockpi_n10/eval_switch_lwdvfs_google.csv (row 0).
  auto cfg = switch_config(*platform, *model, "BBGLGBGGGBG",
                           "((2,), (1,), (1, 4), (3,), (3, 7), (2,), (0, 0), (2, 7), (3, 6), (1,), (2, 0))", "");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto pred = predict_switch(*shared, *cfg);
  ASSERT_TRUE(pred.ok());
  ASSERT_TRUE(sim->reset(make_scenario(30, 0, 5), 3).ok());
  ASSERT_TRUE(sim->apply(*cfg).ok());
  double frames = 0, t = 0, pw = 0;
  int n = 0;
  while (!sim->done()) {
    const auto& o = sim->step();
    if (o.t_s <= 2) continue;
    frames += o.frames, t += o.period_s, pw += o.power_mw - shared->leakage_power_mw(o.zone_temp_c[0]), ++n;
  }
  EXPECT_NEAR(frames / t, pred->fps, pred->fps * 0.03);
  EXPECT_NEAR(pw / n, pred->power_mw, pred->power_mw * 0.03);
}
}  // namespace hetsched::env::testing
