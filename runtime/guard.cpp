#include "runtime/guard.hpp"

#include "runtime/control_target.hpp"

namespace hetsched::runtime {

const char* to_string(GuardReason r) noexcept {
  switch (r) {
    case GuardReason::kNone: return "none";
    case GuardReason::kThermalTrip: return "thermal_trip";
    case GuardReason::kSensorLoss: return "sensor_loss";
    case GuardReason::kInvalidOutput: return "invalid_output";
    case GuardReason::kDeadlineBurst: return "deadline_burst";
    case GuardReason::kInvalidPolicy: return "invalid_policy";
  }
  return "?";
}

GuardReason Guard::check(const GuardInput& obs) noexcept {
  // Per-period counts from cumulative counters (the first observation only sets the baseline).
  const std::uint64_t failed = first_ ? 0 : obs.failed_frames - last_failed_;
  const std::uint64_t misses = first_ ? 0 : obs.deadline_misses - last_misses_;
  first_ = false;
  last_failed_ = obs.failed_frames;
  last_misses_ = obs.deadline_misses;

  if (obs.has_temp) {
    if (obs.max_temp_mc >= o_.trip_temp_mc) tripped_ = true;
    else if (obs.max_temp_mc < o_.trip_temp_mc - o_.hysteresis_mc) tripped_ = false;
  }
  GuardReason r = GuardReason::kNone;
  if (tripped_) r = GuardReason::kThermalTrip;
  else if (!obs.sensors_ok) r = GuardReason::kSensorLoss;
  else if (failed > 0) r = GuardReason::kInvalidOutput;
  else if (o_.miss_burst > 0 && misses >= static_cast<std::uint64_t>(o_.miss_burst)) r = GuardReason::kDeadlineBurst;
  if (r != GuardReason::kNone) {
    hold_ = o_.hold_periods;
    holding_ = false;
    return r;
  }
  holding_ = hold_ > 0;  // this decision is one of the held ones
  if (hold_ > 0) --hold_;
  return GuardReason::kNone;
}

}  // namespace hetsched::runtime
