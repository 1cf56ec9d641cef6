// Baselines on hand-built telemetry frames: governors, static, heuristic.
#include <gtest/gtest.h>

#include "policies/baselines.hpp"

namespace hp = hetsched::policies;

namespace {
struct Fx {
  hp::PlatformDesc p;
  hp::ModelDesc m;
  hp::Config c;
};
Fx fx() {
  auto p = hp::load_platform_by_name(HETSCHED_SOURCE_DIR, "rockpi_n10");
  auto m = hp::load_model_by_name(HETSCHED_SOURCE_DIR, "googlenet");
  EXPECT_TRUE(p.ok() && m.ok());
  auto c = hp::parse_config("BBBBGGGGGNNNN:BL:2,3,1", *p, *m);
  EXPECT_TRUE(c.ok());
  return {*p, *m, *c};
}
hp::TelemetryFrame frame(double fps, double target) {
  hp::TelemetryFrame f;
  f.fps = fps, f.fps_ok = true, f.target_fps = target;
  for (int u = 0; u < 4; ++u) f.unit_ok[static_cast<size_t>(u)] = true;
  return f;
}
}  // namespace

TEST(Baselines, StaticAndFixedGovernors) {
  Fx x = fx();
  auto s = hp::make_static(x.c);
  EXPECT_EQ(s->decide(frame(1, 10), {}), x.c);
  auto perf = hp::make_governor(x.p, x.c, hp::Governor::kPerformance);
  const hp::Config& a = perf->decide(frame(1, 10), {});
  EXPECT_EQ(a.freq_idx[0], 5);
  EXPECT_EQ(a.freq_idx[1], 7);
  EXPECT_EQ(a.freq_idx[2], 4);
  EXPECT_EQ(a.order(), x.c.order());  // fixed mapping
  auto save = hp::make_governor(x.p, x.c, hp::Governor::kPowersave);
  const hp::Config& b = save->decide(frame(1, 10), {});
  EXPECT_EQ(b.freq_idx[0] + b.freq_idx[1] + b.freq_idx[2], 0);
}

TEST(Baselines, SchedutilFollowsUtilisation) {
  Fx x = fx();
  auto g = hp::make_governor(x.p, x.c, hp::Governor::kSchedutil);
  hp::TelemetryFrame f = frame(10, 10);
  // B at 1800 MHz, 40% busy: 1.25 * 1800 * 0.4 = 900 MHz -> lowest OPP >= 900 is 1008 MHz (index 3).
  f.freq_khz[1] = 1800000, f.util[1] = 0.4;
  // G at 800 MHz, 100% busy: 1000 MHz wanted, above the top: the top OPP (index 4).
  f.freq_khz[2] = 800000, f.util[2] = 1.0;
  // L idle: the lowest OPP.
  f.freq_khz[0] = 1416000, f.util[0] = 0.0;
  const hp::Config& c = g->decide(f, {});
  EXPECT_EQ(c.freq_idx[1], 3);
  EXPECT_EQ(c.freq_idx[2], 4);
  EXPECT_EQ(c.freq_idx[0], 0);
}

TEST(Baselines, HeuristicRaisesSlowestStageThenRebalances) {
  Fx x = fx();
  auto h = hp::make_heuristic(x.p, x.m, x.c, {.calm_periods = 2, .margin = 1.05});
  h->reset(x.c);
  hp::TelemetryFrame f = frame(5, 10);  // QoS miss
  f.num_stages = 3;
  f.stage_latency_us = {50000, 150000, 30000};  // the GPU stage is the bottleneck
  hp::Config c = h->decide(f, {});
  EXPECT_EQ(c.freq_idx[2], 2);  // G one OPP up
  EXPECT_EQ(c.order(), x.c.order());
  // With G at its top, the next misses move a block off the GPU stage to the faster neighbour.
  hp::MaskInput capped;
  capped.max_opp[2] = 2;
  for (int i = 0; i < 8; ++i) c = h->decide(f, capped);
  EXPECT_NE(c.order(), x.c.order());
  EXPECT_LT(std::count(c.unit.begin(), c.unit.begin() + c.num_blocks, 'G'), 5);
}

TEST(Baselines, HeuristicLowersWhileQosHoldsAndAvoidsOfflineUnits) {
  Fx x = fx();
  auto h = hp::make_heuristic(x.p, x.m, x.c, {.calm_periods = 2, .margin = 1.05});
  h->reset(x.c);
  hp::TelemetryFrame ok = frame(12, 10);
  ok.util = {0.1, 0.9, 0.5, 0.5, 0, 0};
  hp::Config c = x.c;
  for (int i = 0; i < 3; ++i) c = h->decide(ok, {});
  // L (the NPU's host) is the least utilised used unit: one OPP lower, the others untouched.
  EXPECT_EQ(c.freq_idx[0], x.c.freq_idx[0] - 1);
  EXPECT_EQ(c.freq_idx[1], x.c.freq_idx[1]);
  EXPECT_EQ(c.freq_idx[2], x.c.freq_idx[2]);
  hp::MaskInput off;
  off.online[3] = false;
  c = h->decide(ok, off);
  EXPECT_EQ(std::count(c.unit.begin(), c.unit.begin() + c.num_blocks, 'N'), 0);
  EXPECT_EQ(std::count(c.unit.begin(), c.unit.begin() + c.num_blocks, 'L'), 4);  // NPU host is L
}

TEST(Baselines, QosRule) {
  EXPECT_TRUE(hp::qos_violated(frame(9.4, 10)));
  EXPECT_FALSE(hp::qos_violated(frame(9.6, 10)));
  hp::TelemetryFrame f = frame(0, 0);
  f.power_budget_mw = 5000, f.power_mw = 5100, f.power_ok = true;
  EXPECT_TRUE(hp::qos_violated(f));
}

// The agent controller: encode → mask → decide → apply, never a masked action, jump hysteresis.
TEST(Baselines, AgentControllerHysteresisAndMasks) {
  Fx x = fx();
  auto c0 = hp::parse_config("BBBBGGGGGNNNN:BL:5,7,4", x.p, x.m);
  auto c1 = hp::parse_config("LLLLLLLLLLLLL:BB:2,7,0", x.p, x.m);
  ASSERT_TRUE(c0.ok() && c1.ok());
  hp::ActionSpaceOptions o;
  o.candidates = {*c0, *c1};
  auto space = hp::ActionSpace::create(x.p, x.m, o);
  ASSERT_TRUE(space.ok());
  auto sp = std::make_shared<const hp::ActionSpace>(std::move(space.value()));
  auto enc = hp::ObsEncoder::create(x.p, sp->num_candidates());
  ASSERT_TRUE(enc.ok());
  // A linear "Q network" whose biases prefer: jump to candidate 1 > stay > everything else.
  auto mlp = hp::Mlp::create({.layer_sizes = {enc->size(), sp->size()}});
  ASSERT_TRUE(mlp.ok());
  mlp->bias(0).setConstant(-1.0f);
  mlp->bias(0)[1] = 2.0f;
  mlp->bias(0)[sp->stay_action()] = 1.0f;
  auto agent = hp::make_agent(sp, *enc, std::make_unique<hp::MlpPolicy>(*mlp, "test"));
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  auto& a = **agent;
  a.reset(*c0);
  const hp::TelemetryFrame f = frame(10, 10);
  EXPECT_EQ(a.decide(f, {}), *c0);  // first choice of the jump: held one period
  EXPECT_EQ(a.decide(f, {}), *c1);  // chosen again: taken
  EXPECT_EQ(a.decide(f, {}), *c1);  // already there
  // With the NPU offline, candidate 0 (and so "stay" in it) is masked: the move to candidate
  // 1 happens at once, without the hysteresis period.
  hp::MaskInput off;
  off.online[3] = false;
  a.reset(*c0);
  EXPECT_EQ(a.decide(f, off), *c1);
  // With L offline every candidate is masked (L hosts the NPU of candidate 0): nothing is
  // allowed, so the controller keeps its configuration rather than taking a masked action.
  off.online[0] = false;
  a.reset(*c1);
  EXPECT_EQ(a.decide(f, off), *c1);
  // Wrong sizes are refused at creation.
  auto small = hp::Mlp::create({.layer_sizes = {3, sp->size()}});
  ASSERT_TRUE(small.ok());
  EXPECT_FALSE(hp::make_agent(sp, *enc, std::make_unique<hp::MlpPolicy>(*small, "bad")).ok());
}
