// The guard: overrides the policy and falls back to a safe configuration when something is
// wrong, whatever the policy says. Checked by the controller before every decision.
//
// Triggers (first match wins, in this order):
//   thermal trip    max temperature >= trip_temp_mc; latched until it is below trip - hysteresis
//                   (a trip point without hysteresis would toggle every period at the threshold);
//   sensor loss     a sensor that was readable is gone (GuardInput.sensors_ok == false);
//   invalid output  failed frames (a block error or a NaN/Inf output) in this period, or a policy
//                   decision that is not a valid configuration (checked by the controller);
//   deadline burst  at least miss_burst deadline misses in this period.
// After a trigger the safe configuration is held for hold_periods decisions, so the policy does
// not bounce straight back into the condition that tripped it.
#pragma once

#include <cstdint>
#include <limits>

namespace hetsched::runtime {

struct GuardInput;

enum class GuardReason : std::uint8_t { kNone, kThermalTrip, kSensorLoss, kInvalidOutput, kDeadlineBurst, kInvalidPolicy };
const char* to_string(GuardReason r) noexcept;

struct GuardOptions {
  int trip_temp_mc = 85000;   // thermal trip (millidegrees C)
  int hysteresis_mc = 5000;   // clear the trip below trip_temp_mc - hysteresis_mc
  int miss_burst = 5;         // deadline misses within one decision period that count as a burst
  int hold_periods = 10;      // decisions the safe configuration is held after a trigger
};

class Guard {
 public:
  explicit Guard(const GuardOptions& o) noexcept : o_(o) {}
  // Updates the per-period counters from the cumulative ones in `in`; kNone = let the policy decide.
  GuardReason check(const GuardInput& in) noexcept;
  // The policy returned something unusable: hold the safe configuration.
  void policy_invalid() noexcept { hold_ = o_.hold_periods; }
  // True when the last check() returned kNone but a recent trigger still holds the safe plan.
  bool holding() const noexcept { return holding_; }

 private:
  GuardOptions o_;
  bool tripped_ = false;
  bool first_ = true;
  std::uint64_t last_failed_ = 0, last_misses_ = 0;
  int hold_ = 0;
  bool holding_ = false;
};

}  // namespace hetsched::runtime
