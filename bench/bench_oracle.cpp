// Oracle query time on the Rock Pi N10 (L 6 OPPs, B 8, G 5, N none; G/N hosts L or B) for
// GoogleNet (13 blocks), MobileNetV1 (28) and ResNet50 (18), under nominal and constrained
// conditions. Target: <= 50 ms per query for GoogleNet (decision-period budget).
//
//   ninja -C build-oracle bench_oracle
//   build-oracle/bench/bench_oracle --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Uses env/platforms/rockpi_n10.costs.json (the calibrated costs). Counters: leaves = (order,
// hosts, OPPs) combinations solved; allocs = heap allocations per query (must be 0).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <string>

#include "env/cost_model.hpp"
#include "env/oracle.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"

// Counts every heap allocation of the process (the query must not make any). GCC warns that
// the replaced delete frees what the replaced new malloc'ed: that is the intent.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<long> g_allocs{0};
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace hetsched;

// The repo root (env/ exports its data directory as <root>/env).
const std::string kDataDir = std::string(HETSCHED_ENV_DATA_DIR) + "/..";

struct Fixture {
  policies::PlatformDesc platform;
  policies::ModelDesc model;
  std::unique_ptr<env::CostModel> cost;
  std::unique_ptr<env::Oracle> oracle;
};

// One fixture per model, built once (create() is the prepare step, benchmarked separately).
Fixture* fixture(const std::string& model) {
  static std::map<std::string, std::unique_ptr<Fixture>> cache;
  auto& f = cache[model];
  if (f) return f.get();
  f = std::make_unique<Fixture>();
  auto die = [](const Status& st) {
    std::fprintf(stderr, "bench_oracle: %s\n", st.to_string().c_str());
    std::exit(1);
  };
  auto p = policies::load_platform_by_name(kDataDir, "rockpi_n10");
  if (!p.ok()) die(p.status());
  auto m = policies::load_model_by_name(kDataDir, model);
  if (!m.ok()) die(m.status());
  f->platform = *p;
  f->model = *m;
  env::CostModel::Options co;
  co.data_dir = kDataDir;
  auto c = env::CostModel::create(f->platform, f->model, co);
  if (!c.ok()) die(c.status());
  f->cost = std::make_unique<env::CostModel>(std::move(c).value());
  auto o = env::Oracle::create(*f->cost, {});
  if (!o.ok()) die(o.status());
  f->oracle = std::make_unique<env::Oracle>(std::move(o).value());
  return f.get();
}

// Unit order on the Rock Pi N10 file: L, B, G, N.
env::Conditions conditions(int which) {
  env::Conditions c;
  c.die_temp_c = 50;
  switch (which) {
    case 0:  // nominal, as fast as possible
      break;
    case 1:  // nominal, 30 fps target
      c.target_fps = 30;
      break;
    case 2:  // thermal: B and G capped, hot die, 20 fps within 150 ms and 5 W
      c.target_fps = 20;
      c.max_latency_ms = 150;
      c.power_budget_mw = 5000;
      c.die_temp_c = 80;
      c.unit[1].max_opp = 3;
      c.unit[2].max_opp = 2;
      break;
    case 3:  // degraded: NPU offline, background load on L, contended B, flat out under 6 W
      c.unit[3].online = false;
      c.unit[0].bg_util = 0.4;
      c.unit[1].slowdown = 1.5;
      c.power_budget_mw = 6000;
      break;
  }
  return c;
}
const char* kCondName[] = {"nominal_flat", "nominal_30fps", "thermal_20fps_lat_budget", "degraded_flat_budget_bg"};

void BM_OracleQuery(benchmark::State& state, const std::string& model) {
  Fixture* f = fixture(model);
  const env::Conditions c = conditions(static_cast<int>(state.range(0)));
  env::OracleResult r;
  long allocs = 0;
  for (auto _ : state) {
    const long before = g_allocs.load(std::memory_order_relaxed);
    const Status st = f->oracle->query(c, &r);
    allocs += g_allocs.load(std::memory_order_relaxed) - before;
    if (!st.ok()) {
      state.SkipWithError(st.to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::string(kCondName[state.range(0)]) + " -> " + policies::format_config(r.config, f->platform) +
                 (r.feasible ? "" : " (infeasible: max fps)"));
  state.counters["leaves"] = static_cast<double>(r.leaves);
  state.counters["allocs"] = static_cast<double>(allocs) / static_cast<double>(state.iterations());
  state.counters["fps"] = r.fps;
  state.counters["energy_mJ"] = r.energy_mj;
}

void BM_OraclePrepare(benchmark::State& state, const std::string& model) {
  Fixture* f = fixture(model);
  for (auto _ : state) {
    auto o = env::Oracle::create(*f->cost, {});
    benchmark::DoNotOptimize(o);
  }
}

}  // namespace

BENCHMARK_CAPTURE(BM_OracleQuery, googlenet, std::string("googlenet"))->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OracleQuery, mobilenet_v1, std::string("mobilenet_v1"))->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OracleQuery, resnet50, std::string("resnet50"))->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OraclePrepare, googlenet, std::string("googlenet"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OraclePrepare, mobilenet_v1, std::string("mobilenet_v1"))->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
