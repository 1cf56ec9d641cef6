// What `hetsched replay` rebuilds from a trace's identity (tools/recorder.hpp): platform,
// model, scenario, controller options and the policy, simulated or host.
//
// Controller metadata keys (written by describe_controller(), read by replay_setup()); a
// missing key falls back to what `hetsched sim` / `hetsched run` use:
//   period_ns, rate_limit_ns        ControllerOptions (default: RuntimeOptions' defaults)
//   guard                           "trip_temp_mc,hysteresis_mc,miss_burst,hold_periods"
//                                   (default: sim_guard_options() simulated, RuntimeOptions' host)
//   initial_config                  ARM-CO-UP text (default: the first period's configuration in force)
//   safe_config                     (default: static-best of the scenario simulated, initial on host)
//   host_units                      host runs: "cpu0@0;cpu1@1" (unit name @ its cores, '+'-joined;
//                                   default: the "unit.<name>" keys in name order)
//   platform_file                   host runs with a profile: the platform file
//   min_gain                        host balancer (default: RuntimeOptions' 0.10)
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "env/policy_runner.hpp"
#include "env/scenario.hpp"
#include "policies/baselines.hpp"
#include "runtime/controller.hpp"
#include "tools/recorder.hpp"
#include "tools/replay_target.hpp"

namespace hetsched::tools {

// Writer side: the controller's settings into id->metadata.
void describe_controller(RunIdentity* id, const runtime::ControllerOptions& options, const policies::PlatformDesc& platform,
                         const policies::Config& initial, const policies::Config& safe);

struct ReplaySetup {
  bool host = false;
  policies::PlatformDesc platform;
  policies::ModelDesc model;
  std::shared_ptr<env::RunnerSetup> runner;  // simulated runs only
  bool has_scenario = false;
  env::Scenario scenario;
  ReplayRunOptions run;
  double min_gain = 0.10;                   // host balancer
};

// Errors name the metadata key or the platform/model that cannot be rebuilt.
Result<ReplaySetup> replay_setup(const ReplayLoad& ld, const std::string& data_dir);

// A policy by name, as the CLI names it: "trained" (the shipped file), a .policy file, a
// builtin baseline (env::make_builtin), "balance" (host). *checksum = Policy::checksum() of a
// trained policy (the weights; what the recorder stores), 0 for baselines. "oracle" is refused: it reads the simulator's hidden conditions,
// which a trace does not hold (use --counterfactual).
Result<std::unique_ptr<policies::Controller>> make_replay_policy(ReplaySetup& s, const std::string& name,
                                                                 std::uint64_t* checksum);

}  // namespace hetsched::tools
