// hetsched run: the main job. Both shapes run the same runtime::Controller (runtime/controller.hpp):
//   no --platform (or a simulated platform): the adaptive scheduler on a simulated platform
//     (default rockpi_n10 + googlenet + env/scenarios/combined.json) in virtual time: a
//     ManualClock advanced by the simulator (tools/run_sim.cpp); the shipped trained policy by
//     default, else "heuristic"; --policy;
//   --platform host: real pipelined inference on this machine's cores (tools/run_host.cpp: the
//     Runtime's controller: built-in balancer, or --policy FILE trained for the host profile),
//     --stress hogs.
// Both: live status line (stderr, throttled), final summary or --json, --record TRACE
// (tools/recorder.hpp), --listen ADDR:PORT (tools/listen.hpp: stream + policy push); the shared
// record plumbing is tools/run_outputs.hpp. This file: the flags and which shape runs.
#include <string>
#include <vector>

#include "tools/args.hpp"
#include "tools/commands.hpp"
#include "tools/run_outputs.hpp"

namespace hetsched::tools {
namespace {

int cmd_run(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched run [--platform host|P] [--model M] [--policy NAME|FILE] [--seconds S] [--stress UNIT@T_S[:DURATION_S]] [--json] "
      "[--record TRACE] [--listen ADDR:PORT]",
      "run the adaptive scheduler: simulated (default rockpi_n10 + googlenet + built-in scenario) or real on this machine",
      {{"platform", "P", "host = real inference on this machine; a platform name = simulated (default rockpi_n10)"},
       {"model", "M", "model (default googlenet simulated, mobilenet_v1 on host)"},
       {"seconds", "S", "bound the run (default: the scenario's duration, 30 s on host)"},
       {"policy", "NAME|FILE",
        "simulated: trained (shipped policy; default, else heuristic), a .policy file, heuristic, static-best, static:CONFIG, "
        "governor:..., oracle; host: balance (default) or a .policy file trained for the host profile"},
       {"scenario", "S.json", "simulated: scenario file (default env/scenarios/combined.json)"},
       {"seed", "N", "simulated: noise seed (default 1; same seed = same run as hetsched sim/eval)"},
       {"stress", "UNIT@T_S[:DURATION_S]", "host: start a CPU hog pinned to UNIT at T_S for DURATION_S", true},
       {"mode", "adaptive|fixed", "host: adaptive controller (default) or a fixed split"},
       {"split", "UNIT:N,...", "host: fixed/initial split, e.g. cpu0:20,cpu1:8 (default: balanced on calibration)"},
       {"deadline-ms", "MS", "host: per-frame latency bound; a period with a frame over it is a QoS violation (default none)"},
       {"target-fps", "FPS", "host: FPS target; a period delivering < 0.95 x FPS is a QoS violation (metrics only; default none)"},
       {"profile", "PROFILE.json", "host: the host profile a --policy file was trained on (default: hetsched profile's output)"},
       {"online", "", "host: with --policy FILE, keep learning on the run and hot-swap the improved policy"},
       {"json", "", "print the metrics as JSON (simulator metric keys)"},
       {"record", "TRACE", "write a trace: samples, decisions, configurations, events, run identity (docs/replay.md)"},
       {"listen", "ADDR:PORT", "stream telemetry and accept policy pushes (docs/streaming.md; loopback unless a token is set)"},
       {"token-file", "F", "--listen: shared token file (required off loopback; else $HETSCHED_STREAM_TOKEN)"},
       {"quiet", "", "no live status line"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  const bool host = a.get("platform") == "host";
  auto seconds = a.get_double("seconds", host ? 30.0 : 0.0);
  if (!seconds) return *a.exit_code;
  if (*seconds < 0 || *seconds > 1e6 || (a.has("seconds") && *seconds <= 0))
    return fail(kExitUsage, "run: --seconds must be in (0, 1e6]");
  if (a.has("token-file") && !a.has("listen")) return fail(kExitUsage, "run: --token-file needs --listen");
  if (!host) {
    for (const char* f : {"stress", "mode", "split", "deadline-ms", "target-fps", "profile", "online"})
      if (a.has(f)) return fail(kExitUsage, std::string("run: --") + f + " applies to --platform host only");
    return run::run_simulated(a, *seconds);
  }
  for (const char* f : {"scenario", "seed"})
    if (a.has(f)) return fail(kExitUsage, std::string("run: --") + f + " applies to simulated platforms only");
  return run::run_on_host(a, *seconds);
}

const CommandRegistrar kReg{"run", "run the adaptive scheduler (simulated by default, --platform host for real inference)", cmd_run};

}  // namespace
}  // namespace hetsched::tools
