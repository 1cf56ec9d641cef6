// Env steps per second (one step = one 100 ms decision period) on the hand-built 3-unit
// platform and on the calibrated rockpi_n10 + googlenet cost model. Target: >= 1 M steps/s
// per core. Run: build-*/bench/bench_env_step
#include <benchmark/benchmark.h>

#include <memory>

#include "env/cost_model.hpp"
#include "env/rl_env.hpp"
#include "policies/config.hpp"

namespace {

using namespace hetsched;
using namespace hetsched::env;

const std::string kDataDir = std::string(HETSCHED_ENV_DATA_DIR) + "/..";

struct Setup {
  std::shared_ptr<const SimCosts> costs;
  ThermalParams thermal;
  policies::Config a, b;
};

Setup calibrated() {
  Setup s;
  auto p = policies::load_platform_by_name(kDataDir, "rockpi_n10");
  auto m = policies::load_model_by_name(kDataDir, "googlenet");
  if (!p.ok() || !m.ok()) return s;
  CostModel::Options co;
  co.data_dir = kDataDir;
  auto c = CostModel::create(*p, *m, co);
  auto t = load_thermal_params(*p);
  auto a = policies::parse_config("BBBBGGGGGNNNN:BL:5,7,4", *p, *m);
  auto b = policies::parse_config("LLLLBBBBBNNNN:BB:5,7,4", *p, *m);
  if (!c.ok() || !t.ok() || !a.ok() || !b.ok()) return s;
  s.costs = std::make_shared<CostModelCosts>(std::make_shared<const CostModel>(std::move(c.value())));
  s.thermal = *t;
  s.a = *a, s.b = *b;
  return s;
}

Scenario scenario(double fps) {
  Scenario sc;
  sc.name = "bench";
  sc.duration_s = 1e5;  // long enough never to finish inside the benchmark
  sc.decision_period_ms = 100;
  sc.initial.target_fps = fps;
  return sc;
}

// state.range(0): target FPS (0 = as fast as possible); range(1): 1 = switch config every 100 steps.
void BM_EnvStep(benchmark::State& state) {
  static const Setup s = calibrated();
  if (!s.costs) {
    state.SkipWithError("rockpi_n10/googlenet cost model not available");
    return;
  }
  auto env = RlEnv::create(s.costs, s.thermal, {}, {});
  if (!env.ok() || !env->reset(1, scenario(static_cast<double>(state.range(0)))).ok()) {
    state.SkipWithError("env creation failed");
    return;
  }
  std::int64_t i = 0;
  double sum = 0;
  for (auto _ : state) {
    const bool flip = state.range(1) && (i++ / 100) % 2;
    sum += env->step(flip ? s.b : s.a).reward;
    if (env->last().done) (void)env->reset(1, scenario(static_cast<double>(state.range(0))));
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnvStep)->Args({10, 0})->Args({30, 0})->Args({0, 0})->Args({10, 1});

void BM_BatchedStep(benchmark::State& state) {
  static const Setup s = calibrated();
  if (!s.costs) {
    state.SkipWithError("cost model not available");
    return;
  }
  const int n = 64;
  auto b = BatchedEnv::create(n, static_cast<int>(state.range(0)), s.costs, s.thermal, {}, {});
  std::vector<std::uint64_t> seeds(n);
  for (int i = 0; i < n; ++i) seeds[i] = static_cast<std::uint64_t>(i);
  if (!b.ok() || !(*b)->reset(seeds, scenario(10)).ok()) {
    state.SkipWithError("batched env creation failed");
    return;
  }
  std::vector<policies::Config> actions(n, s.a);
  for (auto _ : state) (*b)->step(actions);
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_BatchedStep)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
