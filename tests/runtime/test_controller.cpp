// Controller in virtual time (ManualClock) against a fake target: period, rate limit, urgent
// re-decision, balancing re-split with hysteresis, guard overrides and failed actuation.
#include <gtest/gtest.h>

#include "runtime/controller.hpp"

namespace hetsched::runtime {
namespace {

struct FakeTarget final : ControlTarget {
  ControlObservation obs;
  int observes = 0, applies = 0;
  bool refuse_apply = false, fail_observe = false;
  Status observe(ControlObservation* out) noexcept override {
    ++observes;
    if (fail_observe) return Error(StatusCode::kUnavailable, "gone");
    *out = obs;
    return Status::Ok();
  }
  Status apply(const PipelinePlan& p) noexcept override {
    ++applies;
    if (refuse_apply) return Error(StatusCode::kPermissionDenied, "no");
    obs.plan = p;
    return Status::Ok();
  }
  void speeds(double s0, double s1) {
    for (int b = 0; b < obs.num_blocks; ++b) {
      obs.cost_us[static_cast<size_t>(b)] = 1000 * s0;
      obs.cost_us[static_cast<size_t>(kMaxPipelineBlocks + b)] = 1000 * s1;
    }
  }
};

int blocks_on(const PipelinePlan& p, int u) {
  int n = 0;
  for (int s = 0; s < p.num_stages; ++s)
    if (p.stages[static_cast<size_t>(s)].unit == u) n += p.stages[static_cast<size_t>(s)].end_block - p.stages[static_cast<size_t>(s)].first_block;
  return n;
}

struct ControllerTest : ::testing::Test {
  ManualClock clock{0};
  FakeTarget t;
  BalancePolicy policy{{.min_gain = 0.05, .handover_us = 0}};
  PipelinePlan even, safe;
  void SetUp() override {
    t.obs.num_units = 2;
    t.obs.num_blocks = 12;
    even = plan_from_assignment({0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}, 2).value();
    safe = plan_from_assignment(std::vector<int>(12, 0), 2).value();
    t.obs.plan = even;
    t.speeds(1, 1);
  }
};

TEST_F(ControllerTest, DecidesOncePerPeriodAndRebalancesWhenAUnitSlows) {
  auto c = Controller::create({.period_ns = 100'000'000, .rate_limit_ns = 20'000'000, .guard = {}}, clock, t, policy, safe);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_FALSE(c.value()->step());  // not due yet
  clock.advance_ns(100'000'000);
  EXPECT_TRUE(c.value()->step());
  EXPECT_EQ(t.applies, 0);  // balanced already: nothing to do
  EXPECT_FALSE(c.value()->step());
  t.speeds(1, 2);  // unit 1 at half speed (a hog)
  clock.advance_ns(50'000'000);
  EXPECT_FALSE(c.value()->step());
  clock.advance_ns(50'000'000);
  EXPECT_TRUE(c.value()->step());
  EXPECT_EQ(t.applies, 1);
  EXPECT_EQ(blocks_on(t.obs.plan, 0), 8);  // 8 x 1000 = 4 x 2000
  t.speeds(1, 1);                          // recovered, but no frame ran since the switch:
  clock.advance_ns(100'000'000);           // the estimates are not settled, keep the split
  EXPECT_TRUE(c.value()->step());
  EXPECT_EQ(t.applies, 1);
  t.obs.frames += 8;                       // settled (settle_frames = 8)
  t.speeds(1, 2.1);                        // small change: below the 5 % hysteresis
  clock.advance_ns(100'000'000);
  EXPECT_TRUE(c.value()->step());
  EXPECT_EQ(t.applies, 1);
  t.speeds(1, 1);                          // recovered: back to the even split
  clock.advance_ns(100'000'000);
  EXPECT_TRUE(c.value()->step());
  EXPECT_EQ(t.applies, 2);
  EXPECT_EQ(t.obs.plan, even);
  EXPECT_EQ(c.value()->stats().decisions, 5u);
}

TEST_F(ControllerTest, UrgentRequestHonoursTheRateLimit) {
  auto c = Controller::create({.period_ns = 100'000'000, .rate_limit_ns = 20'000'000, .guard = {}}, clock, t, policy, safe);
  ASSERT_TRUE(c.ok());
  clock.advance_ns(100'000'000);
  ASSERT_TRUE(c.value()->step());
  c.value()->notify_limits_changed();
  clock.advance_ns(10'000'000);
  EXPECT_FALSE(c.value()->step());  // 10 ms after the last decision < 20 ms
  clock.advance_ns(10'000'000);
  EXPECT_TRUE(c.value()->step());   // urgent, long before the period
  EXPECT_EQ(c.value()->next_decision_ns(), clock.now_ns() + 100'000'000);
}

TEST_F(ControllerTest, GuardForcesSafePlanOnDeadlineBurstAndHoldsIt) {
  ControllerOptions o{.period_ns = 100, .rate_limit_ns = 0, .guard = {}};
  o.guard.miss_burst = 3;
  o.guard.hold_periods = 2;
  auto c = Controller::create(o, clock, t, policy, safe);
  ASSERT_TRUE(c.ok());
  clock.advance_ns(100);
  ASSERT_TRUE(c.value()->step());  // baseline
  t.obs.deadline_misses += 3;
  clock.advance_ns(100);
  ASSERT_TRUE(c.value()->step());
  EXPECT_EQ(t.obs.plan, safe);
  EXPECT_EQ(c.value()->stats().last_guard, GuardReason::kDeadlineBurst);
  for (int i = 0; i < 2; ++i) {  // held although the policy would re-split
    clock.advance_ns(100);
    ASSERT_TRUE(c.value()->step());
    EXPECT_EQ(t.obs.plan, safe) << i;
  }
  clock.advance_ns(100);
  ASSERT_TRUE(c.value()->step());
  EXPECT_EQ(t.obs.plan, even);  // policy back in charge
}

TEST_F(ControllerTest, GuardOnThermalTripWithHysteresisInvalidOutputAndSensorLoss) {
  ControllerOptions o{.period_ns = 100, .rate_limit_ns = 0, .guard = {}};
  o.guard.hold_periods = 0;
  auto c = Controller::create(o, clock, t, policy, safe);
  ASSERT_TRUE(c.ok());
  auto tick = [&] { clock.advance_ns(100); ASSERT_TRUE(c.value()->step()); };
  t.obs.has_temp = true;
  t.obs.max_temp_mc = 86000;
  tick();
  EXPECT_EQ(t.obs.plan, safe);
  EXPECT_EQ(c.value()->stats().last_guard, GuardReason::kThermalTrip);
  t.obs.max_temp_mc = 82000;  // below trip, inside hysteresis: still tripped
  tick();
  EXPECT_EQ(t.obs.plan, safe);
  t.obs.max_temp_mc = 79000;
  tick();
  EXPECT_EQ(t.obs.plan, even);
  t.obs.failed_frames += 1;  // NaN output
  tick();
  EXPECT_EQ(c.value()->stats().last_guard, GuardReason::kInvalidOutput);
  tick();
  t.obs.sensors_ok = false;
  tick();
  EXPECT_EQ(c.value()->stats().last_guard, GuardReason::kSensorLoss);
  EXPECT_EQ(c.value()->stats().guard_overrides, 4u);
}

struct BadPolicy final : ControlPolicy {
  PipelinePlan decide(const ControlObservation&) noexcept override { return PipelinePlan{}; }  // zero stages
};

TEST_F(ControllerTest, InvalidPolicyOutputAndRefusedActuationAreSurvived) {
  BadPolicy bad;
  auto c = Controller::create({.period_ns = 100, .rate_limit_ns = 0, .guard = {}}, clock, t, bad, safe);
  ASSERT_TRUE(c.ok());
  clock.advance_ns(100);
  ASSERT_TRUE(c.value()->step());
  EXPECT_EQ(c.value()->stats().last_guard, GuardReason::kInvalidPolicy);
  EXPECT_EQ(t.obs.plan, safe);
  t.obs.plan = even;
  t.refuse_apply = true;
  clock.advance_ns(100);
  ASSERT_TRUE(c.value()->step());
  EXPECT_GE(c.value()->stats().errors, 1u);
}

TEST_F(ControllerTest, CreateRejectsBadOptionsAndSafePlan) {
  EXPECT_FALSE(Controller::create({.period_ns = 0, .rate_limit_ns = 0, .guard = {}}, clock, t, policy, safe).ok());
  EXPECT_FALSE(Controller::create({.period_ns = 10, .rate_limit_ns = 20, .guard = {}}, clock, t, policy, safe).ok());
  EXPECT_NE(Controller::create({}, clock, t, policy, PipelinePlan{}).status().message().find("safe plan"), std::string::npos);
}

}  // namespace
}  // namespace hetsched::runtime
