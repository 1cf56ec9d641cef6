// Observation encoder: telemetry (a Snapshot, or the same values filled in directly by the
// simulator bridge) + targets + the current configuration → a fixed-size float vector.
//
// Schema v2 (kObsSchemaVersion), U = platform units, Z = platform zones, K = candidates:
//   [0..8)    targets and QoS: has_target, target_fps/30, fps/target (or fps/30), has_bound,
//             max_latency/bound (or /1000 ms), has_budget, power/budget (or /10000 mW), drop fraction
//   [8..11)   bottleneck: slowest stage / frame budget, deepest queue / 4, reconfiguring
//   per unit (7 floats x U): freq/f_max, cap/f_max, util, online, used by config, share of blocks,
//             sensed slowdown - 1 (EncoderState::slowdown)
//   per zone (Z): temp/100 °C
//   [4 floats] periods since the targets changed / 50 (max 1), last target-FPS change / 30,
//             predicted FPS of the running configuration under the sensed slowdowns / target,
//             QoS violated this period
//   per candidate (3 floats x K): predicted FPS under the sensed slowdowns / target (or /30),
//             predicted energy per frame / the smallest over candidates - 1, predicted power /
//             budget (0 without a budget); all 0 when the action space has no predicted costs
//   [.. +K+1) current configuration: one-hot candidate index, or the last slot when off-candidate
//   last:     fraction of readings that were missing or stale
// Why ratios: the policy must generalise across targets and budgets, so every QoS quantity is
// relative to its target (1.0 = exactly on target) and clipped to [0, 4]; a missing reading
// encodes as 0 with the stale fraction raised, never NaN.
// Why sensed slowdowns (v2): background load on a cluster or a shared GPU only shows in the
// measured stage times; v1 gave the policy utilisation alone, and it kept the nominal
// configuration under load. slowdown_u = measured busy time per frame on unit u / the cost
// model's prediction for the running configuration (what a device can compute from its own
// stage timers); an unused CPU cluster reads 1 + utilisation (all of it is someone else's).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policies/action_space.hpp"
#include "policies/config.hpp"
#include "policies/platform.hpp"
#include "telemetry/snapshot.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

inline constexpr int kObsSchemaVersion = 2;
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

// What the encoder remembers between the periods of one run; a fresh value = start of a run.
// Settled periods in a row delivering below 0.97 x target before a candidate's delivery
// efficiency is lowered (saturation, not one late frame).
inline constexpr int kSaturatedPeriods = 5;
// Periods a configuration has run unchanged before a period that delivered no frame still
// updates the sensed slowdowns from its stage samples (obs_encoder.cpp observe()).
inline constexpr int kSteadyPeriods = 12;
// Per period, the factor an unused accelerator's sensed slowdown keeps of its excess over 1
// (its contention cannot be observed while nothing runs there): uncapped / thermally capped.
inline constexpr double kForgetUnused = 0.99, kForgetCapped = 0.95;

struct EncoderState {
  std::array<float, kMaxUnits> slowdown{1, 1, 1, 1, 1, 1};  // sensed slowdown per unit (1 = as predicted)
  int since_change = 1000;        // periods since the targets last changed
  double target_fps = -1;         // targets of the previous period (-1: none seen yet)
  double bound_us = -1, budget_mw = -1;
  float target_delta = 0;         // (new - old target FPS) / 30 at the last change
  int base = -1;                  // last candidate the configuration equalled (nudged configs scale from it)
  int settled = 0;                // periods the configuration has run unchanged and not reconfiguring
  Config last{};                  // configuration of the previous period
  // Delivery efficiency per candidate: delivered FPS / the cost model's bottleneck FPS when the
  // pipeline was seen saturated (near capacity, queueing and service-time jitter lose frames
  // the bottleneck formula does not). 1 = never seen short.
  std::array<float, ActionSpace::kMaxCandidates> eff{};
  int short_periods = 0;          // consecutive settled periods delivering < 0.97 x target
  EncoderState() { eff.fill(1.0f); }
};

class ObsEncoder {
 public:
  // Without predicted costs: the slowdowns of used units and the per-candidate predictions
  // stay at their neutral values.
  static Result<ObsEncoder> create(const PlatformDesc& platform, int num_candidates);
  // For an action space: its candidates and (if it has them) their predicted costs.
  static Result<ObsEncoder> create(const ActionSpace& space);
  int size() const noexcept { return size_; }
  // Schema string for the policy file (version + layout sizes + unit letters).
  std::string schema() const;
  // candidate = index of `current` in the action space, -1 if none. out.size() must equal
  // size(); false otherwise. Never writes NaN/Inf.
  // Stateless form (a fresh EncoderState: no history).
  bool encode(const TelemetryFrame& f, const Config& current, int candidate, std::span<float> out) const noexcept;
  // The per-run form: observe() folds this period's telemetry into the state (call once per
  // period, before encode()); encode() then reads it. Both noexcept and allocation-free.
  void observe(const TelemetryFrame& f, const Config& current, int candidate, EncoderState* st) const noexcept;
  bool encode(const TelemetryFrame& f, const Config& current, int candidate, const EncoderState& st,
              std::span<float> out) const noexcept;
  // Predictions for candidate k under the sensed slowdowns (0 without costs / k out of range):
  //   fps_k    = eff[k] · 1000 / max_u(busy_ms[u] · slowdown[u])
  //   energy_k = idle_mw / fps + Σ_u dyn_mw[u] · busy_ms[u] · slowdown[u] / 1000   (mJ per frame)
  // where fps = min(target, fps_k) (pipelined frames arrive at the target rate; idle power is
  // paid per period, so a faster configuration pays less of it per frame).
  double predicted_fps(int k, const EncoderState& st) const noexcept;
  double bottleneck_fps(int k, const EncoderState& st) const noexcept;  // without eff
  // The same prediction for a configuration that may be off-candidate: candidate >= 0 uses
  // that candidate's costs; otherwise the base candidate's (st.base) busy times scaled by
  // f_base/f_cur for a nudged OPP (same placement only; 0 when unknown).
  double predicted_fps(const Config& c, int candidate, const EncoderState& st) const noexcept;
  double predicted_energy_mj(int k, const EncoderState& st, double target_fps) const noexcept;
  int num_candidates() const noexcept { return cand_; }
  bool has_costs() const noexcept { return !costs_.empty(); }

 private:
  ObsEncoder() = default;
  // Predicted busy ms per frame on each unit for `cur` (base candidate's, scaled by f_base/f_cur
  // for nudged OPPs); false when unknown.
  bool predicted_busy(const Config& cur, int candidate, int base, std::array<double, kMaxUnits>* out) const noexcept;
  int units_ = 0, zones_ = 0, cand_ = 0, size_ = 0;
  std::vector<CandidateCost> costs_;
  std::vector<Config> cand_cfg_;   // only the order/hosts/OPPs of each candidate (for nudged configs)
  PlatformDesc platform_;
  std::array<double, kMaxUnits> fmax_khz_{};
  std::array<char, kMaxUnits> letter_{};
  std::array<std::int8_t, 128> letter_unit_{};
  std::array<char, kMaxUnits> kind_host_{};  // 'G'/'N' for accelerators (host lookup), 0 for CPUs
};

}  // namespace hetsched::policies
