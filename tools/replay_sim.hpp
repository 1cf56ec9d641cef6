// One simulated run through the runtime's controller (tools/sim_target.hpp + runtime::Controller),
// optionally recorded: what `hetsched sim`, the counterfactual replay and bench_replay share, so
// a recorded simulated run and its replay use the same loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "env/metrics.hpp"
#include "env/policy_runner.hpp"
#include "env/scenario.hpp"
#include "runtime/controller.hpp"
#include "telemetry/record_sink.hpp"

namespace hetsched::tools {

struct SimRunRequest {
  std::shared_ptr<env::RunnerSetup> setup;    // platform, model, costs, oracle
  env::Scenario scenario;                     // already validated against the platform
  std::uint64_t seed = 1;                     // simulator noise seed
  std::string policy;                         // static:CONFIG, oracle, trained, a .policy file, or a builtin
  std::string record_path;                    // "" = no trace
  std::string producer = "hetsched sim";      // trace header producer (the version is appended)
  telemetry::RecordSink* sink = nullptr;      // extra listener (may be null)
};

struct SimRunResult {
  env::Metrics metrics;
  std::vector<std::uint8_t> violated;         // per counted period (1 = QoS violated)
  runtime::ControllerStats stats;
  std::uint64_t policy_checksum = 0;          // policy file checksum (0 for baselines)
  std::uint64_t trace_bytes = 0;              // bytes written when recording
};

// Errors: kInvalidArgument for an unknown policy name or a configuration that does not parse
// (a usage error on the CLI), others for files and the recorder.
Result<SimRunResult> run_sim_controller(const SimRunRequest& request);

}  // namespace hetsched::tools
