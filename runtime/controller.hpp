// The controller: telemetry -> guard -> policy -> actuation, shaped like Linux schedutil. One
// loop for every target (runtime/control_target.hpp: the host pipeline, the simulated SoC, a
// recorded run) and every policy (policies::Controller: the trained agent, the baselines, the
// host's built-in balancer).
//
//   * a decision every period_ns, never two closer than rate_limit_ns (schedutil's
//     rate_limit_us): a re-split costs a drain bubble, so deciding faster than the pipeline can
//     settle only adds bubbles;
//   * notify_limits_changed() (any thread) or ControlTarget::limits_changed() (thermal trip, unit
//     offline, new target) asks for an immediate re-decision, still subject to the rate limit;
//   * slow work stays off the hot path: apply() only hands the configuration to the target (the
//     pipeline switches at the next frame boundary); the controller never waits for it.
//   * the guard (runtime/guard.hpp) overrides the policy with the safe configuration on a
//     thermal trip, sensor loss, failed/NaN frames, a policy output that is not a valid
//     configuration for the platform/model or uses an offline unit, or a deadline-miss burst.
//
// Time is injected: step() reads only the Clock, so the same controller runs in real time
// (run() on a thread with RealClock) and in virtual time (a simulator or replay driver advances
// a ManualClock, then calls step()).
//
// Records. With a sink, every decision publishes (after apply(): publishing is not part of the
// decision path observe -> encode -> decide -> guard -> apply, see decide()/publish_records()),
// in this order: the sample the policy saw
// (policies/frame_records.hpp: frame + mask as Samples/Events, bit-exact), one Decision (the
// policy's observation vector verbatim, its action index, text = the chosen configuration
// string; when the guard decided instead: action -1 and an empty vector), and a kConfigApplied event whenever the configuration in force changes (guard
// overrides included). A replay that feeds these back through a ControlTarget reproduces the
// decisions bit for bit.
//
// Policy hot-swap: propose_policy() (any thread) hands over a verified policy; it is adopted at
// the next decision (reset() with the configuration in force) and the previous one is kept for
// rollback(). Nothing is freed or allocated on the controller's thread by a swap.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "policies/baselines.hpp"
#include "runtime/control_target.hpp"
#include "runtime/guard.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/record_sink.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {
class FrameCodec;  // policies/frame_records.hpp
}

namespace hetsched::runtime {

// A policy that needs more of the target's sample than the frame and mask (the host balancer:
// the per-unit block costs). The controller hands it the whole sample right before decide().
class SampleAwarePolicy : public policies::Controller {
 public:
  virtual void see(const ControlSample& sample) noexcept = 0;
};

struct ControllerOptions {
  std::int64_t period_ns = 100'000'000;      // decision period
  std::int64_t rate_limit_ns = 20'000'000;   // minimum time between two decisions (<= period_ns)
  GuardOptions guard;                        // thermal trip, miss burst, hold
  telemetry::RecordSink* sink = nullptr;     // where samples/decisions/config changes go (may be null)
  const policies::FrameCodec* frame_codec = nullptr;  // encodes each period's frame+mask for the sink (null: not published)
  std::uint16_t record_source = 0;           // source id stamped on the controller's events
};

struct ControllerStats {
  std::uint64_t decisions = 0;        // decisions taken (period or urgent)
  std::uint64_t applied = 0;          // configurations applied to the target
  std::uint64_t guard_overrides = 0;  // decisions where the guard imposed the safe configuration
  std::uint64_t errors = 0;           // failed observe() or refused apply()
  std::uint64_t policy_swaps = 0;     // proposed policies adopted
  std::uint64_t rollbacks = 0;        // rollbacks performed
  GuardReason last_guard = GuardReason::kNone;
  std::int32_t last_action = -1;      // the policy's last action index (-1: none / not an agent)
};

class Controller {
 public:
  // Errors: period <= 0, rate limit outside [0, period], no policy, safe configuration invalid
  // for the target's platform/model, target observe() failing at creation.
  static Result<std::unique_ptr<Controller>> create(const ControllerOptions& options, Clock& clock,
                                                    ControlTarget& target,
                                                    std::unique_ptr<policies::Controller> policy,
                                                    const policies::Config& safe);
  ~Controller();

  // One decision if one is due (period elapsed, or urgent and the rate limit allows), then its
  // records: decide() followed by publish_records(). Returns true if it decided. No allocation
  // without a sink; with a sink, none in steady state either (buffers are reused; a configuration
  // change formats its text once), beyond the sink's own rules.
  bool step() noexcept {
    if (!decide()) return false;
    publish_records();
    return true;
  }
  // The decision path alone: observe -> policy (encode observation, decide) -> guard -> apply.
  // Returns true if it decided; its records are then pending until publish_records().
  bool decide() noexcept;
  // Publishes the pending decision's records to the sink (frame records, Decision, config
  // change), in the order replay expects. No-op without a sink or when nothing is pending. Must
  // run before the next decide() (step() does both).
  void publish_records() noexcept;
  // Ask for an immediate re-decision (any thread).
  void notify_limits_changed() noexcept { urgent_.store(true, std::memory_order_release); }
  // Real-time loop until stop is set: sleeps on the clock in slices of the rate limit (>= 1 ms)
  // so an urgent request is served within one slice.
  void run(const std::atomic<bool>& stop) noexcept;

  // Thread-safe hot-swap: `policy` (non-null) becomes active at the next decision; the active one
  // is kept for rollback(). A policy proposed but not yet adopted is replaced.
  void propose_policy(std::unique_ptr<policies::Controller> policy);
  // Thread-safe: at the next decision go back to the policy active before the last swap. False
  // if there is none.
  bool rollback();

  ControllerStats stats() const noexcept;
  std::int64_t next_decision_ns() const noexcept { return next_ns_; }
  // Controller thread (or after it stopped): the configuration in force after the last decision
  // and the active policy.
  const policies::Config& current() const noexcept { return current_; }
  const policies::Controller& policy() const noexcept { return *policy_; }
  const ControllerOptions& options() const noexcept { return o_; }
  // What a trace needs to rebuild this controller (tools/replay_policy.hpp describe_controller):
  // the configuration in force at creation, the guard's safe one, the target's platform.
  const policies::Config& initial() const noexcept { return initial_; }
  const policies::Config& safe() const noexcept { return safe_; }
  const policies::PlatformDesc& platform() const noexcept { return target_.platform(); }

 private:
  Controller(const ControllerOptions& o, Clock& c, ControlTarget& t, const policies::Config& safe);
  void adopt_pending() noexcept;
  bool valid_output(const policies::Config& c) const noexcept;

  ControllerOptions o_;
  Clock& clock_;
  ControlTarget& target_;
  policies::Config safe_;
  Guard guard_;
  ControlSample sample_;
  policies::Config current_{}, initial_{};
  std::unique_ptr<policies::Controller> policy_, previous_;
  SampleAwarePolicy* aware_ = nullptr;  // policy_ if it is sample-aware
  // Hand-over slots guarded by swap_mu_; the controller only try_locks it.
  std::mutex swap_mu_;
  std::unique_ptr<policies::Controller> pending_, retired_;
  std::atomic<bool> has_pending_{false}, want_rollback_{false};
  std::atomic<bool> urgent_{false};
  std::int64_t next_ns_ = 0, last_ns_ = 0;
  bool decided_once_ = false;
  telemetry::Decision decision_;       // reused record (capacity kept between decisions)
  telemetry::Event frame_event_, applied_event_;  // reused records (same reason)
  // The decision waiting for publish_records(): what was chosen, whether it was applied, whether
  // the policy (not the guard) decided.
  bool pub_pending_ = false, pub_changed_ = false, pub_policy_ = false;
  policies::Config pub_chosen_{};
  policies::Config text_config_{};     // the configuration decision_.text currently spells
  bool text_valid_ = false;
  std::atomic<std::uint64_t> decisions_{0}, applied_{0}, overrides_{0}, errors_{0}, swaps_{0}, rollbacks_{0};
  std::atomic<std::uint8_t> last_guard_{0};
  std::atomic<std::int32_t> last_action_{-1};
};

}  // namespace hetsched::runtime
