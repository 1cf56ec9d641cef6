// Train -> save -> load -> MlpPolicy: the deployed policy decides exactly like the learner.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/export.hpp"
#include "agent/online.hpp"
#include "policies/policy.hpp"
#include "tests/agent/test_problems.hpp"

namespace ha = hetsched::agent;
namespace hp = hetsched::policies;

TEST(Export, TrainedDqnRoundTripsIntoAnMlpPolicy) {
  ha::test::Bandit b(42);
  ha::OnlineDqnOptions o;
  o.dqn.observation_size = b.contexts;
  o.dqn.num_actions = b.arms;
  o.dqn.hidden_sizes = {32};
  o.dqn.adam.learning_rate = 3e-3f;
  o.dqn.seed = 7;
  o.warmup_transitions = 100;
  o.epsilon = {.start = 1.0, .end = 0.1, .decay_steps = 1000};
  auto agent = ha::OnlineDqnAgent::create(o);
  ASSERT_TRUE(agent.ok());
  hetsched::Rng rng(1);
  for (int t = 0; t < 2000; ++t) {
    const int c = static_cast<int>(rng.below(static_cast<std::uint32_t>(b.contexts)));
    const auto mask = b.mask_of(c);
    const int a = (*agent)->act(b.obs(c), mask);
    (*agent)->observe({b.obs(c), a, b.reward(c, a, rng), b.obs(c), mask, true});
  }
  const hp::PolicySchema schema{"test_platform", "bandit", "arms5", 1};
  const std::string path = (std::filesystem::path(testing::TempDir()) / "hetsched_export.hpol").string();
  ASSERT_TRUE(ha::save_dqn_policy(path, (*agent)->dqn(), schema, {{"date", "2026-11-25"}, {"seed", "bogus"}}).ok());

  auto f = hp::load_policy_file(path, schema, b.contexts, b.arms);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->metadata.at("learner"), "double-dqn");
  EXPECT_EQ(f->metadata.at("seed"), "7");  // learner facts override caller extras
  EXPECT_EQ(f->metadata.at("updates"), std::to_string((*agent)->dqn().updates()));
  EXPECT_EQ(f->metadata.at("hidden_sizes"), "32");
  EXPECT_EQ(f->metadata.at("date"), "2026-11-25");
  hp::MlpPolicy policy(std::move(f->mlp), "bandit");
  EXPECT_EQ(policy.checksum(), (*agent)->dqn().online().checksum());
  for (int c = 0; c < b.contexts; ++c) {
    const auto mask = b.mask_of(c);
    EXPECT_EQ(policy.decide(b.obs(c), mask), (*agent)->greedy(b.obs(c), mask)) << "context " << c;
  }
}
