// Run metrics: ONE definition shared by `hetsched sim`, the RL environment, the agent's
// evaluation and the runtime/replay tools. The field names are also the JSON keys.
//
// Definitions (per run; a "period" is one decision period):
//   fps_mean             frames delivered / run time
//   qos_violation_pct    % of periods starting at t >= 1 s in which (target_fps > 0 and delivered
//                        FPS < 0.95·target_fps) or (max_latency_ms > 0 and the worst latency of the
//                        frames delivered in the period > max_latency_ms) or (power_budget_mw > 0
//                        and the period's average power > power_budget_mw)
//   energy_per_frame_mj  energy / frames (null in JSON when no frame was delivered)
//   avg_power_mw         energy / run time
//   peak_temp_c          hottest zone temperature seen
//   throttled_pct        % of run time during which any unit's frequency was capped by thermal
//   reconfigs            configuration changes of split or placement (not DVFS-only changes)
//   frames, dropped_frames
//
// Delivered FPS of a period is measured over the trailing 1 s window (as an FPS counter on a
// device does): with n frames completed in the window, first at t0 and last at t1,
//   fps = (n - 1) / (t1 - t0)   when n >= 2,   else n / window.
// Counting inter-completion intervals instead of frames-in-window keeps a steady 10 FPS stream
// from reading 9 or 11 FPS whenever a completion jitters across the window edge.
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace hetsched::env {

struct Metrics {
  double fps_mean = 0;
  double qos_violation_pct = 0;
  double energy_per_frame_mj = 0;  // 0 with frames == 0 (JSON null)
  double avg_power_mw = 0;
  double peak_temp_c = 0;
  double throttled_pct = 0;
  std::int64_t reconfigs = 0;
  std::int64_t frames = 0;
  std::int64_t dropped_frames = 0;
};

// What one decision period contributes (sensed values, as a device would measure them).
struct PeriodSample {
  double t_start_s = 0;            // period start (run time)
  double period_s = 0.1;           // length
  std::int32_t frames = 0;         // frames delivered (completed the last stage) in the period
  double first_done_s = 0;         // completion time of the first / last of those frames
  double last_done_s = 0;
  double max_latency_ms = 0;       // worst end-to-end latency among them (0 if none)
  double energy_mj = 0;            // board energy in the period
  double max_temp_c = 0;           // hottest zone at the end of the period
  double throttled_s = 0;          // time within the period with any thermal cap active
  std::int32_t dropped = 0;        // frames dropped at the input queue
  std::int32_t reconfigs = 0;      // split/placement changes that started in the period
  // Targets in force during the period (0 = none).
  double target_fps = 0;
  double latency_bound_ms = 0;
  double power_budget_mw = 0;
};

// Result of add(): the period's delivered FPS and whether it violated QoS.
struct PeriodVerdict {
  double fps = 0;       // trailing-window delivered FPS (see file comment)
  double power_mw = 0;  // energy_mj / period_s
  bool qos_counted = false;
  bool violated = false;
};

class MetricsAccumulator {
 public:
  static constexpr double kWindowS = 1.0;       // delivered-FPS window
  static constexpr double kQosStartS = 1.0;     // periods before this are warm-up
  static constexpr double kFpsTolerance = 0.95;

  void reset() noexcept { *this = MetricsAccumulator{}; }
  PeriodVerdict add(const PeriodSample& s) noexcept;  // no allocation
  Metrics result() const noexcept;
  double run_time_s() const noexcept { return time_s_; }

 private:
  static constexpr int kRing = 1024;  // periods kept for the window (>= 1 s at 1 ms periods)
  struct Slot {
    double t_end_s = 0;
    std::int32_t frames = 0;
    double first = 0, last = 0;
  };
  std::array<Slot, kRing> ring_{};
  int head_ = 0, size_ = 0;
  double time_s_ = 0, energy_mj_ = 0, throttled_s_ = 0, peak_temp_c_ = -1e9;
  std::int64_t frames_ = 0, dropped_ = 0, reconfigs_ = 0, qos_periods_ = 0, qos_violations_ = 0;
};

// Metrics of a run known frame by frame (a real device: each frame's completion time and
// latency, no FPS/power model), by the same definition: completions are bucketed into periods
// of period_s from run time 0 and fed to MetricsAccumulator with the given targets (0 = none).
// Streaming and bounded in memory: add() in completion order (a frame older than the current
// period counts in it), finish() once. Energy and temperature are unknown here (0).
class CompletionMetrics {
 public:
  CompletionMetrics(double period_s, double target_fps, double latency_bound_ms) noexcept;
  void add(double done_s, double latency_ms) noexcept;
  Metrics finish(double run_time_s) noexcept;  // closes the periods up to run_time_s (last one partial)

 private:
  void close_until(double t_s) noexcept;  // feeds every whole period ending at or before t_s
  MetricsAccumulator acc_;
  PeriodSample cur_;
};

nlohmann::json to_json(const Metrics& m);
// Exactly the metric keys, in the order listed above.
const char* const* metric_keys() noexcept;  // null-terminated

}  // namespace hetsched::env
