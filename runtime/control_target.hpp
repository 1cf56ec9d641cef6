// ControlTarget: what runtime::Controller drives, one interface for every shape of platform.
//
//   * the real pipeline on this machine (runtime/runtime.cpp: host units, measured block costs,
//     thermal zones / hwmon when present);
//   * the simulated SoC (tools/sim_target.hpp, on top of env::Simulator in virtual time: the
//     runtime never includes env/, tools/ wires it);
//   * a recorded run (the replay target of `hetsched replay`, fed from a trace).
//
// Each decision the controller calls observe() once, asks its policy (a policies::Controller:
// decide(TelemetryFrame, MaskInput) -> Config) for the next configuration, and calls apply()
// when it differs from sample.current. A target converts the Config to its own actuation (the
// host maps it to a PipelinePlan: runtime/host_config.hpp).
//
// Everything a policy may base its decision on is in the ControlSample, so a replay target that
// refills the same ControlSample from a trace makes the same controller code decide identically.
#pragma once

#include <array>
#include <cstdint>

#include "policies/action_space.hpp"
#include "policies/config.hpp"
#include "policies/model.hpp"
#include "policies/obs_encoder.hpp"
#include "policies/platform.hpp"
#include "runtime/pipeline_plan.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

// What the guard looks at (runtime/guard.hpp). Counters are cumulative since the target
// started; the guard differences them per decision.
struct GuardInput {
  bool sensors_ok = true;               // false: a sensor that was readable is gone
  bool has_temp = false;                // some thermal zone was read this period
  int max_temp_mc = 0;                  // hottest zone, milli-degrees C (valid if has_temp)
  std::uint64_t frames = 0;             // frames delivered
  std::uint64_t failed_frames = 0;      // frames with a block error or a NaN/Inf output
  std::uint64_t deadline_misses = 0;    // frames over the latency target
};

// Measured per-unit block costs of the host pipeline: the built-in balancer's observation
// (runtime/balance_controller.hpp). Floats so that a Decision record carries them verbatim.
// num_units == 0: not provided (the simulator has no per-block measurement).
struct BlockCosts {
  int num_units = 0, num_blocks = 0;
  // Predicted latency of block b on unit u under current conditions: cost_us[u * kMaxPipelineBlocks + b].
  std::array<float, kMaxPipelineUnits * kMaxPipelineBlocks> cost_us{};
};

// One decision period as sensed by a target.
struct ControlSample {
  std::int64_t t_ns = 0;            // when it was sensed (the controller's clock)
  policies::TelemetryFrame frame;   // sensed telemetry + targets: what the agent encodes
  policies::MaskInput mask;         // sensed online units and thermal caps: what the action mask uses
  policies::Config current{};       // configuration in force (or pending) on the target
  GuardInput guard;
  BlockCosts costs;
};

class ControlTarget {
 public:
  virtual ~ControlTarget() = default;
  // The platform and model the target runs; Config letters refer to platform units, and the
  // controller validates every policy output against both. Must outlive the controller.
  virtual const policies::PlatformDesc& platform() const noexcept = 0;
  virtual const policies::ModelDesc& model() const noexcept = 0;
  // Fills `out` with the period just sensed. Called once per decision, on the controller's
  // thread; noexcept and allocation-free. A non-OK status means no telemetry at all (the guard
  // treats it as sensor loss).
  virtual Status observe(ControlSample* out) noexcept = 0;
  // Requests a configuration. Must not block on slow work (the host pipeline switches at the
  // next frame boundary). A refusal (permission, unknown unit) is reported, and the controller
  // keeps going with what is in force. Allocation-free on success.
  virtual Status apply(const policies::Config& config) noexcept = 0;
  // Cheap check, called by Controller::run() every rate-limit slice between decisions: true
  // when limits changed (thermal trip, unit offline, new target) so the controller re-decides at
  // once instead of waiting for the period. Default: never (the target may instead call
  // Controller::notify_limits_changed() from any thread).
  virtual bool limits_changed() noexcept { return false; }
};

}  // namespace hetsched::runtime
