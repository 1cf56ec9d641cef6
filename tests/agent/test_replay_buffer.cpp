// agent/replay_buffer: ring semantics, stated memory, uniform seeded sampling, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "agent/replay_buffer.hpp"

namespace ha = hetsched::agent;

namespace {
ha::ReplayBuffer make(int cap, int obs, int actions, std::uint64_t seed = 1) {
  auto r = ha::ReplayBuffer::create({cap, obs, actions, seed});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}
}  // namespace

TEST(ReplayBuffer, ValidatesOptionsNamingTheField) {
  auto r = ha::ReplayBuffer::create({0, 4, 2, 1});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("capacity"), std::string::npos);
  EXPECT_NE(ha::ReplayBuffer::create({10, 0, 2, 1}).status().message().find("observation_size"), std::string::npos);
  EXPECT_NE(ha::ReplayBuffer::create({10, 4, 0, 1}).status().message().find("num_actions"), std::string::npos);
}

TEST(ReplayBuffer, MemoryIsTheStatedFormula) {
  const ha::ReplayOptions o{1000, 64, 100, 1};
  // capacity * (2 * 64 * 4 + 100 + 4 + 4 + 1) = 1000 * 621
  EXPECT_EQ(ha::replay_bytes(o), 621000u);
  auto r = make(1000, 64, 100);
  EXPECT_EQ(r.memory_bytes(), 621000u);
  for (int i = 0; i < 5000; ++i) r.push(std::vector<float>(64, 1.0f), i % 100, 0.0f, std::vector<float>(64, 0.0f), {}, false);
  EXPECT_EQ(r.memory_bytes(), 621000u);  // bounded: the ring never grows
  EXPECT_EQ(r.size(), 1000);
  EXPECT_EQ(r.pushed(), 5000);
}

TEST(ReplayBuffer, RingKeepsTheNewestTransitions) {
  auto r = make(4, 1, 3);
  auto batch = ha::ReplayBatch::make(64, 1, 3);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(r.push(std::vector<float>{float(i)}, i % 3, float(i), std::vector<float>{float(i + 1)}, {}, i == 9));
  ASSERT_TRUE(r.sample(64, &batch));
  for (int j = 0; j < 64; ++j) {
    const float o = batch.obs[static_cast<std::size_t>(j)];
    EXPECT_GE(o, 6.0f);  // 0..5 were overwritten
    EXPECT_EQ(batch.reward[static_cast<std::size_t>(j)], o);  // fields stay together
    EXPECT_EQ(batch.next_obs[static_cast<std::size_t>(j)], o + 1);
    EXPECT_EQ(batch.action[static_cast<std::size_t>(j)], static_cast<int>(o) % 3);
    EXPECT_EQ(batch.done[static_cast<std::size_t>(j)], o == 9.0f ? 1 : 0);
  }
}

TEST(ReplayBuffer, StoresNextStateMasks) {
  auto r = make(2, 1, 4);
  const std::vector<std::uint8_t> m = {0, 1, 0, 7};
  ASSERT_TRUE(r.push(std::vector<float>{0}, 1, 0, std::vector<float>{1}, m, false));
  auto batch = ha::ReplayBatch::make(1, 1, 4);
  ASSERT_TRUE(r.sample(1, &batch));
  EXPECT_EQ(batch.next_mask, (std::vector<std::uint8_t>{0, 1, 0, 1}));
  ASSERT_TRUE(r.push(std::vector<float>{0}, 1, 0, std::vector<float>{1}, {}, false));  // empty: all allowed
}

TEST(ReplayBuffer, SamplingIsUniformAndSeeded) {
  const int n = 50;
  auto a = make(n, 1, 1, 7), b = make(n, 1, 1, 7), c = make(n, 1, 1, 8);
  for (int i = 0; i < n; ++i)
    for (auto* r : {&a, &b, &c}) r->push(std::vector<float>{float(i)}, 0, 0, std::vector<float>{0}, {}, false);
  auto ba = ha::ReplayBatch::make(100, 1, 1), bb = ba, bc = ba;
  std::vector<int> counts(n, 0);
  bool differs = false;
  for (int k = 0; k < 500; ++k) {
    ASSERT_TRUE(a.sample(100, &ba));
    b.sample(100, &bb);
    c.sample(100, &bc);
    EXPECT_EQ(ba.obs, bb.obs);
    differs |= ba.obs != bc.obs;
    for (float o : ba.obs) ++counts[static_cast<std::size_t>(o)];
  }
  EXPECT_TRUE(differs);
  // 50 000 draws over 50 slots: expected 1000 each; chi-square with 49 dof stays below ~90
  // with probability > 0.9997.
  double chi2 = 0;
  for (int cnt : counts) chi2 += (cnt - 1000.0) * (cnt - 1000.0) / 1000.0;
  EXPECT_LT(chi2, 90.0);
}

TEST(ReplayBuffer, BadInputIsRefused) {
  auto r = make(4, 2, 3);
  auto batch = ha::ReplayBatch::make(8, 2, 3);
  EXPECT_FALSE(r.sample(1, &batch));  // empty
  const std::vector<float> o2 = {0, 0}, o3 = {0, 0, 0};
  EXPECT_FALSE(r.push(o3, 0, 0, o2, {}, false));
  EXPECT_FALSE(r.push(o2, 0, 0, o3, {}, false));
  EXPECT_FALSE(r.push(o2, 3, 0, o2, {}, false));
  EXPECT_FALSE(r.push(o2, -1, 0, o2, {}, false));
  EXPECT_FALSE(r.push(o2, 0, 0, o2, std::vector<std::uint8_t>{1, 1}, false));
  const std::vector<float> nan2 = {0, std::nanf("")};
  EXPECT_FALSE(r.push(nan2, 0, 0, o2, {}, false));
  EXPECT_FALSE(r.push(o2, 0, 0, nan2, {}, false));
  EXPECT_FALSE(r.push(o2, 0, std::numeric_limits<float>::infinity(), o2, {}, false));
  EXPECT_EQ(r.size(), 0);
  ASSERT_TRUE(r.push(o2, 0, 0, o2, {}, false));
  EXPECT_FALSE(r.sample(9, &batch));
  EXPECT_FALSE(r.sample(0, &batch));
  auto other = ha::ReplayBatch::make(8, 3, 3);
  EXPECT_FALSE(r.sample(1, &other));
  EXPECT_FALSE(ha::ReplayBuffer().push(o2, 0, 0, o2, {}, false));
}
