// Replay speed (issue 6 acceptance: replaying a 10-minute simulated run takes <= 1 s).
//
// Setup (untimed): a 10-minute simulated run (env/scenarios/hot_ambient.json, 600 s, 6000
// decision periods, rockpi_n10 + googlenet) recorded with the shipped trained policy (the most
// expensive decide(): encoder + MLP forward pass) through the same loop as `hetsched sim --record`.
// Timed:
//   BM_ReplayTenMinuteRun   load the trace (read, CRC, decode frames), rebuild platform/model/
//                           policy, drive runtime::Controller over all 6000 periods, compare every
//                           decision bit for bit — what `hetsched replay TRACE` does, in process;
//   BM_ReplayCli            the `hetsched replay TRACE` process end to end (when the binary is
//                           next to this one: <build>/tools/hetsched).
// Medians over repetitions: `bench_replay --benchmark_repetitions=5 --benchmark_report_aggregates_only=true`.
//
// tools/ is compiled into the hetsched executable, not a library, so the replay sources are
// compiled into this program directly.
#define HETSCHED_VERSION "bench"
#define HETSCHED_DEFAULT_DATA_DIR HETSCHED_ENV_DATA_DIR "/.."
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "tools/commands.cpp"
#include "tools/recorder.cpp"
#include "tools/replay_policy.cpp"
#include "tools/replay_sim.cpp"
#include "tools/replay_target.cpp"
#include "tools/sim_target.cpp"

namespace ht = hetsched::tools;

namespace {

const std::string kData = HETSCHED_ENV_DATA_DIR "/..";

// Records the 10-minute run once; returns the trace path ("" on failure, reported by the caller).
const std::string& ten_minute_trace() {
  static const std::string path = [] {
    const std::string p = "/tmp/hetsched_bench_replay_" + std::to_string(::getpid()) + ".trace";
    auto setup = hetsched::env::make_runner_setup(kData, "rockpi_n10", "googlenet");
    auto sc = hetsched::env::load_scenario(kData + "/env/scenarios/hot_ambient.json");
    if (!setup.ok() || !sc.ok()) return std::string();
    ht::SimRunRequest rq;
    rq.setup = setup.value();
    rq.scenario = *sc;
    rq.policy = "trained";
    rq.record_path = p;
    auto r = ht::run_sim_controller(rq);
    if (!r.ok()) {
      std::fprintf(stderr, "bench_replay: recording failed: %s\n", r.status().message().c_str());
      return std::string();
    }
    std::fprintf(stderr, "bench_replay: recorded %s (%.0f s simulated, %llu bytes)\n", p.c_str(), sc->duration_s,
                 static_cast<unsigned long long>(r->trace_bytes));
    return p;
  }();
  return path;
}

void BM_ReplayTenMinuteRun(benchmark::State& state) {
  const std::string& path = ten_minute_trace();
  if (path.empty()) {
    state.SkipWithError("could not record the 10-minute run");
    return;
  }
  std::size_t decisions = 0, differ = 0;
  for (auto _ : state) {
    auto ld = ht::load_replay(path);
    if (!ld.ok()) { state.SkipWithError(ld.status().message().c_str()); return; }
    auto setup = ht::replay_setup(*ld, kData);
    if (!setup.ok()) { state.SkipWithError(setup.status().message().c_str()); return; }
    std::uint64_t sum = 0;
    auto pol = ht::make_replay_policy(*setup, ld->id.policy, &sum);
    if (!pol.ok()) { state.SkipWithError(pol.status().message().c_str()); return; }
    auto got = ht::replay_run(*ld, setup->platform, setup->model, std::move(pol.value()), setup->run);
    if (!got.ok()) { state.SkipWithError(got.status().message().c_str()); return; }
    decisions = got->size();
    differ = 0;
    for (std::size_t i = 0; i < decisions && i < ld->decisions.size(); ++i) differ += !ht::same_decision(ld->decisions[i], (*got)[i]);
  }
  state.counters["decisions"] = static_cast<double>(decisions);
  state.counters["differ"] = static_cast<double>(differ);  // must be 0
}
BENCHMARK(BM_ReplayTenMinuteRun)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_ReplayCli(benchmark::State& state) {
  const std::string& path = ten_minute_trace();
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().string() + "/tools/hetsched";
  if (path.empty() || !std::filesystem::exists(exe)) {
    state.SkipWithError("no trace or no hetsched binary next to this program");
    return;
  }
  const std::string cmd = "'" + exe + "' replay '" + path + "' > /dev/null";
  int rc = 0;
  for (auto _ : state) rc = std::system(cmd.c_str());
  state.counters["exit_code"] = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;  // 0 = identical
}
BENCHMARK(BM_ReplayCli)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (!ten_minute_trace().empty()) std::remove(ten_minute_trace().c_str());
  return 0;
}
