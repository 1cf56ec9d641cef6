// Controller overhead (issue 5 target: <= 1 % of one core at a 100 ms decision period), one
// decision = observe + guard + policy + validate/apply (+ records when a sink is attached):
//   BM_ControllerBalance   the host's built-in balancer on the host shape (2 units x 28 blocks)
//   BM_ControllerAgent     the shipped trained agent (rockpi_n10 googlenet: encoder + action mask
//                          + MLP) on a fixed telemetry frame; Arg(1) = with a sink and the frame codec
// CPU time of the deciding thread / 100 ms period = overhead_pct_at_100ms.
//   bench_controller --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <time.h>

#include "policies/frame_records.hpp"
#include "runtime/agent_policy.hpp"
#include "runtime/balance_controller.hpp"
#include "runtime/controller.hpp"
#include "runtime/host_config.hpp"
#include "telemetry/clock.hpp"

namespace hetsched {
namespace {

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string data_dir() {
  const char* e = std::getenv("HETSCHED_DATA_DIR");
  return e ? e : HETSCHED_ENV_DATA_DIR "/..";  // the repository root (env library compile definition)
}

struct Target final : runtime::ControlTarget {
  policies::PlatformDesc desc;
  policies::ModelDesc mdesc;
  runtime::ControlSample s;
  const policies::PlatformDesc& platform() const noexcept override { return desc; }
  const policies::ModelDesc& model() const noexcept override { return mdesc; }
  Status observe(runtime::ControlSample* out) noexcept override {
    *out = s;
    return Status::Ok();
  }
  Status apply(const policies::Config& c) noexcept override {
    s.current = c;
    return Status::Ok();
  }
};

// Counts records; the cost of a real sink (trace writer, stream ring) is the sink's own.
struct CountSink final : telemetry::RecordSink {
  std::uint64_t n = 0;
  void on_sample(const telemetry::Sample&) noexcept override { ++n; }
  void on_event(const telemetry::Event&) noexcept override { ++n; }
  void on_decision(const telemetry::Decision& d) noexcept override { n += d.observation.size(); }
};

void report(benchmark::State& state, std::int64_t cpu0, const runtime::Controller& c) {
  const double per_ns = static_cast<double>(thread_cpu_ns() - cpu0) / static_cast<double>(state.iterations());
  state.counters["cpu_us_per_decision"] = per_ns / 1000.0;
  state.counters["overhead_pct_at_100ms"] = per_ns / 100e6 * 100.0;
  state.counters["applied"] = static_cast<double>(c.stats().applied);
}

void BM_ControllerBalance(benchmark::State& state) {
  ManualClock clock(0);
  Target t;
  t.desc = runtime::default_host_desc({"cpu0", "cpu1"}, {{0}, {1}});
  t.mdesc.name = "m";
  t.mdesc.blocks.resize(28);
  t.s.costs.num_units = 2;
  t.s.costs.num_blocks = 28;
  std::mt19937 rng(2);
  for (int u = 0; u < 2; ++u)
    for (int b = 0; b < 28; ++b)
      t.s.costs.cost_us[static_cast<size_t>(u * runtime::kMaxPipelineBlocks + b)] = std::uniform_real_distribution<float>(200, 3000)(rng);
  t.s.current = t.desc.units.empty() ? policies::Config{} : runtime::config_from_plan(runtime::PipelinePlan{}, t.desc);
  t.s.current.num_blocks = 28;
  for (int b = 0; b < 28; ++b) t.s.current.unit[static_cast<size_t>(b)] = b < 14 ? 'A' : 'B';
  auto c = runtime::Controller::create({.period_ns = 100'000'000, .rate_limit_ns = 20'000'000, .guard = {}}, clock, t,
                                       std::make_unique<runtime::BalanceController>(t.desc, runtime::BalanceOptions{}), t.s.current)
               .value();
  int i = 0;
  const std::int64_t cpu0 = thread_cpu_ns();
  for (auto _ : state) {
    // Alternate a hog on unit B so decisions re-split (worst case: balance + validate + apply).
    if (++i % 2 == 0) {
      const float k = (i % 4 == 0) ? 3.0f : 1.0f / 3.0f;
      for (int b = 0; b < 28; ++b) t.s.costs.cost_us[static_cast<size_t>(runtime::kMaxPipelineBlocks + b)] *= k;
      t.s.guard.frames += 100;  // settled
    }
    clock.advance_ns(100'000'000);
    benchmark::DoNotOptimize(c->step());
  }
  report(state, cpu0, *c);
}
BENCHMARK(BM_ControllerBalance)->Unit(benchmark::kMicrosecond);

void BM_ControllerAgent(benchmark::State& state) {
  const std::string dir = data_dir();
  Target t;
  auto p = policies::load_platform_by_name(dir, "rockpi_n10");
  auto m = policies::load_model_by_name(dir, "googlenet");
  if (!p.ok() || !m.ok()) return state.SkipWithError("platform/model files not found (HETSCHED_DATA_DIR)");
  t.desc = *p;
  t.mdesc = *m;
  auto agent = runtime::load_agent_policy(dir + "/policies/trained/rockpi_n10_googlenet.policy", t.desc, t.mdesc, dir);
  if (!agent.ok()) return state.SkipWithError(agent.status().to_string().c_str());
  auto start = policies::parse_config("BBBBGGGGGNNNN:BL:5,7,4", t.desc, t.mdesc);
  t.s.current = *start;
  policies::TelemetryFrame& f = t.s.frame;
  f.fps = 9.5, f.fps_ok = true, f.latency_us = 180000, f.latency_ok = true, f.power_mw = 4200, f.power_ok = true;
  f.frames = 10, f.num_stages = 3, f.target_fps = 10;
  for (int u = 0; u < t.desc.num_units(); ++u) {
    f.util[static_cast<size_t>(u)] = 0.6, f.unit_ok[static_cast<size_t>(u)] = true;
    if (t.desc.units[static_cast<size_t>(u)].has_dvfs()) f.freq_khz[static_cast<size_t>(u)] = t.desc.units[static_cast<size_t>(u)].opps.back().freq_khz;
  }
  telemetry::SourceTable sources;
  auto codec = policies::FrameCodec::create(t.desc.num_units(), static_cast<int>(t.desc.zones.size()), &sources);
  CountSink sink;
  runtime::ControllerOptions o{.period_ns = 100'000'000, .rate_limit_ns = 20'000'000, .guard = {}};
  if (state.range(0) == 1) {
    o.sink = &sink;
    o.frame_codec = &codec.value();
  }
  ManualClock clock(0);
  auto c = runtime::Controller::create(o, clock, t, std::move(agent->controller), *start).value();
  int i = 0;
  const std::int64_t cpu0 = thread_cpu_ns();
  for (auto _ : state) {
    f.fps = (++i % 3 == 0) ? 6.0 : 9.8;  // some periods miss the target
    clock.advance_ns(100'000'000);
    benchmark::DoNotOptimize(c->step());
  }
  report(state, cpu0, *c);
  state.counters["records"] = static_cast<double>(sink.n) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ControllerAgent)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hetsched

BENCHMARK_MAIN();
