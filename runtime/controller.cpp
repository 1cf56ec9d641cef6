#include "runtime/controller.hpp"

#include <algorithm>

namespace hetsched::runtime {

PipelinePlan BalancePolicy::decide(const ControlObservation& obs) noexcept {
  if (switched_ && obs.frames < frames_at_switch_ + static_cast<std::uint64_t>(std::max(0, o_.settle_frames))) return obs.plan;
  const BalanceResult r = bal_->balance(obs.cost_us.data(), obs.num_units, obs.num_blocks, o_.handover_us, o_.use_all_units);
  const double now_us = Balancer::bottleneck_us(obs.plan, obs.cost_us.data(), o_.handover_us);
  // Hysteresis: throughput ~ 1/bottleneck, so a gain of g needs bottleneck < now * (1 - g).
  if (r.plan.num_stages > 0 && r.bottleneck_us < now_us * (1.0 - o_.min_gain)) {
    last_us_ = r.bottleneck_us;
    switched_ = true;
    frames_at_switch_ = obs.frames;
    return r.plan;
  }
  last_us_ = now_us;
  return obs.plan;
}

Result<std::unique_ptr<Controller>> Controller::create(const ControllerOptions& o, Clock& clock, ControlTarget& target,
                                                       ControlPolicy& policy, const PipelinePlan& safe_plan) {
  if (o.period_ns <= 0)
    return Error(StatusCode::kInvalidArgument, "ControllerOptions.period_ns = " + std::to_string(o.period_ns) + " must be > 0");
  if (o.rate_limit_ns < 0 || o.rate_limit_ns > o.period_ns)
    return Error(StatusCode::kInvalidArgument, "ControllerOptions.rate_limit_ns = " + std::to_string(o.rate_limit_ns) +
                                                   " outside [0, period_ns = " + std::to_string(o.period_ns) + "]");
  std::unique_ptr<Controller> c(new Controller(o, clock, target, policy, safe_plan));
  HETSCHED_RETURN_IF_ERROR(target.observe(&c->obs_));
  Status st = validate_plan(safe_plan, c->obs_.num_blocks, c->obs_.num_units);
  if (!st.ok()) return Error(st.code(), "controller safe plan: " + st.message());
  c->next_ns_ = clock.now_ns() + o.period_ns;
  return c;
}

bool Controller::step() noexcept {
  const std::int64_t now = clock_.now_ns();
  const bool urgent = urgent_.load(std::memory_order_acquire);
  if (now < next_ns_ && !urgent) return false;
  if (decided_once_ && now - last_ns_ < o_.rate_limit_ns) return false;  // urgent stays pending
  urgent_.store(false, std::memory_order_release);
  last_ns_ = now;
  decided_once_ = true;
  next_ns_ = now + o_.period_ns;
  decisions_.fetch_add(1, std::memory_order_relaxed);

  if (!target_.observe(&obs_).ok()) {
    // No telemetry at all is a sensor loss: fall back rather than act blind.
    errors_.fetch_add(1, std::memory_order_relaxed);
    obs_.sensors_ok = false;
  }
  GuardReason reason = guard_.check(obs_);
  PipelinePlan next = obs_.plan;
  if (reason == GuardReason::kNone && !guard_.holding()) {
    next = policy_.decide(obs_);
    if (!validate_plan(next, obs_.num_blocks, obs_.num_units).ok()) {  // the error message allocates; rare path
      reason = GuardReason::kInvalidPolicy;
      guard_.policy_invalid();
    }
  } else if (reason == GuardReason::kNone) {
    next = safe_;  // holding after a recent trigger
  }
  if (reason != GuardReason::kNone) {
    next = safe_;
    overrides_.fetch_add(1, std::memory_order_relaxed);
    last_guard_.store(static_cast<std::uint8_t>(reason), std::memory_order_relaxed);
  }
  if (!(next == obs_.plan)) {
    if (target_.apply(next).ok()) applied_.fetch_add(1, std::memory_order_relaxed);
    else errors_.fetch_add(1, std::memory_order_relaxed);  // e.g. a write refused: carry on
  }
  return true;
}

void Controller::run(const std::atomic<bool>& stop) noexcept {
  const std::int64_t slice = std::max<std::int64_t>(o_.rate_limit_ns, 1'000'000);
  while (!stop.load(std::memory_order_acquire)) {
    step();
    const std::int64_t now = clock_.now_ns();
    clock_.sleep_until_ns(std::min(next_ns_, now + slice));
  }
}

ControllerStats Controller::stats() const noexcept {
  ControllerStats s;
  s.decisions = decisions_.load(std::memory_order_relaxed);
  s.applied = applied_.load(std::memory_order_relaxed);
  s.guard_overrides = overrides_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.last_guard = static_cast<GuardReason>(last_guard_.load(std::memory_order_relaxed));
  return s;
}

}  // namespace hetsched::runtime
