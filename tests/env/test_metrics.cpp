#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "env/metrics.hpp"

#include <cmath>

namespace hetsched::env {
namespace {

PeriodSample period(double t, int frames, double target, double energy_mj = 300) {
  PeriodSample s;
  s.t_start_s = t, s.period_s = 0.1, s.frames = frames;
  s.first_done_s = t + 0.05, s.last_done_s = t + 0.05;  // one frame in the middle of the period
  s.energy_mj = energy_mj, s.target_fps = target, s.max_temp_c = 40 + t;
  return s;
}

TEST(Metrics, SteadyTenFpsStreamReadsTenFpsAndNoViolation) {
  MetricsAccumulator acc;
  PeriodVerdict v;
  for (int i = 0; i < 50; ++i) v = acc.add(period(i * 0.1, 1, 10));
  EXPECT_NEAR(v.fps, 10, 1e-9);  // 10 frames in 1 s window, 0.9 s apart: 9 / 0.9
  EXPECT_NEAR(v.power_mw, 3000, 1e-9);
  const Metrics m = acc.result();
  EXPECT_NEAR(m.fps_mean, 10, 1e-9);
  EXPECT_EQ(m.qos_violation_pct, 0);
  EXPECT_EQ(m.frames, 50);
  EXPECT_NEAR(m.energy_per_frame_mj, 300, 1e-9);
  EXPECT_NEAR(m.avg_power_mw, 3000, 1e-9);
  EXPECT_NEAR(m.peak_temp_c, 40 + 4.9, 1e-9);
}

TEST(Metrics, QosCountsFpsLatencyAndPowerAfterTheFirstSecond) {
  MetricsAccumulator acc;
  for (int i = 0; i < 20; ++i) {
    PeriodSample s = period(i * 0.1, i % 2, 10);  // 5 FPS delivered vs target 10
    acc.add(s);
  }
  EXPECT_NEAR(acc.result().qos_violation_pct, 100, 1e-9);  // 10 counted periods, all violate
  MetricsAccumulator b;
  for (int i = 0; i < 20; ++i) {
    PeriodSample s = period(i * 0.1, 1, 0);
    s.latency_bound_ms = 100, s.max_latency_ms = i >= 15 ? 150 : 50;
    s.power_budget_mw = 3500, s.energy_mj = i == 10 ? 400 : 300;  // 4000 mW once
    s.throttled_s = i < 5 ? 0.1 : 0;
    s.reconfigs = i == 3;
    s.dropped = 2;
    b.add(s);
  }
  const Metrics m = b.result();
  EXPECT_NEAR(m.qos_violation_pct, 100.0 * 6 / 10, 1e-9);  // periods 10 (power), 15..19 (latency)
  EXPECT_NEAR(m.throttled_pct, 25, 1e-9);
  EXPECT_EQ(m.reconfigs, 1);
  EXPECT_EQ(m.dropped_frames, 40);
}

// A device's run known frame by frame gets the same verdicts as the simulator's periods.
TEST(Metrics, CompletionMetricsBucketsFramesIntoPeriodsByTheSameDefinition) {
  auto run = [](double target_fps, double bound_ms, double run_s) {
    CompletionMetrics cm(0.1, target_fps, bound_ms);
    for (int k = 0; k < 50; ++k) cm.add(0.05 + 0.1 * k, k >= 30 ? 150.0 : 50.0);  // 10 fps, slow from 3 s
    return cm.finish(run_s);
  };
  const Metrics a = run(10, 0, 5.0);
  EXPECT_EQ(a.frames, 50);
  EXPECT_NEAR(a.fps_mean, 10, 1e-9);
  EXPECT_EQ(a.qos_violation_pct, 0);                      // 10 fps meets 0.95 x 10
  EXPECT_NEAR(run(20, 0, 5.0).qos_violation_pct, 100, 1e-9);  // ... but not 0.95 x 20
  EXPECT_NEAR(run(0, 100, 5.0).qos_violation_pct, 50, 1e-9);  // periods 30..49 of the 40 counted
  // Identical to feeding MetricsAccumulator the periods by hand.
  MetricsAccumulator acc;
  for (int k = 0; k < 50; ++k) {
    PeriodSample s = period(k * 0.1, 1, 10, 0);
    s.max_temp_c = 0;
    acc.add(s);
  }
  EXPECT_NEAR(acc.result().qos_violation_pct, a.qos_violation_pct, 1e-12);
  EXPECT_NEAR(acc.result().fps_mean, a.fps_mean, 1e-12);
  // A stall: 1 s without frames, then the run ends (partial last period counts in run time).
  CompletionMetrics stall(0.1, 10, 0);
  for (int k = 0; k < 20; ++k) stall.add(0.05 + 0.1 * k, 10);
  const Metrics st = stall.finish(3.05);
  EXPECT_NEAR(st.fps_mean, 20 / 3.05, 1e-9);
  // The trailing-window FPS reads the stall once the window holds < 2 frames: the periods ending
  // at 2.9, 3.0 and 3.05 s, of 21 counted (1.0 .. 3.05 s).
  EXPECT_NEAR(st.qos_violation_pct, 100.0 * 3 / 21, 1e-9);
  // Bad completion times are ignored, not a hang or a crash.
  CompletionMetrics bad(0.1, 10, 0);
  bad.add(-1, 1), bad.add(std::nan(""), 1);
  EXPECT_EQ(bad.finish(1.0).frames, 0);
}

TEST(Metrics, JsonHasExactlyTheMetricKeys) {
  MetricsAccumulator acc;
  nlohmann::json j = to_json(acc.result());
  EXPECT_TRUE(j["energy_per_frame_mj"].is_null());  // no frames
  acc.add(period(0, 1, 0));
  j = to_json(acc.result());
  std::vector<std::string> keys;
  for (auto k = metric_keys(); *k; ++k) keys.push_back(*k);
  EXPECT_EQ(keys.size(), 9u);
  EXPECT_EQ(j.size(), keys.size());
  for (const auto& k : keys) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_NEAR(j["energy_per_frame_mj"].get<double>(), 300, 1e-9);
}

}  // namespace
}  // namespace hetsched::env
