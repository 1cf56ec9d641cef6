#include "runtime/controller.hpp"

#include <algorithm>

#include "policies/frame_records.hpp"

namespace hetsched::runtime {

Controller::Controller(const ControllerOptions& o, Clock& c, ControlTarget& t, const policies::Config& safe)
    : o_(o), clock_(c), target_(t), safe_(safe), guard_(o.guard) {}

Controller::~Controller() = default;

Result<std::unique_ptr<Controller>> Controller::create(const ControllerOptions& o, Clock& clock, ControlTarget& target,
                                                       std::unique_ptr<policies::Controller> policy,
                                                       const policies::Config& safe) {
  if (o.period_ns <= 0)
    return Error(StatusCode::kInvalidArgument, "ControllerOptions.period_ns = " + std::to_string(o.period_ns) + " must be > 0");
  if (o.rate_limit_ns < 0 || o.rate_limit_ns > o.period_ns)
    return Error(StatusCode::kInvalidArgument, "ControllerOptions.rate_limit_ns = " + std::to_string(o.rate_limit_ns) +
                                                   " outside [0, period_ns = " + std::to_string(o.period_ns) + "]");
  if (!policy) return Error(StatusCode::kInvalidArgument, "controller: no policy");
  Status st = policies::validate_config(safe, target.platform(), target.model());
  if (!st.ok()) return Error(st.code(), "controller safe configuration: " + st.message());
  std::unique_ptr<Controller> c(new Controller(o, clock, target, safe));
  if (Status s = target.observe(&c->sample_); !s.ok()) return Error(s.code(), "controller: first observation: " + s.message());
  c->current_ = c->initial_ = c->sample_.current;
  c->policy_ = std::move(policy);
  c->aware_ = dynamic_cast<SampleAwarePolicy*>(c->policy_.get());
  c->policy_->reset(c->current_);
  c->decision_.observation.reserve(1024);
  c->decision_.text.reserve(256);
  c->frame_event_.text.reserve(4096);  // host: a units x blocks cost matrix in hex floats
  c->applied_event_.text.reserve(256);
  c->next_ns_ = clock.now_ns() + o.period_ns;
  return c;
}

void Controller::propose_policy(std::unique_ptr<policies::Controller> p) {
  if (!p) return;
  std::unique_ptr<policies::Controller> dead;  // freed here, on the caller's thread
  {
    std::lock_guard<std::mutex> lock(swap_mu_);
    dead = std::move(retired_);
    if (pending_) dead = std::move(pending_);  // an unadopted proposal is replaced
    pending_ = std::move(p);
    want_rollback_.store(false, std::memory_order_relaxed);
    has_pending_.store(true, std::memory_order_release);
  }
}

bool Controller::rollback() {
  std::unique_ptr<policies::Controller> dead;
  std::lock_guard<std::mutex> lock(swap_mu_);
  if (has_pending_.load(std::memory_order_acquire)) {  // not adopted yet: just withdraw it
    dead = std::move(pending_);
    has_pending_.store(false, std::memory_order_release);
    return true;
  }
  if (!previous_) return false;
  want_rollback_.store(true, std::memory_order_release);
  return true;
}

// Controller thread. try_lock: a proposer holding the lock only delays adoption by a period.
void Controller::adopt_pending() noexcept {
  if (!has_pending_.load(std::memory_order_acquire) && !want_rollback_.load(std::memory_order_acquire)) return;
  std::unique_lock<std::mutex> lock(swap_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  if (has_pending_.load(std::memory_order_relaxed)) {
    retired_ = std::move(previous_);  // freed by the next propose_policy() call
    previous_ = std::move(policy_);
    policy_ = std::move(pending_);
    has_pending_.store(false, std::memory_order_release);
    swaps_.fetch_add(1, std::memory_order_relaxed);
  } else if (want_rollback_.load(std::memory_order_relaxed) && previous_) {
    std::swap(policy_, previous_);  // a second rollback() returns to the swapped-in policy
    rollbacks_.fetch_add(1, std::memory_order_relaxed);
  }
  want_rollback_.store(false, std::memory_order_release);
  aware_ = dynamic_cast<SampleAwarePolicy*>(policy_.get());
  policy_->reset(current_);
}

// A configuration the target can run: valid for the platform and model (the message allocates
// only on failure, a rare path) and no block on a unit the target reports offline.
bool Controller::valid_output(const policies::Config& c) const noexcept {
  const policies::PlatformDesc& p = target_.platform();
  for (int b = 0; b < c.num_blocks && b < policies::kMaxBlocks; ++b) {
    const int u = p.unit_index(c.unit[static_cast<size_t>(b)]);
    if (u < 0 || u >= policies::kMaxUnits || !sample_.mask.online[static_cast<size_t>(u)]) return false;
  }
  return policies::validate_config(c, p, target_.model()).ok();
}

// After apply(): nothing here delays the configuration reaching the target. Steady state does
// not allocate: the frame event and the decision reuse their buffers, and the decision text is
// only re-formatted when the chosen configuration differs from the one it spells.
void Controller::publish_records() noexcept {
  if (!pub_pending_) return;
  pub_pending_ = false;
  telemetry::RecordSink* sink = o_.sink;
  if (!sink) return;
  const std::int64_t t = sample_.t_ns;
  try {
    if (o_.frame_codec) {
      policies::PeriodInput in;
      in.t_ns = t;
      in.frame = &sample_.frame;
      in.mask = &sample_.mask;
      in.current = &sample_.current;
      const GuardInput& g = sample_.guard;
      in.guard = {g.sensors_ok, g.has_temp, g.max_temp_mc, g.frames, g.failed_frames, g.deadline_misses};
      in.cost_units = sample_.costs.num_units;
      in.cost_blocks = sample_.costs.num_blocks;
      in.cost_stride = kMaxPipelineBlocks;
      in.cost_us = sample_.costs.cost_us.data();
      o_.frame_codec->publish(*sink, in, &frame_event_);
    }
    // A guard decision has no policy observation: action -1, empty vector, text = the safe config.
    const std::span<const float> obs = pub_policy_ ? policy_->last_observation() : std::span<const float>{};
    decision_.t_ns = t;
    decision_.action = pub_policy_ ? policy_->last_action() : -1;
    decision_.observation.assign(obs.begin(), obs.end());
    if (!text_valid_ || !(pub_chosen_ == text_config_)) {
      text_valid_ = false;  // stays false if formatting throws
      decision_.text = policies::format_config(pub_chosen_, target_.platform());
      text_config_ = pub_chosen_;
      text_valid_ = true;
    }
    sink->on_decision(decision_);
    if (pub_changed_) {
      applied_event_.t_ns = t;
      applied_event_.kind = telemetry::EventKind::kConfigApplied;
      applied_event_.source = o_.record_source;
      applied_event_.text.assign(decision_.text);
      sink->on_event(applied_event_);
    }
  } catch (...) {
    errors_.fetch_add(1, std::memory_order_relaxed);  // out of memory while recording: the control loop goes on
  }
}

bool Controller::decide() noexcept {
  const std::int64_t now = clock_.now_ns();
  const bool urgent = urgent_.load(std::memory_order_acquire);
  if (now < next_ns_ && !urgent) return false;
  if (decided_once_ && now - last_ns_ < o_.rate_limit_ns) return false;  // urgent stays pending
  urgent_.store(false, std::memory_order_release);
  last_ns_ = now;
  decided_once_ = true;
  next_ns_ = now + o_.period_ns;
  decisions_.fetch_add(1, std::memory_order_relaxed);
  adopt_pending();

  if (target_.observe(&sample_).ok()) {
    current_ = sample_.current;
  } else {
    // No telemetry at all is a sensor loss: fall back rather than act blind.
    errors_.fetch_add(1, std::memory_order_relaxed);
    sample_.guard.sensors_ok = false;
    sample_.t_ns = now;
  }
  GuardReason reason = guard_.check(sample_.guard);
  policies::Config next = current_;
  bool policy_decided = false;
  if (reason == GuardReason::kNone && !guard_.holding()) {
    policy_decided = true;
    if (aware_) aware_->see(sample_);
    next = policy_->decide(sample_.frame, sample_.mask);
    last_action_.store(policy_->last_action(), std::memory_order_relaxed);
    if (!(next == current_) && !valid_output(next)) {
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
  bool changed = false;
  if (!(next == current_)) {
    if (target_.apply(next).ok()) {
      applied_.fetch_add(1, std::memory_order_relaxed);
      current_ = next;
      changed = true;
    } else {
      errors_.fetch_add(1, std::memory_order_relaxed);  // e.g. a write refused: carry on with what is in force
    }
  }
  pub_pending_ = true;
  pub_changed_ = changed;
  pub_policy_ = policy_decided;
  pub_chosen_ = next;
  return true;
}

void Controller::run(const std::atomic<bool>& stop) noexcept {
  const std::int64_t slice = std::max<std::int64_t>(o_.rate_limit_ns, 1'000'000);
  while (!stop.load(std::memory_order_acquire)) {
    if (target_.limits_changed()) notify_limits_changed();
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
  s.policy_swaps = swaps_.load(std::memory_order_relaxed);
  s.rollbacks = rollbacks_.load(std::memory_order_relaxed);
  s.last_guard = static_cast<GuardReason>(last_guard_.load(std::memory_order_relaxed));
  s.last_action = last_action_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace hetsched::runtime
