// Observation encoder: telemetry (a Snapshot, or the same values filled in directly by the
// simulator bridge) + targets + the current configuration → a fixed-size float vector.
//
// Schema v1 (kObsSchemaVersion), U = platform units, Z = platform zones, K = candidates:
//   [0..8)    targets and QoS: has_target, target_fps/30, fps/target (or fps/30), has_bound,
//             max_latency/bound (or /1000 ms), has_budget, power/budget (or /10000 mW), drop fraction
//   [8..11)   bottleneck: slowest stage / frame budget, deepest queue / 4, reconfiguring
//   per unit (6 floats x U): freq/f_max, cap/f_max, util, online, used by config, share of blocks
//   per zone (Z): temp/100 °C
//   [.. +K+1) current configuration: one-hot candidate index, or the last slot when off-candidate
//   last:     fraction of readings that were missing or stale
// Why ratios: the policy must generalise across targets and budgets, so every QoS quantity is
// relative to its target (1.0 = exactly on target) and clipped to [0, 4]; a missing reading
// encodes as 0 with the stale fraction raised, never NaN.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "policies/config.hpp"
#include "policies/platform.hpp"
#include "telemetry/snapshot.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

inline constexpr int kObsSchemaVersion = 1;
inline constexpr int kObsMaxStages = 16;
inline constexpr int kObsMaxZones = 8;

// One decision period of telemetry. *_ok = false: missing or stale (encoded as 0).
struct TelemetryFrame {
  double fps = 0;                  bool fps_ok = false;         // delivered FPS
  double latency_us = 0;           bool latency_ok = false;     // mean end-to-end latency
  double max_latency_us = 0;                                    // worst in the period
  double power_mw = 0;             bool power_ok = false;       // board power
  int frames = 0, dropped = 0;                                  // in the period
  bool reconfiguring = false;
  int num_stages = 0;
  std::array<double, kObsMaxStages> stage_latency_us{};         // 0 = no sample
  std::array<int, kObsMaxStages> queue_depth{};
  std::array<std::int64_t, kMaxUnits> freq_khz{};               // current
  std::array<std::int64_t, kMaxUnits> max_freq_khz{};           // cap (0 = unknown: no cap)
  std::array<double, kMaxUnits> util{};                         // [0,1]
  std::array<bool, kMaxUnits> unit_ok{};                        // unit reported freq/util
  std::array<bool, kMaxUnits> online{true, true, true, true, true, true};
  std::array<std::int32_t, kObsMaxZones> temp_mc{};
  std::array<bool, kObsMaxZones> temp_ok{};
  // Targets the application set (0 = none).
  double target_fps = 0;
  double max_latency_us_target = 0;
  double power_budget_mw = 0;
};

// Where each reading lives in a Snapshot (source ids); -1 = not provided.
struct SnapshotSources {
  int pipeline = -1;                                            // fps, frame latency
  int board = -1;                                               // board power
  std::array<int, kMaxUnits> unit{-1, -1, -1, -1, -1, -1};      // freq (domain) and util
  std::array<int, kObsMaxZones> zone{-1, -1, -1, -1, -1, -1, -1, -1};
  std::array<int, kObsMaxStages> stage{};                       // stage latency / queue depth (-1 = none)
  SnapshotSources() { stage.fill(-1); }
};

// Fills the sensed part of a frame from a Snapshot (targets are left as they are). A reading
// older than max_age_ns (or from the future) counts as missing. noexcept, no allocation.
void frame_from_snapshot(const telemetry::Snapshot& snap, const SnapshotSources& src, std::int64_t now_ns,
                         std::int64_t max_age_ns, int num_units, TelemetryFrame* out) noexcept;

class ObsEncoder {
 public:
  static Result<ObsEncoder> create(const PlatformDesc& platform, int num_candidates);
  int size() const noexcept { return size_; }
  // Schema string for the policy file (version + layout sizes + unit letters).
  std::string schema() const;
  // candidate = index of `current` in the action space, -1 if none. out.size() must equal
  // size(); false otherwise. Never writes NaN/Inf.
  bool encode(const TelemetryFrame& f, const Config& current, int candidate, std::span<float> out) const noexcept;

 private:
  ObsEncoder() = default;
  int units_ = 0, zones_ = 0, cand_ = 0, size_ = 0;
  std::array<double, kMaxUnits> fmax_khz_{};
  std::array<char, kMaxUnits> letter_{};
  std::array<std::int8_t, 128> letter_unit_{};
  std::array<char, kMaxUnits> kind_host_{};  // 'G'/'N' for accelerators (host lookup), 0 for CPUs
};

}  // namespace hetsched::policies
