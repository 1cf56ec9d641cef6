#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <memory>
#include <vector>

#include "env/rl_env.hpp"

// Allocation counter for the "step is allocation-free" test: counts operator new calls made
// by this thread while armed (replacing the global operator is the only portable hook).
// GCC 12 flags malloc/free inside replaced operators once inlined (a false positive: both sides
// are replaced consistently), hence the pragma for this file.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
thread_local bool g_count_allocs = false;
thread_local long g_allocs = 0;
}  // namespace
void* operator new(std::size_t n) {
  if (g_count_allocs) ++g_allocs;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace hetsched::env::testing {
// Hand-built platform and costs shared with test_sim.cpp (same binary).
std::shared_ptr<const SimCosts> fake_costs();
ThermalParams fake_thermal();
policies::Config make_config(const std::string& order, std::array<int, 3> opp);
Scenario make_scenario(double duration_s, double fps, double ambient);

namespace {

std::vector<double> flatten(const Observation& o) {
  std::vector<double> v = {o.t_s, o.period_s, double(o.num_stages), o.fps, o.latency_ms, o.max_latency_ms,
                           double(o.frames), double(o.dropped), double(o.reconfiguring), double(o.num_units),
                           double(o.num_zones), o.power_mw, o.target_fps, o.max_latency_target_ms, o.power_budget_mw};
  for (int s = 0; s < kMaxStages; ++s) v.push_back(o.stage_latency_ms[s]), v.push_back(o.queue_depth[s]);
  for (int u = 0; u < policies::kMaxUnits; ++u)
    v.push_back(double(o.freq_khz[u])), v.push_back(double(o.max_freq_khz[u])), v.push_back(o.util[u]);
  for (int z = 0; z < kMaxObsZones; ++z) v.push_back(o.zone_temp_c[z]);
  return v;
}

RlEnv make_env() {
  auto e = RlEnv::create(fake_costs(), fake_thermal(), {}, {});
  EXPECT_TRUE(e.ok());
  return std::move(e.value());
}

// Hidden conditions that do not touch what the device senses (contention and an outage on a
// unit the configuration does not use) must leave the observation bit-for-bit unchanged while
// info.conditions shows them: nothing hidden leaks into the observation.
TEST(RlEnv, ObservationCarriesNoHiddenCondition) {
  Scenario plain = make_scenario(10, 10, 25), hidden = plain;
  hidden.events.push_back({2, EventType::kContention, 'L', 0, 0, 3.0, 0, -1});
  hidden.events.push_back({4, EventType::kUnitOffline, 'L', 0, 0, 1, 0, 3});
  auto a = make_env(), b = make_env();
  ASSERT_TRUE(a.reset(5, plain).ok());
  ASSERT_TRUE(b.reset(5, hidden).ok());
  const auto cfg = make_config("BBBGGG", {2, 2, 1});
  bool saw_hidden = false;
  while (!a.last().done) {
    const auto& ra = a.step(cfg);
    const auto& rb = b.step(cfg);
    EXPECT_EQ(flatten(ra.obs), flatten(rb.obs)) << "t=" << ra.obs.t_s;
    EXPECT_EQ(ra.reward, rb.reward);
    saw_hidden |= rb.info.conditions.unit[0].slowdown == 3.0 && !rb.info.conditions.unit[0].online;
  }
  EXPECT_TRUE(saw_hidden);
  // The observation does react to what a device senses: the same load on a used unit changes it.
  Scenario used = plain;
  used.events.push_back({2, EventType::kContention, 'B', 0, 0, 3.0, 0, -1});
  auto c = make_env();
  ASSERT_TRUE(c.reset(5, used).ok());
  ASSERT_TRUE(a.reset(5, plain).ok());
  for (int i = 0; i < 50; ++i) a.step(cfg), c.step(cfg);
  EXPECT_GT(c.last().obs.stage_latency_ms[0], 2.5 * a.last().obs.stage_latency_ms[0]);
}

TEST(RlEnv, RewardPrefersMeetingTheTargetThenLowerEnergyAndPenalisesChurn) {
  auto total = [](const policies::Config& cfg, bool flip) {
    auto e = make_env();
    EXPECT_TRUE(e.reset(1, make_scenario(10, 10, 25)).ok());
    double r = 0;
    for (int i = 0; !e.last().done; ++i) {
      const auto& res = e.step(flip && i % 10 == 5 ? make_config("LLLBBB", {2, 2, 1}) : cfg);
      if (res.obs.t_s > 1.0) r += res.reward;  // after the pipeline fill (as the QoS metric)
    }
    return r;
  };
  const double fast_hot = total(make_config("BBBGGG", {2, 2, 1}), false);
  const double fast_cool = total(make_config("BBBGGG", {2, 1, 0}), false);  // 45 ms + 49 ms stages: still >= 10 FPS
  const double too_slow = total(make_config("LLLLLL", {0, 0, 0}), false);   // 360 ms per frame
  const double churn = total(make_config("BBBGGG", {2, 2, 1}), true);
  EXPECT_GT(fast_cool, fast_hot);
  EXPECT_GT(fast_hot, too_slow);
  EXPECT_GT(fast_hot, churn);
}

TEST(RlEnv, InvalidActionIsPenalisedNotFatal) {
  auto e = make_env();
  ASSERT_TRUE(e.reset(1, make_scenario(1, 10, 25)).ok());
  const double ok = e.step(make_config("BBBGGG", {2, 2, 1})).reward;
  const double bad = e.step(make_config("BBB", {2, 2, 1})).reward;
  EXPECT_LT(bad, ok - 5);
}

TEST(RlEnv, StepDoesNotAllocate) {
  auto e = make_env();
  Scenario sc = make_scenario(30, 10, 45);  // hot enough to throttle: governor and DVFS paths run too
  sc.events.push_back({5, EventType::kBackgroundLoad, 'B', 1, 0.5, 1, 0, 5});
  sc.events.push_back({12, EventType::kTargetFps, 0, 0, 0, 1, 0, -1});
  ASSERT_TRUE(e.reset(3, sc).ok());
  const auto a = make_config("BBBGGG", {2, 2, 1}), b = make_config("LLBBGG", {2, 2, 1});
  e.step(a);
  g_count_allocs = true;  // the counter itself works: a heap string is seen
  { std::vector<int> probe(100); EXPECT_EQ(probe.size(), 100u); }
  g_count_allocs = false;
  EXPECT_EQ(g_allocs, 1);
  g_allocs = 0;
  g_count_allocs = true;
  int i = 0;
  while (!e.last().done) e.step(++i % 37 < 20 ? a : b);  // reconfigurations and DVFS changes included
  g_count_allocs = false;
  EXPECT_EQ(g_allocs, 0);
  EXPECT_GT(e.last().info.metrics.reconfigs, 5);
  EXPECT_GT(e.last().info.metrics.throttled_pct, 0);
}

TEST(BatchedEnv, BatchedEqualsSequentialForAnyThreadCount) {
  const Scenario sc = make_scenario(5, 0, 30);
  std::vector<std::uint64_t> seeds = {1, 2, 3, 4, 5, 6, 7};
  std::vector<policies::Config> actions;
  for (size_t i = 0; i < seeds.size(); ++i) actions.push_back(make_config(i % 2 ? "BBBGGG" : "LLBBGG", {2, 1, 1}));
  // Sequential reference.
  std::vector<std::vector<double>> ref(seeds.size());
  for (size_t i = 0; i < seeds.size(); ++i) {
    auto e = make_env();
    ASSERT_TRUE(e.reset(seeds[i], sc).ok());
    while (!e.last().done) {
      const auto& r = e.step(actions[i]);
      auto f = flatten(r.obs);
      ref[i].insert(ref[i].end(), f.begin(), f.end());
      ref[i].push_back(r.reward);
    }
  }
  for (int threads : {0, 1, 3}) {
    auto b = BatchedEnv::create(static_cast<int>(seeds.size()), threads, fake_costs(), fake_thermal(), {}, {});
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->reset(seeds, sc).ok());
    std::vector<std::vector<double>> got(seeds.size());
    for (int k = 0; k < 50; ++k) {
      (*b)->step(actions);
      for (size_t i = 0; i < seeds.size(); ++i) {
        auto f = flatten((*b)->results()[i].obs);
        got[i].insert(got[i].end(), f.begin(), f.end());
        got[i].push_back((*b)->results()[i].reward);
      }
    }
    for (size_t i = 0; i < seeds.size(); ++i) {
      ASSERT_EQ(got[i].size(), ref[i].size());
      EXPECT_EQ(0, std::memcmp(got[i].data(), ref[i].data(), got[i].size() * sizeof(double))) << "env " << i << " threads " << threads;
    }
    EXPECT_TRUE((*b)->results()[0].done);
  }
  EXPECT_NE(ref[0], ref[2]);  // different seeds, same action: different noise
}

}  // namespace
}  // namespace hetsched::env::testing
