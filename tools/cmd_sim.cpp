// hetsched sim: run a scenario on the simulator through the runtime's controller (the loop every
// run uses: tools/replay_sim.hpp) with a fixed configuration, the oracle, a baseline or a trained
// policy, and print the metrics (env/metrics.hpp definitions). --platform/--model override the
// scenario's "platform"/"model" keys; one of the two sources must name each. --record writes a
// trace that `hetsched replay` replays (docs/replay.md).
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "env/metrics.hpp"
#include "env/policy_runner.hpp"
#include "env/scenario.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"
#include "tools/replay_sim.hpp"

namespace hetsched::tools {
namespace {

int cmd_sim(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched sim --scenario S.json --policy POLICY [--platform P] [--model M] [--seed N] [--seconds S] [--record TRACE] [--json]",
      "run a scenario on the simulated SoC through the runtime's controller and print the run metrics",
      {{"scenario", "S.json", "scenario file (env/scenarios/*.json)"},
       {"policy", "POLICY", "static:ORDER:HOSTS:FREQS (fixed), oracle (best config per conditions), trained (shipped policy), "
                            "a .policy file, static-best, heuristic, governor:performance|powersave|schedutil"},
       {"platform", "P", "platform name (default: the scenario's \"platform\")"},
       {"model", "M", "model name or alias (default: the scenario's \"model\")"},
       {"seed", "N", "noise seed (default 1; same seed = same run)"},
       {"seconds", "S", "stop after S simulated seconds (default: the scenario's duration)"},
       {"record", "TRACE", "write a trace: telemetry, every decision, configurations, scenario events, run identity"},
       {"json", "", "print one JSON object: scenario, policy, platform, model + the metric keys"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"scenario", "policy"})
    if (!a.has(req)) return fail(kExitUsage, std::string("sim: --") + req + " is required (hetsched sim --help)");
  const auto seed = a.get_int("seed", 1);
  if (!seed) return kExitUsage;
  if (*seed < 0) return fail(kExitUsage, "sim: --seed must be >= 0");
  const auto seconds = a.get_double("seconds", 0);
  if (!seconds) return kExitUsage;
  if (a.has("seconds") && !(*seconds > 0 && *seconds <= 1e6)) return fail(kExitUsage, "sim: --seconds must be in (0, 1e6]");
  const std::string policy = a.get("policy");
  if (policy.empty()) return fail(kExitUsage, "sim: --policy is empty");

  auto scenario = env::load_scenario(a.get("scenario"));
  if (!scenario.ok()) return fail(kExitRuntime, scenario.status().message());
  const std::string pname = a.get("platform", scenario->platform), mname = a.get("model", scenario->model);
  if (pname.empty()) return fail(kExitUsage, "sim: no platform: pass --platform or set \"platform\" in " + a.get("scenario"));
  if (mname.empty()) return fail(kExitUsage, "sim: no model: pass --model or set \"model\" in " + a.get("scenario"));
  if (a.has("seconds")) {
    scenario->duration_s = std::min(scenario->duration_s, *seconds);
    if (scenario->decision_period_ms > scenario->duration_s * 1000)
      return fail(kExitUsage, "sim: --seconds is shorter than one decision period");
  }
  auto setup = env::make_runner_setup(data_dir(), pname, mname);
  if (!setup.ok()) return fail(kExitRuntime, setup.status().message());
  if (Status st = env::validate_scenario(*scenario, setup.value()->platform); !st.ok()) return fail(kExitRuntime, st.message());
  SimRunRequest rq;
  rq.setup = setup.value();
  rq.scenario = *scenario;
  rq.seed = static_cast<std::uint64_t>(*seed);
  rq.policy = policy;
  rq.record_path = a.get("record");
  auto run = run_sim_controller(rq);
  if (!run.ok())
    return fail(run.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRuntime, "sim: " + run.status().message());
  const auto& platform = setup.value()->platform;
  const auto& model = setup.value()->model;
  const env::Metrics& m = run->metrics;
  if (a.has("json")) {
    nlohmann::json j = env::to_json(m);
    j["scenario"] = scenario->name;
    j["policy"] = policy;
    j["platform"] = platform.name;
    j["model"] = model.name;
    std::cout << j.dump() << "\n";
    return kExitOk;
  }
  std::printf("scenario %s  platform %s  model %s  policy %s  seed %lld\n", scenario->name.c_str(),
              platform.name.c_str(), model.name.c_str(), policy.c_str(), static_cast<long long>(*seed));
  std::printf("  %-22s %12.3f\n", "fps_mean", m.fps_mean);
  std::printf("  %-22s %12.2f\n", "qos_violation_pct", m.qos_violation_pct);
  if (m.frames > 0) std::printf("  %-22s %12.2f\n", "energy_per_frame_mj", m.energy_per_frame_mj);
  else std::printf("  %-22s %12s\n", "energy_per_frame_mj", "-");
  std::printf("  %-22s %12.1f\n", "avg_power_mw", m.avg_power_mw);
  std::printf("  %-22s %12.2f\n", "peak_temp_c", m.peak_temp_c);
  std::printf("  %-22s %12.2f\n", "throttled_pct", m.throttled_pct);
  std::printf("  %-22s %12lld\n", "reconfigs", static_cast<long long>(m.reconfigs));
  std::printf("  %-22s %12lld\n", "frames", static_cast<long long>(m.frames));
  std::printf("  %-22s %12lld\n", "dropped_frames", static_cast<long long>(m.dropped_frames));
  return kExitOk;
}

const CommandRegistrar kReg{"sim", "run a scenario on the simulator (fixed config, oracle, baseline or trained policy) and print metrics", cmd_sim};

}  // namespace
}  // namespace hetsched::tools
