// What `hetsched replay` rebuilds from a trace's identity (tools/recorder.hpp): platform,
// model, scenario, controller options and the policy, simulated or host.
//
// Controller metadata keys (written by describe_controller(), read by replay_setup()):
//   period_ns, rate_limit_ns        ControllerOptions
//   guard                           "trip_temp_mc,hysteresis_mc,miss_burst,hold_periods"
//   initial_config, safe_config     configurations in ARM-CO-UP text (policies/config.hpp)
//   host_units                      host runs: "cpu0@0;cpu1@1" (unit name @ its cores, '+'-joined)
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
};

// Errors name the metadata key or the platform/model that cannot be rebuilt.
Result<ReplaySetup> replay_setup(const RunIdentity& id, const std::string& data_dir);

// A policy by name, as the CLI names it: "trained" (the shipped file), a .policy file, a
// builtin baseline (env::make_builtin), "balance" (host). *checksum = the policy file's payload
// checksum (0 for baselines). "oracle" is refused: it reads the simulator's hidden conditions,
// which a trace does not hold (use --counterfactual).
Result<std::unique_ptr<policies::Controller>> make_replay_policy(ReplaySetup& s, const std::string& name,
                                                                 std::uint64_t* checksum);

}  // namespace hetsched::tools
