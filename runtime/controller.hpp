// The controller: telemetry -> guard -> policy -> actuation, shaped like Linux schedutil.
//
//   * decisions every period_ns, never two closer than rate_limit_ns (schedutil's
//     rate_limit_us): re-splitting costs a drain bubble, so deciding faster than the pipeline can
//     settle only adds bubbles;
//   * notify_limits_changed() (thermal trip, unit offline, new target) asks for an immediate
//     re-decision, still subject to the rate limit;
//   * slow work stays off the hot path: apply() only hands the plan to the pipeline, which
//     switches at the next frame boundary (epoch barrier); the controller never waits for it.
//
// Time is injected: step() reads only the Clock, so the same controller runs in real time
// (run() on a thread with RealClock) and in virtual time (a simulator driver calls step() after
// advancing a ManualClock).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "runtime/guard.hpp"
#include "runtime/pipeline_plan.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

struct ControlObservation {
  std::int64_t t_ns = 0;
  int num_units = 0, num_blocks = 0;
  // Predicted latency of block b on unit u under current conditions: cost_us[u*kMaxPipelineBlocks+b].
  std::array<double, kMaxPipelineUnits * kMaxPipelineBlocks> cost_us{};
  PipelinePlan plan;                 // plan currently in force (or pending)
  bool sensors_ok = true;            // false: a sensor that was readable is gone
  bool has_temp = false;
  int max_temp_mc = 0;
  std::uint64_t frames = 0, failed_frames = 0, deadline_misses = 0;  // cumulative
};

// What the controller drives: the real pipeline, or a simulated platform.
class ControlTarget {
 public:
  virtual ~ControlTarget() = default;
  virtual Status observe(ControlObservation* out) noexcept = 0;
  virtual Status apply(const PipelinePlan& plan) noexcept = 0;  // must not block on the pipeline
};

class ControlPolicy {
 public:
  virtual ~ControlPolicy() = default;
  // The plan to run next (returning obs.plan = keep). Must not allocate.
  virtual PipelinePlan decide(const ControlObservation& obs) noexcept = 0;
};

// The built-in adaptive policy: re-split to the min-max balanced plan of the observed per-unit
// block costs, but only when it predicts a throughput gain of at least min_gain (each switch
// costs a bubble, and noisy measurements would otherwise flip between near-equal splits).
struct BalancePolicyOptions {
  double min_gain = 0.08;      // relative bottleneck reduction required to re-split
  double handover_us = 50;     // per-stage hand-over cost added to each stage
  bool use_all_units = true;   // keep every unit measurable (see Balancer)
  // Frames that must complete after a re-split before the next one: the per-block EWMAs
  // (alpha 1/4) restart at each switch, and deciding on 1-2 cold samples made the split
  // oscillate (measured: 18 switches in 3 s, -20 % FPS, on an unloaded pipeline).
  int settle_frames = 8;
};
class BalancePolicy final : public ControlPolicy {
 public:
  explicit BalancePolicy(const BalancePolicyOptions& o) : o_(o), bal_(std::make_unique<Balancer>()) {}
  PipelinePlan decide(const ControlObservation& obs) noexcept override;
  double last_predicted_us() const noexcept { return last_us_; }

 private:
  BalancePolicyOptions o_;
  std::unique_ptr<Balancer> bal_;
  double last_us_ = 0;
  std::uint64_t frames_at_switch_ = 0;
  bool switched_ = false;
};

struct ControllerOptions {
  std::int64_t period_ns = 100'000'000;      // decision period
  std::int64_t rate_limit_ns = 20'000'000;   // minimum time between two decisions
  GuardOptions guard;
};

struct ControllerStats {
  std::uint64_t decisions = 0, applied = 0, guard_overrides = 0, errors = 0;
  GuardReason last_guard = GuardReason::kNone;
};

class Controller {
 public:
  // Errors: period <= 0, rate limit < 0 or > period, safe plan invalid for the observed target.
  static Result<std::unique_ptr<Controller>> create(const ControllerOptions& options, Clock& clock,
                                                    ControlTarget& target, ControlPolicy& policy,
                                                    const PipelinePlan& safe_plan);
  // One decision if one is due (period elapsed, or urgent and the rate limit allows). Returns
  // true if it decided. No allocation.
  bool step() noexcept;
  // Ask for an immediate re-decision (any thread).
  void notify_limits_changed() noexcept { urgent_.store(true, std::memory_order_release); }
  // Real-time loop until stop is set: sleeps on the clock in slices of the rate limit so an
  // urgent request is served within one slice.
  void run(const std::atomic<bool>& stop) noexcept;
  ControllerStats stats() const noexcept;
  std::int64_t next_decision_ns() const noexcept { return next_ns_; }

 private:
  Controller(const ControllerOptions& o, Clock& c, ControlTarget& t, ControlPolicy& p, const PipelinePlan& safe)
      : o_(o), clock_(c), target_(t), policy_(p), safe_(safe), guard_(o.guard) {}
  ControllerOptions o_;
  Clock& clock_;
  ControlTarget& target_;
  ControlPolicy& policy_;
  PipelinePlan safe_;
  Guard guard_;
  ControlObservation obs_;
  std::atomic<bool> urgent_{false};
  std::int64_t next_ns_ = 0, last_ns_ = 0;
  bool decided_once_ = false;
  std::atomic<std::uint64_t> decisions_{0}, applied_{0}, overrides_{0}, errors_{0};
  std::atomic<std::uint8_t> last_guard_{0};
};

}  // namespace hetsched::runtime
