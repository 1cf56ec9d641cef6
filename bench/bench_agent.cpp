// Agent benchmarks: policy decide latency (target p99 <= 20 us on one core for obs 64 ->
// 128 -> 128 -> 100 actions) and Double-DQN update throughput (minibatch 64).
//
// Google Benchmark reports mean/median of batched iterations; the p99 of *single* decides is
// what the controller feels, so BM_MlpPolicyDecide also times 20 000 individual decides with
// steady_clock after the main loop and reports p50_us / p99_us / max_us as counters.
// Run: build-agent/bench/bench_agent --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "agent/dqn.hpp"
#include "agent/mlp_backprop.hpp"
#include "agent/replay_buffer.hpp"
#include "policies/policy.hpp"

namespace ha = hetsched::agent;
namespace hp = hetsched::policies;

namespace {

constexpr int kObs = 64, kHidden = 128, kActions = 100;

hp::MlpPolicy make_policy() {
  auto m = hp::Mlp::create({.layer_sizes = {kObs, kHidden, kHidden, kActions}});
  hetsched::Rng rng(1);
  ha::init_weights(*m, rng);
  return hp::MlpPolicy(std::move(*m), "bench");
}

void BM_MlpPolicyDecide(benchmark::State& state) {
  auto policy = make_policy();
  hetsched::Rng rng(2);
  std::vector<float> obs(kObs);
  for (auto& x : obs) x = rng.uniform(-1.0f, 1.0f);
  std::vector<std::uint8_t> mask(kActions, 1);
  for (int i = 0; i < kActions; i += 3) mask[static_cast<std::size_t>(i)] = 0;
  int i = 0;
  for (auto _ : state) {
    obs[static_cast<std::size_t>(i++ % kObs)] += 1e-3f;  // defeat any caching of the result
    benchmark::DoNotOptimize(policy.decide(obs, mask));
  }
  // Per-decide latency distribution (timer overhead ~20-40 ns is included; it only inflates).
  std::vector<double> us(20000);
  for (auto& t : us) {
    obs[static_cast<std::size_t>(i++ % kObs)] += 1e-3f;
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(policy.decide(obs, mask));
    t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[us.size() * 99 / 100];
  state.counters["max_us"] = us.back();
}
BENCHMARK(BM_MlpPolicyDecide)->Unit(benchmark::kMicrosecond);

void BM_MlpForwardOnly(benchmark::State& state) {
  auto m = hp::Mlp::create({.layer_sizes = {kObs, kHidden, kHidden, kActions}});
  hetsched::Rng rng(1);
  ha::init_weights(*m, rng);
  std::vector<float> obs(kObs, 0.1f);
  for (auto _ : state) benchmark::DoNotOptimize(m->forward(obs).data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MlpForwardOnly)->Unit(benchmark::kMicrosecond);

// One Double-DQN update = 3 batched forwards (online s, online s', target s'), backward and Adam.
void BM_DqnUpdate(benchmark::State& state) {
  const int batch_size = static_cast<int>(state.range(0));
  ha::DqnOptions o;
  o.observation_size = kObs;
  o.num_actions = kActions;
  o.hidden_sizes = {kHidden, kHidden};
  o.batch_size = batch_size;
  auto dqn = ha::Dqn::create(o);
  auto replay = ha::ReplayBuffer::create({4096, kObs, kActions, 3});
  hetsched::Rng rng(4);
  std::vector<float> s(kObs), s2(kObs);
  std::vector<std::uint8_t> mask(kActions, 1);
  for (int i = 0; i < 4096; ++i) {
    for (auto& x : s) x = rng.uniform(-1.0f, 1.0f);
    for (auto& x : s2) x = rng.uniform(-1.0f, 1.0f);
    replay->push(s, static_cast<int>(rng.below(kActions)), rng.uniform(0.0f, 1.0f), s2, mask, i % 64 == 0);
  }
  auto batch = ha::ReplayBatch::make(batch_size, kObs, kActions);
  for (auto _ : state) {
    replay->sample(batch_size, &batch);
    benchmark::DoNotOptimize(dqn->update(batch));
  }
  state.SetItemsProcessed(state.iterations() * batch_size);  // transitions per second
  state.counters["updates_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DqnUpdate)->Arg(32)->Arg(64)->Unit(benchmark::kMicrosecond);

void BM_ReplayPushSample(benchmark::State& state) {
  auto replay = ha::ReplayBuffer::create({100000, kObs, kActions, 3});
  auto batch = ha::ReplayBatch::make(64, kObs, kActions);
  std::vector<float> s(kObs, 0.5f);
  std::vector<std::uint8_t> mask(kActions, 1);
  int i = 0;
  for (auto _ : state) {
    replay->push(s, i++ % kActions, 1.0f, s, mask, false);
    replay->sample(64, &batch);
  }
}
BENCHMARK(BM_ReplayPushSample)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
