// agent/tabular: hashed bins, the Watkins update, and the delayed-reward chain.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "agent/exploration.hpp"
#include "agent/tabular.hpp"
#include "tests/agent/test_problems.hpp"

namespace ha = hetsched::agent;

namespace {
ha::StateFn one_hot_index() {
  return [](std::span<const float> o) -> std::uint64_t {
    for (std::size_t i = 0; i < o.size(); ++i)
      if (o[i] > 0.5f) return i;
    return 0;
  };
}
}  // namespace

TEST(HashedBins, SameBinSameKeyAndClamping) {
  auto b = ha::HashedBins::create({.lo = {0.0f, -1.0f}, .hi = {1.0f, 1.0f}, .bins = 4});
  ASSERT_TRUE(b.ok());
  const std::vector<float> p = {0.1f, 0.2f}, q = {0.2f, 0.4f}, r = {0.3f, 0.2f}, far = {-5.0f, 0.2f}, low = {0.0f, 0.2f};
  EXPECT_EQ((*b)(p), (*b)(q));      // bins (0, 2) both
  EXPECT_NE((*b)(p), (*b)(r));      // x bin 1
  EXPECT_EQ((*b)(far), (*b)(low));  // below lo clamps to bin 0
  EXPECT_EQ((*b)(std::vector<float>{0.1f}), 0u);  // wrong size: reserved key
  EXPECT_EQ((*b)(std::vector<float>{std::nanf(""), 0.0f}), 0u);
  EXPECT_FALSE(ha::HashedBins::create({.lo = {0.0f}, .hi = {0.0f}, .bins = 4}).ok());
  EXPECT_FALSE(ha::HashedBins::create({.lo = {0.0f}, .hi = {1.0f, 2.0f}, .bins = 4}).ok());
}

TEST(TabularQ, WatkinsUpdateByTheFormula) {
  auto t = ha::TabularQ::create({.num_states = 4, .num_actions = 2, .alpha = 0.5f, .gamma = 0.9f}, one_hot_index());
  ASSERT_TRUE(t.ok());
  const std::vector<float> s0 = {1, 0, 0, 0}, s1 = {0, 1, 0, 0};
  // Q(s1) = [0, 0]; Q(s0,1) <- 0 + 0.5 (1 + 0.9 * 0 - 0) = 0.5
  EXPECT_FLOAT_EQ(t->update(s0, 1, 1.0f, s1, {}, false), 1.0f);
  EXPECT_FLOAT_EQ(t->q_values(s0)[1], 0.5f);
  // Q(s1,0) <- 0.5 (2 + 0.9 * max Q(s0) = 0.45 * ...) : max over allowed in s0 only (mask forbids a=1)
  const std::vector<std::uint8_t> only0 = {1, 0};
  t->update(s1, 0, 2.0f, s0, only0, false);
  EXPECT_FLOAT_EQ(t->q_values(s1)[0], 0.5f * (2.0f + 0.9f * 0.0f));
  t->update(s1, 1, 2.0f, s0, {}, false);
  EXPECT_FLOAT_EQ(t->q_values(s1)[1], 0.5f * (2.0f + 0.9f * 0.5f));
  t->update(s1, 1, 0.0f, s0, {}, true);  // terminal: no bootstrap
  EXPECT_FLOAT_EQ(t->q_values(s1)[1], 0.5f * 0.5f * (2.0f + 0.9f * 0.5f));
  EXPECT_TRUE(std::isnan(t->update(s0, 2, 0.0f, s1, {}, false)));
  EXPECT_TRUE(std::isnan(t->update(s0, 0, 0.0f, s1, std::vector<std::uint8_t>{1}, false)));
  EXPECT_EQ(t->memory_bytes(), 4u * 2u * sizeof(float));
}

TEST(TabularQ, ValidatesOptions) {
  EXPECT_NE(ha::TabularQ::create({.num_states = 0, .num_actions = 2}, one_hot_index()).status().message().find("num_states"),
            std::string::npos);
  EXPECT_FALSE(ha::TabularQ::create({.num_states = 2, .num_actions = 2, .alpha = 0.0f}, one_hot_index()).ok());
  EXPECT_FALSE(ha::TabularQ::create({.num_states = 2, .num_actions = 2}, nullptr).ok());
}

// Episodic epsilon-greedy Q-learning from state 0: the agent must discover the far reward
// while the "quit" distractor pays immediately.
TEST(TabularQ, LearnsTheDelayedRewardChainOnline) {
  ha::test::Chain chain;
  auto hashed = ha::HashedBins::create({.lo = std::vector<float>(8, 0.0f), .hi = std::vector<float>(8, 1.0f), .bins = 2});
  ASSERT_TRUE(hashed.ok());
  // Precondition: the 8 one-hot states land in distinct rows of the hashed table.
  std::vector<int> rows;
  for (int s = 0; s < chain.n; ++s) rows.push_back(static_cast<int>((*hashed)(chain.obs(s)) % 4096));
  std::sort(rows.begin(), rows.end());
  ASSERT_EQ(std::unique(rows.begin(), rows.end()), rows.end());
  auto t = ha::TabularQ::create({.num_states = 4096, .num_actions = 3, .alpha = 0.2f, .gamma = 0.9f, .initial_q = 1.0f},
                                hashed->as_state_fn());
  ASSERT_TRUE(t.ok());
  hetsched::Rng rng(5);
  for (int episode = 0; episode < 400; ++episode) {
    int s = 0;
    for (int k = 0; k < 40; ++k) {
      const auto o = chain.obs(s);
      const auto mask = chain.mask_of(s);
      const int a = ha::epsilon_greedy(t->q_values(o), mask, 0.2, rng);
      ASSERT_TRUE(mask[static_cast<std::size_t>(a)]);
      const auto st = chain.step(s, a);
      t->update(o, a, st.reward, chain.obs(st.next), chain.mask_of(st.next), st.done);
      s = st.next;
      if (st.done) break;
    }
  }
  for (int s = 0; s < chain.n - 1; ++s) {
    EXPECT_EQ(t->greedy(chain.obs(s), chain.mask_of(s)), 1) << "state " << s;
    EXPECT_NEAR(t->q_values(chain.obs(s))[1], std::pow(0.9, chain.n - 2 - s), 0.05) << "state " << s;
  }
}
