// Conditions: the hidden state of the world at one instant that decides what the best
// configuration is. The simulator (env/sim) derives it from the scenario and its thermal
// state; the oracle (env/oracle) optimises against it. Policies never see it: they only see
// telemetry (what a real device can sense).
#pragma once

#include <array>
#include <cstdint>

#include "policies/platform.hpp"

namespace hetsched::env {

struct UnitConditions {
  bool online = true;        // false: unit_offline event (no block may run there)
  double slowdown = 1.0;     // >= 1: multiplies block times (contention, background load)
  int max_opp = 127;         // highest allowed OPP index (thermal cap or power governor); clamp to table
  double bg_util = 0.0;      // background utilisation in [0,1] (adds power, shares cores)
};

struct Conditions {
  std::array<UnitConditions, policies::kMaxUnits> unit{};
  double target_fps = 0;         // 0 = as fast as possible
  double max_latency_ms = 0;     // 0 = no bound
  double power_budget_mw = 0;    // 0 = no budget
  double ambient_c = 25;
  double die_temp_c = 25;        // current die temperature (leakage)
};

}  // namespace hetsched::env
