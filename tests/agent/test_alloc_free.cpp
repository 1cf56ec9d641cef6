// Hot paths allocate nothing after create(): MLP forward / MlpPolicy::decide, replay push and
// sample, Dqn::update, online act/observe (including the updates it triggers), SafeActor.
//
// How: this test binary interposes malloc/calloc/realloc (glibc exports __libc_malloc & co.)
// and counts calls; operator new and Eigen's aligned allocator both end in malloc.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <vector>

#include "agent/online.hpp"
#include "policies/policy.hpp"

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);

namespace {
std::atomic<long> g_allocs{0};
float* volatile g_sink = nullptr;
}  // namespace

extern "C" void* malloc(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t n, std::size_t s) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, s);
}
extern "C" void* realloc(void* p, std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}

namespace ha = hetsched::agent;
namespace hp = hetsched::policies;

namespace {
long allocs() { return g_allocs.load(std::memory_order_relaxed); }
}  // namespace

TEST(AllocFree, TheCounterSeesAllocations) {  // otherwise the tests below prove nothing
  const long before = allocs();
  std::vector<float> v(1000);
  g_sink = v.data();  // keep the compiler from eliding the allocation
  EXPECT_GE(allocs() - before, 1);
}

TEST(AllocFree, MlpForwardAndPolicyDecide) {
  auto m = hp::Mlp::create({.layer_sizes = {64, 128, 128, 100}});
  ASSERT_TRUE(m.ok());
  hetsched::Rng rng(1);
  ha::init_weights(*m, rng);
  hp::MlpPolicy policy(*m, "bench");
  std::vector<float> obs(64, 0.3f);
  std::vector<std::uint8_t> mask(100, 1);
  mask[5] = 0;
  const long before = allocs();
  int sum = 0;
  for (int i = 0; i < 100; ++i) {
    obs[static_cast<std::size_t>(i % 64)] += 0.01f;
    sum += static_cast<int>(m->forward(obs).size());
    sum += policy.decide(obs, mask);
  }
  EXPECT_EQ(allocs() - before, 0);
  EXPECT_GT(sum, 0);
}

TEST(AllocFree, ReplayDqnUpdateOnlineLearningAndSafeActor) {
  ha::OnlineDqnOptions o;
  o.dqn.observation_size = 64;
  o.dqn.num_actions = 100;
  o.dqn.hidden_sizes = {128, 128};
  o.dqn.batch_size = 64;
  o.dqn.target_sync_every = 10;
  o.replay_capacity = 1000;
  o.warmup_transitions = 64;
  o.update_every = 1;
  auto agent = ha::OnlineDqnAgent::create(o);
  ASSERT_TRUE(agent.ok()) << agent.status().to_string();
  ha::SafeActor safe(**agent);
  std::vector<float> obs(64), next(64);
  std::vector<std::uint8_t> mask(100, 1);
  hetsched::Rng rng(2);
  auto step = [&](int t) {
    for (auto& x : next) x = rng.uniform(-1.0f, 1.0f);
    mask[static_cast<std::size_t>(t % 99 + 1)] = static_cast<std::uint8_t>(t % 2);  // action 0 (safe) stays allowed
    const int a = safe.decide(obs, mask, 100, {.qos_collapse = t % 7 == 0, .safe_action = 0});
    ASSERT_NE(a, hp::kNoAction);
    ASSERT_TRUE((*agent)->observe({obs, a, rng.uniform(0.0f, 1.0f), next, mask, t % 50 == 0}));
    obs = next;  // same size: copy-assign reuses the buffer
  };
  for (int t = 0; t < 100; ++t) step(t);  // past warmup: updates are running
  const long before = allocs();
  for (int t = 100; t < 300; ++t) step(t);
  EXPECT_EQ(allocs() - before, 0);
  EXPECT_GT((*agent)->dqn().updates(), 200);
}
