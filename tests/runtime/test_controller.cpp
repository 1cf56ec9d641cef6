// Controller in virtual time (ManualClock) against a fake target: period, rate limit, urgent
// re-decision, the balancer as a policy (re-split with hysteresis), guard overrides, invalid
// policy output, failed actuation, policy hot-swap/rollback and the published records.
#include <gtest/gtest.h>

#include <thread>

#include "policies/frame_records.hpp"
#include "runtime/balance_controller.hpp"
#include "runtime/controller.hpp"
#include "runtime/host_config.hpp"

namespace hetsched::runtime {
namespace {

constexpr int kBlocks = 12;

struct FakeTarget final : ControlTarget {
  policies::PlatformDesc desc = default_host_desc({"cpu0", "cpu1"}, {{0}, {1}});
  policies::ModelDesc mdesc;
  ControlSample s;
  int observes = 0, applies = 0;
  bool refuse_apply = false, fail_observe = false, limits = false;
  FakeTarget() {
    mdesc.name = "m";
    mdesc.blocks.resize(kBlocks);
    s.costs.num_units = 2;
    s.costs.num_blocks = kBlocks;
  }
  const policies::PlatformDesc& platform() const noexcept override { return desc; }
  const policies::ModelDesc& model() const noexcept override { return mdesc; }
  Status observe(ControlSample* out) noexcept override {
    ++observes;
    if (fail_observe) return Error(StatusCode::kUnavailable, "gone");
    *out = s;
    return Status::Ok();
  }
  Status apply(const policies::Config& c) noexcept override {
    ++applies;
    if (refuse_apply) return Error(StatusCode::kPermissionDenied, "no");
    s.current = c;
    return Status::Ok();
  }
  bool limits_changed() noexcept override { return limits; }
  void speeds(float s0, float s1) {
    for (int b = 0; b < kBlocks; ++b) {
      s.costs.cost_us[static_cast<size_t>(b)] = 1000 * s0;
      s.costs.cost_us[static_cast<size_t>(kMaxPipelineBlocks + b)] = 1000 * s1;
    }
  }
};

policies::Config cfg(const FakeTarget& t, const std::string& order) {
  policies::Config c = config_from_plan(PipelinePlan{}, t.desc);
  c.num_blocks = static_cast<int>(order.size());
  for (size_t b = 0; b < order.size(); ++b) c.unit[b] = order[b];
  return c;
}

int blocks_on(const policies::Config& c, char letter) {
  int n = 0;
  for (int b = 0; b < c.num_blocks; ++b) n += c.unit[static_cast<size_t>(b)] == letter;
  return n;
}

// Returns whatever configuration it is told to (for invalid-output and swap tests).
struct Scripted final : policies::Controller {
  explicit Scripted(policies::Config c, std::string n = "scripted") : c_(c), name_(std::move(n)) {}
  std::string_view name() const noexcept override { return name_; }
  void reset(const policies::Config&) noexcept override { ++resets; }
  const policies::Config& decide(const policies::TelemetryFrame&, const policies::MaskInput&) noexcept override {
    ++calls;
    return c_;
  }
  std::span<const float> last_observation() const noexcept override { return obs_; }
  int last_action() const noexcept override { return 7; }
  policies::Config c_;
  std::string name_;
  int calls = 0, resets = 0;
  std::vector<float> obs_{1.5f, -2.0f};
};

struct Sink final : telemetry::RecordSink {
  std::vector<telemetry::Sample> samples;
  std::vector<telemetry::Event> events;
  std::vector<telemetry::Decision> decisions;
  void on_sample(const telemetry::Sample& x) noexcept override { samples.push_back(x); }
  void on_event(const telemetry::Event& x) noexcept override { events.push_back(x); }
  void on_decision(const telemetry::Decision& x) noexcept override { decisions.push_back(x); }
};

struct ControllerTest : ::testing::Test {
  ManualClock clock{0};
  FakeTarget t;
  policies::Config even, safe;
  void SetUp() override {
    even = cfg(t, "AAAAAABBBBBB");
    safe = cfg(t, "AAAAAAAAAAAA");
    t.s.current = even;
    t.speeds(1, 1);
  }
  std::unique_ptr<BalanceController> balance() { return std::make_unique<BalanceController>(t.desc, BalanceOptions{.min_gain = 0.05, .handover_us = 0}); }
  std::unique_ptr<Controller> make(ControllerOptions o, std::unique_ptr<policies::Controller> p) {
    auto c = Controller::create(o, clock, t, std::move(p), safe);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    return c.ok() ? std::move(c.value()) : nullptr;
  }
};

TEST_F(ControllerTest, DecidesOncePerPeriodAndRebalancesWhenAUnitSlows) {
  auto c = make({.period_ns = 100'000'000, .rate_limit_ns = 20'000'000, .guard = {}}, balance());
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->step());  // not due yet
  clock.advance_ns(100'000'000);
  EXPECT_TRUE(c->step());
  EXPECT_EQ(t.applies, 0);  // balanced already: nothing to do
  EXPECT_FALSE(c->step());
  t.speeds(1, 2);  // unit B at half speed (a hog)
  clock.advance_ns(50'000'000);
  EXPECT_FALSE(c->step());
  clock.advance_ns(50'000'000);
  EXPECT_TRUE(c->step());
  EXPECT_EQ(t.applies, 1);
  EXPECT_EQ(blocks_on(t.s.current, 'A'), 8);  // 8 x 1000 = 4 x 2000
  EXPECT_EQ(c->stats().last_action, 1);
  t.speeds(1, 1);                          // recovered, but no frame ran since the switch:
  clock.advance_ns(100'000'000);           // the estimates are not settled, keep the split
  EXPECT_TRUE(c->step());
  EXPECT_EQ(t.applies, 1);
  t.s.guard.frames += 8;                   // settled (settle_frames = 8)
  t.speeds(1, 2.1f);                       // small change: below the 5 % hysteresis
  clock.advance_ns(100'000'000);
  EXPECT_TRUE(c->step());
  EXPECT_EQ(t.applies, 1);
  t.speeds(1, 1);                          // recovered: back to the even split
  clock.advance_ns(100'000'000);
  EXPECT_TRUE(c->step());
  EXPECT_EQ(t.applies, 2);
  EXPECT_EQ(t.s.current, even);
  EXPECT_EQ(c->stats().decisions, 5u);
}

TEST_F(ControllerTest, UrgentRequestHonoursTheRateLimit) {
  auto c = make({.period_ns = 100'000'000, .rate_limit_ns = 20'000'000, .guard = {}}, balance());
  clock.advance_ns(100'000'000);
  ASSERT_TRUE(c->step());
  c->notify_limits_changed();
  clock.advance_ns(10'000'000);
  EXPECT_FALSE(c->step());  // 10 ms after the last decision < 20 ms
  clock.advance_ns(10'000'000);
  EXPECT_TRUE(c->step());   // urgent, long before the period
  EXPECT_EQ(c->next_decision_ns(), clock.now_ns() + 100'000'000);
}

TEST_F(ControllerTest, TargetLimitsChangedWakesTheRealTimeLoop) {
  RealClock real;
  auto c = Controller::create({.period_ns = 10'000'000'000, .rate_limit_ns = 1'000'000, .guard = {}}, real, t, balance(), safe);
  ASSERT_TRUE(c.ok());
  t.limits = true;  // the loop must decide long before the 10 s period
  std::atomic<bool> stop{false};
  std::thread th([&] { c.value()->run(stop); });
  for (int i = 0; i < 2000 && c.value()->stats().decisions < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  th.join();
  EXPECT_GE(c.value()->stats().decisions, 2u);
}

TEST_F(ControllerTest, GuardForcesSafeConfigOnDeadlineBurstAndHoldsIt) {
  ControllerOptions o{.period_ns = 100, .rate_limit_ns = 0, .guard = {}};
  o.guard.miss_burst = 3;
  o.guard.hold_periods = 2;
  t.s.current = cfg(t, "AAAAAAAABBBB");  // the balancer would move back to even
  auto c = make(o, balance());
  clock.advance_ns(100);
  t.s.current = even;
  ASSERT_TRUE(c->step());  // baseline
  t.s.guard.deadline_misses += 3;
  clock.advance_ns(100);
  ASSERT_TRUE(c->step());
  EXPECT_EQ(t.s.current, safe);
  EXPECT_EQ(c->stats().last_guard, GuardReason::kDeadlineBurst);
  t.s.guard.frames += 100;
  for (int i = 0; i < 2; ++i) {  // held although the policy would re-split
    clock.advance_ns(100);
    ASSERT_TRUE(c->step());
    EXPECT_EQ(t.s.current, safe) << i;
  }
  clock.advance_ns(100);
  ASSERT_TRUE(c->step());
  EXPECT_EQ(t.s.current, even);  // policy back in charge
}

TEST_F(ControllerTest, GuardOnThermalTripWithHysteresisInvalidOutputAndSensorLoss) {
  ControllerOptions o{.period_ns = 100, .rate_limit_ns = 0, .guard = {}};
  o.guard.hold_periods = 0;
  auto c = make(o, std::make_unique<Scripted>(even));
  auto tick = [&] { clock.advance_ns(100); ASSERT_TRUE(c->step()); };
  t.s.guard.has_temp = true;
  t.s.guard.max_temp_mc = 86000;
  tick();
  EXPECT_EQ(t.s.current, safe);
  EXPECT_EQ(c->stats().last_guard, GuardReason::kThermalTrip);
  t.s.guard.max_temp_mc = 82000;  // below trip, inside hysteresis: still tripped
  tick();
  EXPECT_EQ(t.s.current, safe);
  t.s.guard.max_temp_mc = 79000;
  tick();
  EXPECT_EQ(t.s.current, even);
  t.s.guard.failed_frames += 1;  // NaN output
  tick();
  EXPECT_EQ(c->stats().last_guard, GuardReason::kInvalidOutput);
  tick();
  t.s.guard.sensors_ok = false;
  tick();
  EXPECT_EQ(c->stats().last_guard, GuardReason::kSensorLoss);
  t.s.guard.sensors_ok = true;
  t.fail_observe = true;  // no telemetry at all = sensor loss too
  tick();
  EXPECT_EQ(c->stats().guard_overrides, 5u);
  EXPECT_GE(c->stats().errors, 1u);
}

TEST_F(ControllerTest, InvalidPolicyOutputOfflineUnitAndRefusedActuationAreSurvived) {
  policies::Config bad = cfg(t, "AAAAAAZZZZZZ");  // Z is not a unit
  auto c = make({.period_ns = 100, .rate_limit_ns = 0, .guard = {}}, std::make_unique<Scripted>(bad));
  clock.advance_ns(100);
  ASSERT_TRUE(c->step());
  EXPECT_EQ(c->stats().last_guard, GuardReason::kInvalidPolicy);
  EXPECT_EQ(t.s.current, safe);

  ControllerOptions o{.period_ns = 100, .rate_limit_ns = 0, .guard = {}};
  o.guard.hold_periods = 0;
  t.s.current = even;
  auto c2 = make(o, std::make_unique<Scripted>(cfg(t, "BBBBBBBBBBBB")));
  t.s.mask.online[1] = false;  // the policy insists on the offline unit B
  clock.advance_ns(100);
  ASSERT_TRUE(c2->step());
  EXPECT_EQ(c2->stats().last_guard, GuardReason::kInvalidPolicy);
  EXPECT_EQ(t.s.current, safe);

  t.s.mask.online[1] = true;
  t.refuse_apply = true;
  clock.advance_ns(100);
  ASSERT_TRUE(c2->step());
  EXPECT_GE(c2->stats().errors, 1u);
  EXPECT_EQ(c2->current(), safe);  // what is in force, not what was refused
}

TEST_F(ControllerTest, CreateRejectsBadOptionsSafeConfigAndMissingPolicy) {
  EXPECT_FALSE(Controller::create({.period_ns = 0, .rate_limit_ns = 0, .guard = {}}, clock, t, balance(), safe).ok());
  EXPECT_FALSE(Controller::create({.period_ns = 10, .rate_limit_ns = 20, .guard = {}}, clock, t, balance(), safe).ok());
  EXPECT_FALSE(Controller::create({}, clock, t, nullptr, safe).ok());
  EXPECT_NE(Controller::create({}, clock, t, balance(), cfg(t, "AAAA")).status().message().find("safe configuration"),
            std::string::npos);
  t.fail_observe = true;
  EXPECT_FALSE(Controller::create({}, clock, t, balance(), safe).ok());
}

TEST_F(ControllerTest, ProposedPolicyIsAdoptedAtTheNextDecisionAndRolledBack) {
  auto first = std::make_unique<Scripted>(even, "first");
  Scripted* p1 = first.get();
  auto c = make({.period_ns = 100, .rate_limit_ns = 0, .guard = {}}, std::move(first));
  EXPECT_FALSE(c->rollback());  // nothing to roll back to
  auto second = std::make_unique<Scripted>(cfg(t, "AAAABBBBBBBB"), "second");
  Scripted* p2 = second.get();
  std::thread th([&] { c->propose_policy(std::move(second)); });  // any thread
  th.join();
  EXPECT_EQ(c->policy().name(), "first");  // not before the next decision
  clock.advance_ns(100);
  ASSERT_TRUE(c->step());
  EXPECT_EQ(c->policy().name(), "second");
  EXPECT_EQ(p2->resets, 1);
  EXPECT_EQ(p2->calls, 1);
  EXPECT_EQ(blocks_on(t.s.current, 'A'), 4);
  EXPECT_TRUE(c->rollback());
  clock.advance_ns(100);
  ASSERT_TRUE(c->step());
  EXPECT_EQ(c->policy().name(), "first");
  EXPECT_EQ(p1->calls, 1);  // it decided again only after the rollback
  EXPECT_EQ(t.s.current, even);
  EXPECT_EQ(c->stats().policy_swaps, 1u);
  EXPECT_EQ(c->stats().rollbacks, 1u);
}

TEST_F(ControllerTest, PublishesFrameDecisionAndConfigChangeRecords) {
  telemetry::SourceTable sources;
  auto codec = policies::FrameCodec::create(2, 0, &sources);
  ASSERT_TRUE(codec.ok()) << codec.status().to_string();
  Sink sink;
  ControllerOptions o{.period_ns = 100, .rate_limit_ns = 0, .guard = {}};
  o.sink = &sink;
  o.frame_codec = &codec.value();
  o.guard.hold_periods = 0;
  auto c = make(o, std::make_unique<Scripted>(cfg(t, "AAAABBBBBBBB")));
  t.s.frame.fps = 12.25;
  t.s.frame.fps_ok = true;
  clock.advance_ns(100);
  t.s.t_ns = 100;
  ASSERT_TRUE(c->step());
  ASSERT_EQ(sink.decisions.size(), 1u);
  EXPECT_EQ(sink.decisions[0].t_ns, 100);
  EXPECT_EQ(sink.decisions[0].action, 7);
  EXPECT_EQ(sink.decisions[0].observation, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(sink.decisions[0].text, policies::format_config(cfg(t, "AAAABBBBBBBB"), t.desc));
  // frame event (from the codec) then the config change
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_TRUE(codec->is_frame_event(sink.events[0]));
  EXPECT_EQ(sink.events[1].kind, telemetry::EventKind::kConfigApplied);
  EXPECT_EQ(sink.events[1].text, sink.decisions[0].text);
  // The samples and the event decode to exactly what the policy saw.
  policies::FrameCodec::Decoder dec(*codec);
  for (const auto& x : sink.samples) dec.add_sample(x);
  auto rec = dec.finish(sink.events[0]);
  ASSERT_TRUE(rec.ok()) << rec.status().to_string();
  EXPECT_EQ(rec->frame.fps, 12.25);
  EXPECT_EQ(rec->cost_units, 2);
  EXPECT_EQ(rec->cost_us[static_cast<size_t>(kBlocks + 3)], t.s.costs.cost_us[static_cast<size_t>(kMaxPipelineBlocks + 3)]);
  // A guard decision: no policy observation, action -1, the safe configuration.
  t.s.guard.has_temp = true;
  t.s.guard.max_temp_mc = 90000;
  clock.advance_ns(100);
  t.s.t_ns = 200;
  ASSERT_TRUE(c->step());
  ASSERT_EQ(sink.decisions.size(), 2u);
  EXPECT_EQ(sink.decisions[1].action, -1);
  EXPECT_TRUE(sink.decisions[1].observation.empty());
  EXPECT_EQ(sink.decisions[1].text, policies::format_config(safe, t.desc));
}

TEST_F(ControllerTest, BalanceObservationRestoresTheSampleItDecidedOn) {
  auto a = balance();
  t.speeds(1, 2.5f);
  t.s.guard.frames = (1ull << 24) * 3 + 12345;
  a->reset(even);
  a->see(t.s);
  const policies::Config first = a->decide(t.s.frame, t.s.mask);
  std::vector<float> obs(a->last_observation().begin(), a->last_observation().end());
  ControlSample back;
  back.current = even;
  ASSERT_TRUE(sample_from_balance_observation(obs, &back));
  EXPECT_EQ(back.guard.frames, t.s.guard.frames);
  auto b = balance();
  b->reset(even);
  b->see(back);
  EXPECT_EQ(b->decide(back.frame, back.mask), first);
  obs.pop_back();
  EXPECT_FALSE(sample_from_balance_observation(obs, &back));
  EXPECT_FALSE(sample_from_balance_observation(std::vector<float>{1, 0, 99, 4}, &back));
}

TEST(HostConfigTest, ConfigAndPlanRoundTripAndBadLettersAreRefused) {
  const auto desc = default_host_desc({"cpu0", "cpu1"}, {{0}, {1}});
  ASSERT_TRUE(check_host_desc(desc, {"cpu0", "cpu1"}).ok());
  EXPECT_FALSE(check_host_desc(desc, {"cpu0"}).ok());
  PipelinePlan plan;
  plan.num_stages = 3;
  plan.stages[0] = {1, 0, 4};
  plan.stages[1] = {0, 4, 9};
  plan.stages[2] = {1, 9, 12};
  const policies::Config c = config_from_plan(plan, desc);
  EXPECT_EQ(c.order(), "BBBBAAAAABBB");
  PipelinePlan back;
  ASSERT_TRUE(plan_from_config(c, desc, 12, &back));
  EXPECT_EQ(back, plan);
  EXPECT_FALSE(plan_from_config(c, desc, 13, &back));
  policies::Config bad = c;
  bad.unit[3] = 'Q';
  EXPECT_FALSE(plan_from_config(bad, desc, 12, &back));
}

}  // namespace
}  // namespace hetsched::runtime
