// SimTarget: env's simulated SoC as a runtime::ControlTarget, in virtual time. This is where
// tools/ wires env into the runtime's controller (runtime/ never includes env/).
//
// Virtual time: advance() runs one simulator period and sets the ManualClock to the simulator's
// time; the driver then calls Controller::step(), which observes that period and applies the
// policy's configuration before the next advance(). The telemetry bridge is env's
// (frame_from_observation + OfflineDetector, updated once per period inside advance()), so a
// policy sees exactly what env::run_scenario shows it, and
//   run_sim_through_controller(static:C) == `hetsched sim --policy static:C`,
//   ... (oracle) == `hetsched sim --policy oracle`, ... (a trained policy) == `hetsched eval`
// for the same scenario and seed (tested in tests/tools/test_run_cli.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "env/metrics.hpp"
#include "env/policy_runner.hpp"
#include "env/scenario.hpp"
#include "env/sim.hpp"
#include "runtime/control_target.hpp"
#include "runtime/controller.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/record_sink.hpp"

namespace hetsched::tools {

// A simulated period only partly under a thermal cap (the step_wise governor ticks every
// polling interval, so a cap can start or end inside a decision period, which the frame's
// end-of-period max_freq_khz cannot show) gets an Event kNote "hsthrottle1 <seconds, hex float>"
// with the capped time of the period, as a device's cooling-device time_in_state would report;
// metrics_from_trace (tools/counterfactual.hpp) uses it instead of "capped at the end = whole
// period". Whole or no-cap periods need no note.
inline constexpr const char* kThrottleNotePrefix = "hsthrottle1 ";

struct SimTargetOptions {
  std::uint64_t seed = 1;               // simulator noise seed (same seed = same run)
  env::SimOptions sim;                  // simulator options (defaults = `hetsched sim`)
  telemetry::RecordSink* sink = nullptr;  // scenario events (kScenario) go here; may be null
  std::uint16_t scenario_source = 0;      // source id stamped on those events
};

class SimTarget final : public runtime::ControlTarget {
 public:
  // Resets a simulator for `scenario`, applies `initial` (in force from t = 0) and sets `clock`
  // to 0. `setup` and `clock` must outlive the target.
  static Result<std::unique_ptr<SimTarget>> create(std::shared_ptr<env::RunnerSetup> setup, const env::Scenario& scenario,
                                                   const policies::Config& initial, ManualClock& clock,
                                                   const SimTargetOptions& options);
  // Runs one decision period; false (and nothing done) when the scenario is over.
  bool advance() noexcept;
  bool done() const noexcept { return sim_->done(); }
  std::int64_t period_ns() const noexcept { return period_ns_; }
  const env::Simulator& sim() const noexcept { return *sim_; }
  env::Metrics metrics() const { return sim_->metrics().result(); }
  // Per counted period: 1 = QoS violated (for recovery periods, as env::RunResult).
  const std::vector<std::uint8_t>& violated() const noexcept { return violated_; }

  const policies::PlatformDesc& platform() const noexcept override { return setup_->platform; }
  const policies::ModelDesc& model() const noexcept override { return setup_->model; }
  Status observe(runtime::ControlSample* out) noexcept override;
  Status apply(const policies::Config& config) noexcept override;

 private:
  SimTarget() = default;
  std::shared_ptr<env::RunnerSetup> setup_;
  std::unique_ptr<env::Simulator> sim_;
  ManualClock* clock_ = nullptr;
  telemetry::RecordSink* sink_ = nullptr;
  std::uint16_t scenario_source_ = 0;
  std::unique_ptr<env::OfflineDetector> det_;
  runtime::ControlSample last_;
  policies::Config cfg_{};
  std::int64_t period_ns_ = 0;
  std::uint64_t cond_seen_ = 0;
  std::vector<std::uint8_t> violated_;
};

// The clairvoyant oracle as a policy over a SimTarget: re-plans whenever the simulator's hidden
// conditions change (what `hetsched sim --policy oracle` does). Simulator-only, for comparison.
std::unique_ptr<policies::Controller> make_sim_oracle(std::shared_ptr<env::RunnerSetup> setup, const SimTarget& target);

// The oracle's re-plan before the first period, as env::run_scenario does it: on the simulator's
// own conditions after reset (warm die, thermal caps), which static-best's query (the scenario's
// initial conditions) does not see, so the answers can differ. Applies the answer to `target`
// when it differs from `initial` (a different placement is a drain at t = 0, counted as a
// reconfiguration in both loops) and returns the configuration now in force.
policies::Config oracle_start(env::RunnerSetup& setup, SimTarget& target, const policies::Config& initial);

// The guard settings for a simulated platform: trip at the platform's critical trip point (the
// simulated step_wise governor handles the passive ones), no deadline-miss input.
runtime::GuardOptions sim_guard_options(const policies::PlatformDesc& platform);

}  // namespace hetsched::tools
