// agent/exploration: schedules follow their formulas; no selector ever picks a masked action.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "agent/exploration.hpp"
#include "policies/mlp.hpp"

namespace ha = hetsched::agent;
namespace hp = hetsched::policies;

TEST(EpsilonSchedule, LinearReachesEndAtDecaySteps) {
  auto s = ha::EpsilonSchedule::create({.decay = ha::EpsilonDecay::kLinear, .start = 1.0, .end = 0.1, .decay_steps = 100});
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->at(0), 1.0);
  EXPECT_DOUBLE_EQ(s->at(50), 0.55);
  EXPECT_DOUBLE_EQ(s->at(100), 0.1);
  EXPECT_DOUBLE_EQ(s->at(1000000), 0.1);
  EXPECT_DOUBLE_EQ(s->at(-5), 1.0);
}

TEST(EpsilonSchedule, ExponentialDecaysWithTimeConstant) {
  auto s = ha::EpsilonSchedule::create({.decay = ha::EpsilonDecay::kExponential, .start = 0.5, .end = 0.0, .decay_steps = 10});
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->at(0), 0.5);
  EXPECT_NEAR(s->at(10), 0.5 / std::exp(1.0), 1e-12);
  EXPECT_NEAR(s->at(30), 0.5 * std::exp(-3.0), 1e-12);
  for (int t = 1; t < 100; ++t) EXPECT_LT(s->at(t), s->at(t - 1));
}

TEST(EpsilonSchedule, ValidatesNamingTheField) {
  auto s = ha::EpsilonSchedule::create({.start = 1.5});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("start"), std::string::npos);
  EXPECT_NE(ha::EpsilonSchedule::create({.start = 0.5, .end = 0.6}).status().message().find("end"), std::string::npos);
  EXPECT_NE(ha::EpsilonSchedule::create({.decay_steps = 0}).status().message().find("decay_steps"), std::string::npos);
}

TEST(Exploration, UniformAllowedCoversExactlyTheAllowedActions) {
  const std::vector<std::uint8_t> mask = {0, 1, 0, 1, 1, 0};
  hetsched::Rng rng(3);
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 30000; ++i) {
    const int a = ha::uniform_allowed(6, mask, rng);
    ASSERT_TRUE(a >= 0 && mask[static_cast<std::size_t>(a)]) << a;
    ++counts[static_cast<std::size_t>(a)];
  }
  for (int a : {1, 3, 4}) EXPECT_NEAR(counts[static_cast<std::size_t>(a)], 10000, 400) << a;
  EXPECT_EQ(ha::uniform_allowed(6, std::vector<std::uint8_t>(6, 0), rng), hp::kNoAction);
  EXPECT_EQ(ha::uniform_allowed(6, std::vector<std::uint8_t>(5, 1), rng), hp::kNoAction);
  EXPECT_EQ(ha::count_allowed(6, mask), 3);
  EXPECT_EQ(ha::count_allowed(6, {}), 6);
}

TEST(Exploration, EpsilonGreedyNeverPicksAMaskedActionEvenWhenItIsBest) {
  const std::vector<float> q = {10.0f, 1.0f, 2.0f, 3.0f};
  const std::vector<std::uint8_t> mask = {0, 1, 1, 0};
  hetsched::Rng rng(1);
  int greedy = 0;
  for (int i = 0; i < 10000; ++i) {
    const int a = ha::epsilon_greedy(q, mask, 0.3, rng);
    ASSERT_TRUE(a == 1 || a == 2) << a;
    greedy += a == 2;
  }
  // P(a = 2) = 0.7 + 0.3 / 2 = 0.85
  EXPECT_NEAR(greedy / 10000.0, 0.85, 0.02);
  EXPECT_EQ(ha::epsilon_greedy(q, std::vector<std::uint8_t>(4, 0), 1.0, rng), hp::kNoAction);
  EXPECT_EQ(ha::epsilon_greedy(q, std::vector<std::uint8_t>(4, 0), 0.0, rng), hp::kNoAction);
}

TEST(Exploration, BoltzmannFollowsSoftmaxOverAllowedActions) {
  const std::vector<float> q = {100.0f, 0.0f, 1.0f, std::log(3.0f)};
  const std::vector<std::uint8_t> mask = {0, 1, 1, 1};
  hetsched::Rng rng(9);
  std::vector<int> counts(4, 0);
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    const int a = ha::boltzmann(q, mask, 1.0, rng);
    ASSERT_TRUE(a >= 1 && a <= 3) << a;
    ++counts[static_cast<std::size_t>(a)];
  }
  const double z = 1.0 + std::exp(1.0) + 3.0;
  EXPECT_NEAR(counts[1] / double(n), 1.0 / z, 0.01);
  EXPECT_NEAR(counts[2] / double(n), std::exp(1.0) / z, 0.01);
  EXPECT_NEAR(counts[3] / double(n), 3.0 / z, 0.01);
  // Temperature -> 0 is greedy; huge Q-values do not overflow.
  EXPECT_EQ(ha::boltzmann(q, mask, 0.0, rng), 3);  // log 3 > 1 > 0 among the allowed
  const std::vector<float> big = {1e30f, 1e30f, -1e30f};
  for (int i = 0; i < 100; ++i) EXPECT_NE(ha::boltzmann(big, {}, 1.0, rng), 2);
  EXPECT_EQ(ha::boltzmann(q, std::vector<std::uint8_t>(4, 0), 1.0, rng), hp::kNoAction);
}

TEST(Rng, SameSeedSameStreamAndUnbiasedBelow) {
  hetsched::Rng a(5), b(5), c(6);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[a.below(3)];
  for (int k : counts) EXPECT_NEAR(k, 10000, 400);
  for (int i = 0; i < 1000; ++i) {
    const double u = a.uniform();
    ASSERT_TRUE(u >= 0.0 && u < 1.0);
  }
}
