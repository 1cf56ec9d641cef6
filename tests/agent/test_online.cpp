// agent/online: learners fed one transition at a time within a memory budget, and SafeActor.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "agent/online.hpp"
#include "tests/agent/test_problems.hpp"

namespace ha = hetsched::agent;
namespace hp = hetsched::policies;

namespace {

ha::OnlineDqnOptions bandit_online_options(const ha::test::Bandit& b) {
  ha::OnlineDqnOptions o;
  o.dqn.observation_size = b.contexts;
  o.dqn.num_actions = b.arms;
  o.dqn.hidden_sizes = {32};
  o.dqn.batch_size = 32;
  o.dqn.adam.learning_rate = 3e-3f;
  o.replay_capacity = 2000;
  o.warmup_transitions = 200;
  o.update_every = 2;
  o.epsilon = {.decay = ha::EpsilonDecay::kLinear, .start = 1.0, .end = 0.1, .decay_steps = 2000};
  o.seed = 12;
  return o;
}

// A policy that always answers `a` (to test SafeActor's handling of a misbehaving inner policy).
class FixedPolicy final : public hp::Policy {
 public:
  explicit FixedPolicy(int a) : a_(a) {}
  int decide(std::span<const float>, std::span<const std::uint8_t>) noexcept override { return a_; }
  std::string_view name() const noexcept override { return "fixed"; }
  std::uint64_t checksum() const noexcept override { return 0; }
  int observation_size() const noexcept override { return 2; }
  int num_actions() const noexcept override { return 4; }

 private:
  int a_;
};

}  // namespace

TEST(OnlineDqnAgent, LearnsTheBanditFromOneTransitionAtATime) {
  ha::test::Bandit b(42);
  auto agent = ha::OnlineDqnAgent::create(bandit_online_options(b));
  ASSERT_TRUE(agent.ok()) << agent.status().to_string();
  auto& a = **agent;
  hetsched::Rng env_rng(3);
  const std::size_t mem0 = a.memory_bytes();
  double late_reward = 0;
  for (int t = 0; t < 5000; ++t) {
    const int c = static_cast<int>(env_rng.below(static_cast<std::uint32_t>(b.contexts)));
    const auto obs = b.obs(c);
    const auto mask = b.mask_of(c);
    const int act = a.act(obs, mask);
    ASSERT_TRUE(act >= 0 && mask[static_cast<std::size_t>(act)]) << "masked action " << act << " at step " << t;
    const float r = b.reward(c, act, env_rng);
    if (t >= 4000) late_reward += r;
    ASSERT_TRUE(a.observe({obs, act, r, obs, mask, true}));
  }
  EXPECT_EQ(a.steps(), 5000);
  EXPECT_EQ(a.dqn().updates(), (5000 - 200) / 2 + 1);  // at every even step from the 200th (warmup) on
  EXPECT_EQ(a.memory_bytes(), mem0);  // bounded: nothing grows while learning
  EXPECT_NEAR(a.epsilon(), 0.1, 1e-12);
  int correct = 0;
  for (int c = 0; c < b.contexts; ++c) correct += a.greedy(b.obs(c), b.mask_of(c)) == b.best_allowed(c);
  EXPECT_GE(correct, 0.95 * b.contexts);
  // With epsilon = 0.1 at the end, the average reward approaches the best allowed means.
  double best_mean = 0;
  for (int c = 0; c < b.contexts; ++c) best_mean += b.at(c, b.best_allowed(c)) / b.contexts;
  EXPECT_GT(late_reward / 1000, best_mean - 0.1);
}

TEST(OnlineDqnAgent, MemoryBudgetIsEnforcedAtCreate) {
  ha::test::Bandit b(1);
  auto o = bandit_online_options(b);
  // replay = 2000 * (2 * 20 * 4 + 5 + 9) = 348 000 bytes
  o.memory_budget_bytes = 300000;
  auto a = ha::OnlineDqnAgent::create(o);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("memory_budget_bytes"), std::string::npos) << a.status().message();
  o.memory_budget_bytes = 400000;  // replay fits, networks + Adam + workspaces push it over?
  auto b2 = ha::OnlineDqnAgent::create(o);
  if (b2.ok()) {
    EXPECT_LE((*b2)->memory_bytes(), o.memory_budget_bytes);
  } else {
    EXPECT_NE(b2.status().message().find("learner needs"), std::string::npos);
  }
  o.memory_budget_bytes = 8u << 20;
  auto c = ha::OnlineDqnAgent::create(o);
  ASSERT_TRUE(c.ok());
  EXPECT_GE((*c)->memory_bytes(), ha::replay_bytes({2000, 20, 5, 0}));
  EXPECT_LE((*c)->memory_bytes(), o.memory_budget_bytes);
  o.warmup_transitions = 10;  // < batch size
  EXPECT_NE(ha::OnlineDqnAgent::create(o).status().message().find("warmup_transitions"), std::string::npos);
}

TEST(OnlineDqnAgent, MalformedTransitionsAreRefused) {
  ha::test::Bandit b(1);
  auto agent = ha::OnlineDqnAgent::create(bandit_online_options(b));
  ASSERT_TRUE(agent.ok());
  auto& a = **agent;
  const auto obs = b.obs(0);
  EXPECT_FALSE(a.observe({obs, b.arms, 0.0f, obs, {}, true}));
  EXPECT_FALSE(a.observe({obs, 0, std::numeric_limits<float>::quiet_NaN(), obs, {}, true}));
  EXPECT_FALSE(a.observe({std::vector<float>(3), 0, 0.0f, obs, {}, true}));
  EXPECT_EQ(a.steps(), 0);
  EXPECT_EQ(a.act(std::vector<float>(3), {}), hp::kNoAction);
  EXPECT_EQ(a.act(obs, std::vector<std::uint8_t>(b.arms, 0)), hp::kNoAction);
}

TEST(OnlineTabularAgent, LearnsTheBandit) {
  ha::test::Bandit b(8);
  auto agent = ha::OnlineTabularAgent::create(
      {.q = {.num_states = b.contexts, .num_actions = b.arms, .alpha = 0.1f, .gamma = 0.0f},
       .epsilon = {.start = 1.0, .end = 0.1, .decay_steps = 2000},
       .seed = 4},
      [](std::span<const float> o) -> std::uint64_t {
        for (std::size_t i = 0; i < o.size(); ++i)
          if (o[i] > 0.5f) return i;
        return 0;
      });
  ASSERT_TRUE(agent.ok()) << agent.status().to_string();
  hetsched::Rng env(1);
  for (int t = 0; t < 4000; ++t) {
    const int c = static_cast<int>(env.below(static_cast<std::uint32_t>(b.contexts)));
    const auto mask = b.mask_of(c);
    const int a = (*agent)->act(b.obs(c), mask);
    ASSERT_TRUE(mask[static_cast<std::size_t>(a)]);
    ASSERT_TRUE((*agent)->observe({b.obs(c), a, b.reward(c, a, env), b.obs(c), mask, true}));
  }
  int correct = 0;
  for (int c = 0; c < b.contexts; ++c) correct += (*agent)->greedy(b.obs(c), b.mask_of(c)) == b.best_allowed(c);
  EXPECT_GE(correct, 0.95 * b.contexts);
  EXPECT_EQ((*agent)->memory_bytes(), static_cast<std::size_t>(b.contexts * b.arms) * sizeof(float));
}

TEST(SafeActor, FallsBackToTheSafeActionOnQosCollapse) {
  FixedPolicy p(1);
  ha::SafeActor safe(p);
  const std::vector<float> obs = {0.5f, 0.5f};
  const std::vector<std::uint8_t> mask = {1, 1, 1, 0};
  EXPECT_EQ(safe.decide(obs, mask, 4, {.qos_collapse = false, .safe_action = 2}), 1);
  EXPECT_EQ(safe.decide(obs, mask, 4, {.qos_collapse = true, .safe_action = 2}), 2);
  // A masked safe action is never taken: kNoAction means "keep the current configuration".
  EXPECT_EQ(safe.decide(obs, mask, 4, {.qos_collapse = true, .safe_action = 3}), hp::kNoAction);
  EXPECT_EQ(safe.decide(obs, mask, 4, {.qos_collapse = true, .safe_action = hp::kNoAction}), hp::kNoAction);
  EXPECT_EQ(safe.counters().decisions, 4);
  EXPECT_EQ(safe.counters().collapse_fallbacks, 3);
  EXPECT_EQ(safe.counters().no_action, 2);
}

TEST(SafeActor, NonFiniteObservationsAndInvalidChoicesUseTheSafeAction) {
  FixedPolicy masked(3), out_of_range(9), ok(0);
  const std::vector<std::uint8_t> mask = {1, 1, 1, 0};
  const std::vector<float> good = {0.0f, 1.0f}, bad = {std::nanf(""), 1.0f},
                           inf = {std::numeric_limits<float>::infinity(), 0.0f};
  ha::SafeActor s1(masked), s2(out_of_range), s3(ok);
  EXPECT_EQ(s1.decide(good, mask, 4, {.safe_action = 2}), 2);  // inner chose a masked action
  EXPECT_EQ(s1.counters().invalid_choice_fallbacks, 1);
  EXPECT_EQ(s2.decide(good, mask, 4, {.safe_action = 1}), 1);
  EXPECT_EQ(s3.decide(bad, mask, 4, {.safe_action = 1}), 1);
  EXPECT_EQ(s3.decide(inf, mask, 4, {.safe_action = 1}), 1);
  EXPECT_EQ(s3.counters().bad_input_fallbacks, 2);
  EXPECT_EQ(s3.decide(good, mask, 4, {.safe_action = 1}), 0);
  EXPECT_EQ(s3.decide(good, std::vector<std::uint8_t>(4, 0), 4, {.safe_action = 1}), hp::kNoAction);
}

// Wrapped around an exploring learner, SafeActor never lets a masked action through.
TEST(SafeActor, WrappedLearnerNeverTakesAMaskedAction) {
  ha::test::Bandit b(3);
  auto agent = ha::OnlineDqnAgent::create(bandit_online_options(b));
  ASSERT_TRUE(agent.ok());
  ha::SafeActor safe(**agent);
  hetsched::Rng rng(2);
  for (int t = 0; t < 2000; ++t) {
    const int c = static_cast<int>(rng.below(static_cast<std::uint32_t>(b.contexts)));
    const auto mask = b.mask_of(c);
    const bool collapse = t % 10 == 0;
    const int safe_action = hp::masked_argmax(std::vector<float>(static_cast<std::size_t>(b.arms), 0.0f), mask);
    const int a = safe.decide(b.obs(c), mask, b.arms, {.qos_collapse = collapse, .safe_action = safe_action});
    ASSERT_TRUE(a >= 0 && mask[static_cast<std::size_t>(a)]);
    if (collapse) {
      EXPECT_EQ(a, safe_action);
    }
    (*agent)->observe({b.obs(c), a, b.reward(c, a, rng), b.obs(c), mask, true});
  }
  EXPECT_EQ(safe.counters().collapse_fallbacks, 200);
  EXPECT_EQ(safe.counters().invalid_choice_fallbacks, 0);
}
