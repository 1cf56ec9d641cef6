// What the policy sees after each decision period: only quantities a real device can sense
// (timers around stage runs, cpufreq/devfreq cur_freq and scaling_max_freq, thermal zone
// temperatures, /proc/stat utilisation, the board power sensor, queue depths) plus the
// targets the application itself sets. Never the hidden Conditions (slowdown factors,
// background-load values, offline flags): tests/env/test_rl_env.cpp checks that.
#pragma once

#include <array>
#include <cstdint>

#include "policies/platform.hpp"

namespace hetsched::env {

inline constexpr int kMaxStages = 16;       // pipeline stages a configuration may have
inline constexpr int kMaxObsZones = 8;

struct Observation {
  double t_s = 0;                           // end of the period (run time)
  double period_s = 0;                      // length of the period
  // Pipeline.
  int num_stages = 0;
  std::array<double, kMaxStages> stage_latency_ms{};  // mean measured service time per stage (0: none ran)
  std::array<int, kMaxStages> queue_depth{};          // frames waiting in front of each stage at period end
  double fps = 0;                           // delivered FPS, trailing 1 s window (env/metrics.hpp)
  double latency_ms = 0;                    // mean end-to-end latency of the frames delivered in the period
  double max_latency_ms = 0;                // worst of them
  int frames = 0;                           // delivered in the period
  int dropped = 0;                          // dropped at the input queue in the period
  bool reconfiguring = false;               // drain/setup of a reconfiguration in progress at period end
  // Units (platform order).
  int num_units = 0;
  std::array<std::int64_t, policies::kMaxUnits> freq_khz{};      // effective (current) frequency
  std::array<std::int64_t, policies::kMaxUnits> max_freq_khz{};  // current cap (scaling_max_freq)
  std::array<double, policies::kMaxUnits> util{};               // busy fraction in [0,1], all load
  // Thermal and power.
  int num_zones = 0;
  std::array<double, kMaxObsZones> zone_temp_c{};
  double power_mw = 0;                      // board power, period average (measured, noisy)
  // Targets set by the application (0 = none / as fast as possible).
  double target_fps = 0;
  double max_latency_target_ms = 0;
  double power_budget_mw = 0;
};

}  // namespace hetsched::env
