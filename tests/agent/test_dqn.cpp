// agent/dqn: learning on synthetic problems (contextual bandit, delayed-reward chain),
// masks, determinism, target-network updates, and update() == clip + Adam on the gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "agent/dqn.hpp"
#include "agent/exploration.hpp"
#include "agent/replay_buffer.hpp"
#include "tests/agent/test_problems.hpp"

namespace ha = hetsched::agent;
namespace hp = hetsched::policies;

namespace {

ha::Dqn make_dqn(const ha::DqnOptions& o) {
  auto d = ha::Dqn::create(o);
  EXPECT_TRUE(d.ok()) << d.status().to_string();
  return std::move(d).value();
}

ha::ReplayBuffer make_replay(int cap, int obs, int actions, std::uint64_t seed) {
  auto r = ha::ReplayBuffer::create({cap, obs, actions, seed});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}

ha::DqnOptions bandit_options(const ha::test::Bandit& b) {
  ha::DqnOptions o;
  o.observation_size = b.contexts;
  o.num_actions = b.arms;
  o.hidden_sizes = {32};
  o.batch_size = 32;
  o.adam.learning_rate = 3e-3f;
  o.seed = 3;
  return o;
}

// Trains a DQN on the bandit from uniformly explored data; returns the weights.
ha::Dqn train_bandit(ha::test::Bandit& b, ha::DqnOptions o, int updates, std::uint64_t data_seed) {
  auto dqn = make_dqn(o);
  auto replay = make_replay(4000, b.contexts, b.arms, data_seed);
  hetsched::Rng rng(data_seed);
  for (int i = 0; i < 4000; ++i) {
    const int c = static_cast<int>(rng.below(static_cast<std::uint32_t>(b.contexts)));
    const auto mask = b.mask_of(c);
    const int a = ha::uniform_allowed(b.arms, mask, rng);
    const auto o_c = b.obs(c);
    EXPECT_TRUE(replay.push(o_c, a, b.reward(c, a, rng), o_c, mask, /*done=*/true));
  }
  auto batch = ha::ReplayBatch::make(o.batch_size, b.contexts, b.arms);
  for (int i = 0; i < updates; ++i) {
    EXPECT_TRUE(replay.sample(o.batch_size, &batch));
    EXPECT_FALSE(std::isnan(dqn.update(batch)));
  }
  return dqn;
}

}  // namespace

TEST(Dqn, CreateValidatesOptionsNamingTheField) {
  ha::DqnOptions o;
  o.observation_size = 4;
  o.num_actions = 0;
  auto d = ha::Dqn::create(o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("num_actions"), std::string::npos);
  o.num_actions = 2;
  o.gamma = 1.5f;
  EXPECT_NE(ha::Dqn::create(o).status().message().find("gamma"), std::string::npos);
  o.gamma = 0.9f;
  o.adam.learning_rate = -1.0f;
  const auto msg = ha::Dqn::create(o).status().message();
  EXPECT_NE(msg.find("DqnOptions.adam"), std::string::npos) << msg;
  EXPECT_NE(msg.find("learning_rate"), std::string::npos) << msg;
  o.adam.learning_rate = 1e-3f;
  o.target_sync_every = 0;
  o.polyak_tau = 0.0f;
  EXPECT_NE(ha::Dqn::create(o).status().message().find("polyak_tau"), std::string::npos);
  o.polyak_tau = 0.1f;
  o.hidden_sizes = {0};
  EXPECT_NE(ha::Dqn::create(o).status().message().find("hidden_sizes"), std::string::npos);
}

// Several seeds (problem, weights, data) so the result does not hinge on one lucky draw.
class DqnSeeds : public ::testing::TestWithParam<std::uint64_t> {};
INSTANTIATE_TEST_SUITE_P(Seeds, DqnSeeds, ::testing::Values(1u, 2u, 3u));

TEST_P(DqnSeeds, FindsTheBestAllowedArmInEveryContext) {
  ha::test::Bandit b(40 + GetParam());
  auto o = bandit_options(b);
  o.seed = GetParam();
  auto dqn = train_bandit(b, o, 1500, 8 + GetParam());
  int correct = 0;
  for (int c = 0; c < b.contexts; ++c) {
    const auto mask = b.mask_of(c);
    const int a = dqn.greedy(b.obs(c), mask);
    ASSERT_TRUE(mask[static_cast<std::size_t>(a)]) << "masked arm chosen in context " << c;
    correct += a == b.best_allowed(c);
    // The Q-value of the best arm estimates its mean reward (targets are rewards, done = true).
    EXPECT_NEAR(dqn.q_values(b.obs(c))[static_cast<std::size_t>(b.best_allowed(c))], b.at(c, b.best_allowed(c)), 0.1);
  }
  EXPECT_GE(correct, 0.95 * b.contexts) << correct << " of " << b.contexts;
}

// Exploring starts on the chain: every (state, allowed action) is sampled uniformly, and the
// single reward sits up to 7 steps away, so value must propagate through bootstrapped targets.
void check_chain(ha::DqnOptions o, int updates, std::uint64_t data_seed) {
  ha::test::Chain chain;
  o.observation_size = chain.n;
  o.num_actions = ha::test::Chain::kActions;
  auto dqn = make_dqn(o);
  auto replay = make_replay(5000, chain.n, 3, data_seed);
  hetsched::Rng rng(data_seed + 70);
  for (int i = 0; i < 5000; ++i) {
    const int s = static_cast<int>(rng.below(static_cast<std::uint32_t>(chain.n - 1)));
    const int a = ha::uniform_allowed(3, chain.mask_of(s), rng);
    const auto st = chain.step(s, a);
    ASSERT_TRUE(replay.push(chain.obs(s), a, st.reward, chain.obs(st.next), chain.mask_of(st.next), st.done));
  }
  auto batch = ha::ReplayBatch::make(o.batch_size, chain.n, 3);
  for (int i = 0; i < updates; ++i) {
    ASSERT_TRUE(replay.sample(o.batch_size, &batch));
    dqn.update(batch);
  }
  for (int s = 0; s < chain.n - 1; ++s) {
    EXPECT_EQ(dqn.greedy(chain.obs(s), chain.mask_of(s)), 1) << "state " << s;
    // Q*(s, right) = gamma^(n - 2 - s): the delayed reward discounted back to s.
    const double q_star = std::pow(0.9, chain.n - 2 - s);
    EXPECT_NEAR(dqn.q_values(chain.obs(s))[1], q_star, 0.1) << "state " << s;
  }
}

ha::DqnOptions chain_options() {
  ha::DqnOptions o;
  o.hidden_sizes = {32, 32};
  o.gamma = 0.9f;
  o.batch_size = 32;
  o.adam.learning_rate = 2e-3f;
  o.target_sync_every = 50;
  o.seed = 11;
  return o;
}

TEST_P(DqnSeeds, DoubleDqnLearnsTheDelayedRewardChain) {
  auto o = chain_options();
  o.seed = 10 + GetParam();
  check_chain(o, 3000, GetParam());
}

TEST_P(DqnSeeds, PolyakTargetAlsoLearnsTheChain) {
  auto o = chain_options();
  o.seed = 20 + GetParam();
  o.target_sync_every = 0;
  o.polyak_tau = 0.02f;
  check_chain(o, 3000, GetParam());
}

TEST(Dqn, PlainDqnAlsoLearnsTheChain) {
  auto o = chain_options();
  o.double_dqn = false;
  check_chain(o, 3000, 5);
}

TEST(Dqn, SameSeedGivesBitIdenticalWeights) {
  ha::test::Bandit b1(42), b2(42), b3(42);
  auto o = bandit_options(b1);
  const auto w1 = train_bandit(b1, o, 200, 9);
  const auto w2 = train_bandit(b2, o, 200, 9);
  ASSERT_EQ(w1.online().num_params(), w2.online().num_params());
  EXPECT_EQ(0, std::memcmp(w1.online().params().data(), w2.online().params().data(), w1.online().num_params() * sizeof(float)));
  EXPECT_EQ(w1.online().checksum(), w2.online().checksum());
  o.seed = 4;
  const auto w3 = train_bandit(b3, o, 200, 9);
  EXPECT_NE(w1.online().checksum(), w3.online().checksum());
}

TEST(Dqn, HardTargetSyncEveryKUpdates) {
  ha::test::Bandit b(1);
  auto o = bandit_options(b);
  o.target_sync_every = 5;
  auto dqn = make_dqn(o);
  auto replay = make_replay(100, b.contexts, b.arms, 1);
  hetsched::Rng rng(1);
  for (int i = 0; i < 100; ++i) {
    const int c = i % b.contexts;
    replay.push(b.obs(c), i % b.arms, b.reward(c, i % b.arms, rng), b.obs(c), {}, true);
  }
  auto batch = ha::ReplayBatch::make(o.batch_size, b.contexts, b.arms);
  const auto initial = dqn.target().checksum();
  EXPECT_EQ(initial, dqn.online().checksum());
  for (int i = 1; i <= 10; ++i) {
    replay.sample(o.batch_size, &batch);
    dqn.update(batch);
    if (i % 5 == 0) {
      EXPECT_EQ(dqn.target().checksum(), dqn.online().checksum()) << "after update " << i;
    } else {
      EXPECT_NE(dqn.target().checksum(), dqn.online().checksum()) << "after update " << i;
    }
  }
  EXPECT_EQ(dqn.updates(), 10);
}

TEST(Dqn, PolyakMovesTargetByTau) {
  ha::test::Bandit b(1);
  auto o = bandit_options(b);
  o.target_sync_every = 0;
  o.polyak_tau = 0.25f;
  auto dqn = make_dqn(o);
  auto batch = ha::ReplayBatch::make(o.batch_size, b.contexts, b.arms);
  batch.size = 4;
  for (int i = 0; i < 4; ++i) {
    batch.obs[static_cast<std::size_t>(i * b.contexts + i)] = 1.0f;
    batch.action[static_cast<std::size_t>(i)] = i;
    batch.reward[static_cast<std::size_t>(i)] = 1.0f;
    batch.done[static_cast<std::size_t>(i)] = 1;
  }
  const std::vector<float> before(dqn.target().params().begin(), dqn.target().params().end());
  dqn.update(batch);
  for (std::size_t k = 0; k < before.size(); ++k)
    ASSERT_NEAR(dqn.target().params()[k], 0.25f * dqn.online().params()[k] + 0.75f * before[k], 1e-6f);
}

// update() is exactly: gradient, clip to max_grad_norm, one Adam step.
TEST(Dqn, UpdateIsClippedGradientThroughAdam) {
  ha::test::Bandit b(5);
  auto o = bandit_options(b);
  o.max_grad_norm = 0.01f;  // small enough to be active
  auto dqn = make_dqn(o);
  auto batch = ha::ReplayBatch::make(o.batch_size, b.contexts, b.arms);
  batch.size = 8;
  hetsched::Rng rng(2);
  for (int i = 0; i < 8; ++i) {
    batch.obs[static_cast<std::size_t>(i * b.contexts + i)] = 1.0f;
    batch.next_obs[static_cast<std::size_t>(i * b.contexts + i + 1)] = 1.0f;
    batch.action[static_cast<std::size_t>(i)] = i % b.arms;
    batch.reward[static_cast<std::size_t>(i)] = 5.0f * rng.uniform(-1.0f, 1.0f);
    batch.done[static_cast<std::size_t>(i)] = i % 2;
  }
  std::vector<float> params(dqn.online().params().begin(), dqn.online().params().end());
  std::vector<float> g(params.size());
  const float loss = dqn.loss_and_gradient(batch, g);
  double norm2 = 0;
  for (float x : g) norm2 += double(x) * x;
  const double norm = std::sqrt(norm2);
  ASSERT_GT(norm, o.max_grad_norm);
  for (float& x : g) x = static_cast<float>(x * (o.max_grad_norm / norm));
  auto adam = ha::Adam::create(o.adam, params.size());
  ASSERT_TRUE(adam.ok());
  adam->step(params, g);
  EXPECT_EQ(dqn.update(batch), loss);
  EXPECT_NEAR(dqn.last_grad_norm(), norm, 1e-4 * norm);
  for (std::size_t k = 0; k < params.size(); ++k) ASSERT_NEAR(dqn.online().params()[k], params[k], 1e-6f) << k;
}

TEST(Dqn, MalformedBatchesChangeNothing) {
  ha::test::Bandit b(5);
  auto dqn = make_dqn(bandit_options(b));
  const auto before = dqn.online().checksum();
  auto wrong_dims = ha::ReplayBatch::make(32, b.contexts + 1, b.arms);
  wrong_dims.size = 4;
  EXPECT_TRUE(std::isnan(dqn.update(wrong_dims)));
  auto bad_action = ha::ReplayBatch::make(32, b.contexts, b.arms);
  bad_action.size = 2;
  bad_action.action[1] = b.arms;
  EXPECT_TRUE(std::isnan(dqn.update(bad_action)));
  bad_action.action[1] = 0;
  bad_action.size = 0;
  EXPECT_TRUE(std::isnan(dqn.update(bad_action)));
  auto nan_reward = ha::ReplayBatch::make(32, b.contexts, b.arms);
  nan_reward.size = 2;
  nan_reward.reward[0] = std::nanf("");
  EXPECT_TRUE(std::isnan(dqn.update(nan_reward)));
  nan_reward.reward[0] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(std::isnan(dqn.update(nan_reward)));
  EXPECT_EQ(dqn.online().checksum(), before);
  EXPECT_EQ(dqn.updates(), 0);
  EXPECT_EQ(dqn.greedy(std::vector<float>(3, 0.0f), {}), hp::kNoAction);
}

// The TD target by hand: Double DQN picks a* with the online net and evaluates it with the
// target net; plain DQN does both with the target net; masked next actions are never a*;
// done means no bootstrap. Checked through the loss value of a one-sample batch.
TEST(Dqn, TargetsFollowTheDoubleDqnFormula) {
  for (bool double_dqn : {true, false}) {
    ha::DqnOptions o;
    o.observation_size = 3;
    o.num_actions = 4;
    o.hidden_sizes = {8};
    o.gamma = 0.9f;
    o.huber_delta = 100.0f;  // quadratic region: loss = 0.5 e^2
    o.target_sync_every = 1000;
    o.double_dqn = double_dqn;
    auto dqn = make_dqn(o);
    hetsched::Rng rng(6);
    auto warm = ha::ReplayBatch::make(32, 3, 4);
    warm.size = 32;
    for (float& v : warm.obs) v = rng.uniform(-1.0f, 1.0f);
    for (float& v : warm.reward) v = rng.uniform(-3.0f, 3.0f);
    for (int i = 0; i < 32; ++i) warm.action[static_cast<std::size_t>(i)] = i % 4;
    for (int i = 0; i < 20; ++i) dqn.update(warm);  // online drifts away from target
    auto online = dqn.online();
    auto target = dqn.target();
    const std::vector<std::uint8_t> next_mask = {0, 1, 1, 1};
    // Find s' where the online and target nets disagree on the best allowed next action.
    std::vector<float> s = {0.2f, -0.4f, 0.7f}, s2(3);
    int a_online = 0, a_target = 0;
    for (int tries = 0; tries < 1000 && a_online == a_target; ++tries) {
      for (float& v : s2) v = rng.uniform(-2.0f, 2.0f);
      a_online = hp::masked_argmax(online.forward(s2), next_mask);
      a_target = hp::masked_argmax(target.forward(s2), next_mask);
    }
    ASSERT_NE(a_online, a_target) << "test setup: nets never disagree";
    ASSERT_NE(a_online, 0);
    ASSERT_NE(a_target, 0);
    const int a_star = double_dqn ? a_online : a_target;
    const float q_next = target.forward(s2)[static_cast<std::size_t>(a_star)];
    const float q_sa = online.forward(s)[2];
    auto batch = ha::ReplayBatch::make(1, 3, 4);
    batch.size = 1;
    batch.obs = s;
    batch.next_obs = s2;
    batch.next_mask = next_mask;
    batch.action[0] = 2;
    batch.reward[0] = 0.5f;
    std::vector<float> g(dqn.online().num_params());
    const double e = q_sa - (0.5 + 0.9 * q_next);
    EXPECT_NEAR(dqn.loss_and_gradient(batch, g), 0.5 * e * e, 1e-5 * (1 + e * e)) << "double_dqn=" << double_dqn;
    batch.done[0] = 1;
    const double e_done = q_sa - 0.5;
    EXPECT_NEAR(dqn.loss_and_gradient(batch, g), 0.5 * e_done * e_done, 1e-5 * (1 + e_done * e_done));
    batch.done[0] = 0;
    batch.next_mask = {0, 0, 0, 0};  // nothing allowed next: treated as terminal
    EXPECT_NEAR(dqn.loss_and_gradient(batch, g), 0.5 * e_done * e_done, 1e-5 * (1 + e_done * e_done));
  }
}
