// Acceptance figures of the runtime (issue 5), real mobilenet_v1 on this machine's units:
//   BM_Speedup         two-unit pipelined FPS / best single-unit FPS          (target >= 1.6)
//   BM_HogAdaptation   hog on the last unit mid-run: adaptive FPS vs the best static split under
//                      the same hog (every split, both orders), time to reach 80 %  (<= 2 s)
//   BM_ResplitStorm    a random split every 5 frames: dropped / reordered frames (0) and drain
// Each is repeated (median reported); throughput on a shared machine is disturbed by other
// load, so the load average at start is a counter: rerun on a quiet machine for clean figures.
// HETSCHED_BENCH_WINDOW_S (default 1.0) sets the measuring window of one FPS figure. Medians:
//   bench_pipeline --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <time.h>
#include <thread>

#include "hetsched/runtime.hpp"
#include "runtime/stress.hpp"
#include "telemetry/clock.hpp"

namespace {

using namespace hetsched;

double window_s() {
  const char* e = std::getenv("HETSCHED_BENCH_WINDOW_S");
  const double v = e ? std::atof(e) : 1.0;
  return v > 0.05 ? v : 1.0;
}
std::int64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
double load_avg() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : -1;
}

struct Rig {
  RuntimePlatform platform;
  std::unique_ptr<Runtime> rt;
  std::vector<float> input;
  std::atomic<std::uint64_t> delivered{0}, reordered{0};
  std::atomic<std::uint64_t> expect{0};  // callbacks run on different stage threads
  std::mutex m;
  std::uint64_t next_tag = 0;
  double cores_used = 0;  // of the last run_for window

  explicit Rig(RuntimeMode mode, const std::string& split = "") {
    platform = host_platform().value();
    RuntimeOptions o;
    o.mode = mode;
    o.split = split;
    o.on_result = [this](const RuntimeResult& r) {
      if (r.tag != expect.load()) reordered.fetch_add(1);
      expect.store(r.tag + 1);
      delivered.fetch_add(1);
    };
    auto r = Runtime::create(platform, "mobilenet_v1", HETSCHED_ENV_DATA_DIR "/..", o);  // data dir = repo root
    if (!r.ok()) std::fprintf(stderr, "bench: %s\n", r.status().to_string().c_str()), std::abort();
    rt = std::move(r.value());
    input.assign(static_cast<size_t>(rt->input_floats()), 0.3f);
  }
  // Submits frames for `seconds` (closed loop: as fast as the pipeline takes them); FPS of
  // frames delivered in that window.
  double run_for(double seconds, RealClock& clock) {
    const std::uint64_t d0 = delivered.load();
    const std::int64_t t0 = clock.now_ns(), t_end = t0 + static_cast<std::int64_t>(seconds * 1e9), c0 = process_cpu_ns();
    while (clock.now_ns() < t_end) (void)rt->submit(input.data(), rt->input_floats(), next_tag++);
    const double wall_s = static_cast<double>(clock.now_ns() - t0) / 1e9;
    // Cores' worth of CPU the process got: under contention the kernel (autogroup: one share
    // per session) may give two threads no more CPU than one, which caps any speedup.
    cores_used = static_cast<double>(process_cpu_ns() - c0) / 1e9 / wall_s;
    return static_cast<double>(delivered.load() - d0) / wall_s;
  }
  double fixed_fps(const std::string& split, RealClock& clock) {
    (void)rt->set_split(split);
    run_for(0.25 * window_s(), clock);  // settle: drain + refill
    return run_for(window_s(), clock);
  }
};

std::string solo(const std::string& u) { return u + ":28"; }

void BM_Speedup(benchmark::State& state) {
  RealClock clock;
  Rig rig(RuntimeMode::kFixed);
  const auto names = rig.rt->unit_names();
  if (names.size() < 2) return state.SkipWithError("needs two units");
  double best_single = 0, two = 0, cores_single = 0, cores_two = 0;
  for (auto _ : state) {
    best_single = 0;
    for (const auto& n : names) {
      const double f = rig.fixed_fps(solo(n), clock);
      if (f > best_single) best_single = f, cores_single = rig.cores_used;
    }
    two = 0;  // the best of the balanced neighbourhood (calibration noise on a loaded machine)
    for (int k : {12, 13, 14, 15, 16}) {
      const double f = rig.fixed_fps(names[0] + ":" + std::to_string(k) + "," + names[1] + ":" + std::to_string(28 - k), clock);
      if (f > two) two = f, cores_two = rig.cores_used;
    }
  }
  state.counters["single_cores_used"] = cores_single;
  state.counters["two_cores_used"] = cores_two;
  // Frames per CPU-second: pipeline efficiency independent of how much CPU the kernel granted.
  state.counters["two_vs_single_fps_per_cpu"] = (cores_two > 0 && cores_single > 0 && best_single > 0)
                                                   ? (two / cores_two) / (best_single / cores_single) : 0;
  state.counters["single_fps"] = best_single;
  state.counters["two_unit_fps"] = two;
  state.counters["speedup"] = best_single > 0 ? two / best_single : 0;
  state.counters["loadavg"] = load_avg();
}
BENCHMARK(BM_Speedup)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_HogAdaptation(benchmark::State& state) {
  RealClock clock;
  const auto names = host_platform().value().units;
  if (names.size() < 2) return state.SkipWithError("needs two units");
  const std::string a = names[0].name, b = names[1].name;
  double best_static = 0, reach_s = 0, ratio_2s = 0, adapt_fps = 0;
  std::string best_split;
  std::uint64_t dropped = 0, reordered = 0, reconfigs = 0;
  for (auto _ : state) {
    // Best static under the hog: every split, both orders, and each unit alone.
    {
      Rig fixed(RuntimeMode::kFixed);
      auto hog = runtime::CpuHog::start(names[1].cpu_ids).value();
      best_static = 0;
      std::vector<std::string> splits{solo(a), solo(b)};
      for (int k = 1; k < 28; ++k) {
        splits.push_back(a + ":" + std::to_string(k) + "," + b + ":" + std::to_string(28 - k));
        splits.push_back(b + ":" + std::to_string(k) + "," + a + ":" + std::to_string(28 - k));
      }
      for (const auto& s : splits) {
        const double f = fixed.fixed_fps(s, clock);
        if (f > best_static) best_static = f, best_split = s;
      }
    }
    // Adaptive: run 2 s unloaded, start the hog, watch 0.25 s windows for 4 s.
    Rig ad(RuntimeMode::kAdaptive);
    ad.run_for(2.0, clock);
    auto hog = runtime::CpuHog::start(names[1].cpu_ids).value();
    reach_s = -1;
    double t = 0;
    std::vector<double> fps;
    while (t < 4.0) {
      const double f = ad.run_for(0.25, clock);
      t += 0.25;
      fps.push_back(f);
      // Sustained: this window and the next both at >= 80 % (checked one window late).
      if (reach_s < 0 && fps.size() >= 2 && fps[fps.size() - 2] >= 0.8 * best_static && f >= 0.8 * best_static) reach_s = t - 0.25;
    }
    ratio_2s = (fps[7] + fps[8]) / 2 / best_static;  // windows ending at 2.0 and 2.25 s
    adapt_fps = (fps[12] + fps[13] + fps[14] + fps[15]) / 4;
    hog->stop();
    (void)ad.rt->stop();
    const auto tel = ad.rt->telemetry();
    dropped = tel.frames_submitted - ad.delivered.load();
    reordered = ad.reordered.load();
    reconfigs = tel.reconfigs;
  }
  state.counters["best_static_fps"] = best_static;
  state.counters["adaptive_fps_3to4s"] = adapt_fps;
  state.counters["ratio_at_2s"] = ratio_2s;
  state.counters["reach80_s"] = reach_s;  // -1: never within 4 s
  state.counters["dropped"] = static_cast<double>(dropped);
  state.counters["reordered"] = static_cast<double>(reordered);
  state.counters["reconfigs"] = static_cast<double>(reconfigs);
  state.counters["loadavg"] = load_avg();
  state.SetLabel("best static " + best_split);
}
BENCHMARK(BM_HogAdaptation)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ResplitStorm(benchmark::State& state) {
  RealClock clock;
  Rig rig(RuntimeMode::kFixed);
  const auto names = rig.rt->unit_names();
  std::mt19937 rng(5);
  const int kFrames = 60;
  std::uint64_t submitted = 0;
  const std::uint64_t d0 = rig.delivered.load();
  for (auto _ : state) {
    for (int f = 0; f < kFrames; ++f) {
      if (f % 5 == 0) {
        const int k = std::uniform_int_distribution<int>(1, 27)(rng);
        const bool swap = rng() & 1;
        const std::string& x = names[swap ? 1 % names.size() : 0];
        const std::string& y = names[swap ? 0 : 1 % names.size()];
        (void)rig.rt->set_split(x + ":" + std::to_string(k) + "," + y + ":" + std::to_string(28 - k));
      }
      (void)rig.rt->submit(rig.input.data(), rig.rt->input_floats(), rig.next_tag++);
      ++submitted;
    }
  }
  (void)rig.rt->stop();
  const auto t = rig.rt->telemetry();
  state.counters["frames"] = static_cast<double>(submitted);
  state.counters["dropped"] = static_cast<double>(submitted - (rig.delivered.load() - d0));
  state.counters["reordered"] = static_cast<double>(rig.reordered.load());
  state.counters["reconfigs"] = t.reconfigs;
  state.counters["switch_wait_ms"] = t.reconfigs ? static_cast<double>(t.switch_wait_ns) / 1e6 / t.reconfigs : 0;
}
BENCHMARK(BM_ResplitStorm)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// The controller's per-decision overhead (balancer and learned agent): bench/bench_controller.cpp.

}  // namespace

BENCHMARK_MAIN();
