#include "env/metrics.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace hetsched::env {

PeriodVerdict MetricsAccumulator::add(const PeriodSample& s) noexcept {
  PeriodVerdict v;
  const double t_end = s.t_start_s + s.period_s;
  // Push the period, then drop periods that ended before the window start.
  const int tail = (head_ + size_) % kRing;
  ring_[tail] = Slot{t_end, s.frames, s.first_done_s, s.last_done_s};
  if (size_ < kRing) ++size_;
  else head_ = (head_ + 1) % kRing;
  const double window_start = t_end - kWindowS;
  while (size_ > 1 && ring_[head_].t_end_s <= window_start + 1e-12) {
    head_ = (head_ + 1) % kRing;
    --size_;
  }
  std::int64_t n = 0;
  double first = 0, last = 0;
  bool any = false;
  for (int i = 0; i < size_; ++i) {
    const Slot& sl = ring_[(head_ + i) % kRing];
    if (sl.frames <= 0) continue;
    if (!any) first = sl.first, any = true;
    last = sl.last;
    n += sl.frames;
  }
  const double window = std::min(kWindowS, t_end);
  v.fps = (n >= 2 && last > first) ? static_cast<double>(n - 1) / (last - first) : (window > 0 ? n / window : 0);
  v.power_mw = s.period_s > 0 ? s.energy_mj / s.period_s : 0;

  v.qos_counted = s.t_start_s >= kQosStartS - 1e-9;
  if (v.qos_counted) {
    v.violated = (s.target_fps > 0 && v.fps < kFpsTolerance * s.target_fps) ||
                 (s.latency_bound_ms > 0 && s.max_latency_ms > s.latency_bound_ms) ||
                 (s.power_budget_mw > 0 && v.power_mw > s.power_budget_mw);
    ++qos_periods_;
    qos_violations_ += v.violated ? 1 : 0;
  }
  time_s_ += s.period_s;
  energy_mj_ += s.energy_mj;
  throttled_s_ += s.throttled_s;
  peak_temp_c_ = std::max(peak_temp_c_, s.max_temp_c);
  frames_ += s.frames;
  dropped_ += s.dropped;
  reconfigs_ += s.reconfigs;
  return v;
}

Metrics MetricsAccumulator::result() const noexcept {
  Metrics m;
  m.frames = frames_;
  m.dropped_frames = dropped_;
  m.reconfigs = reconfigs_;
  if (time_s_ > 0) {
    m.fps_mean = frames_ / time_s_;
    m.avg_power_mw = energy_mj_ / time_s_;
    m.throttled_pct = 100.0 * throttled_s_ / time_s_;
  }
  m.energy_per_frame_mj = frames_ > 0 ? energy_mj_ / frames_ : 0;
  m.qos_violation_pct = qos_periods_ > 0 ? 100.0 * qos_violations_ / qos_periods_ : 0;
  m.peak_temp_c = size_ > 0 || time_s_ > 0 ? peak_temp_c_ : 0;
  return m;
}

const char* const* metric_keys() noexcept {
  static const char* const kKeys[] = {"fps_mean",     "qos_violation_pct", "energy_per_frame_mj",
                                      "avg_power_mw", "peak_temp_c",       "throttled_pct",
                                      "reconfigs",    "frames",            "dropped_frames",
                                      nullptr};
  return kKeys;
}

CompletionMetrics::CompletionMetrics(double period_s, double target_fps, double latency_bound_ms) noexcept {
  cur_.period_s = period_s > 0 ? period_s : 0.1;
  cur_.target_fps = target_fps;
  cur_.latency_bound_ms = latency_bound_ms;
}

void CompletionMetrics::close_until(double t_s) noexcept {
  while (cur_.t_start_s + cur_.period_s <= t_s) {
    acc_.add(cur_);
    cur_.t_start_s += cur_.period_s;
    cur_.frames = 0;
    cur_.first_done_s = cur_.last_done_s = cur_.max_latency_ms = 0;
  }
}

void CompletionMetrics::add(double done_s, double latency_ms) noexcept {
  if (!(done_s >= 0) || !std::isfinite(done_s)) return;
  close_until(done_s);
  if (cur_.frames == 0) cur_.first_done_s = std::max(done_s, cur_.t_start_s);
  cur_.last_done_s = std::max(cur_.last_done_s, std::max(done_s, cur_.t_start_s));
  cur_.max_latency_ms = std::max(cur_.max_latency_ms, latency_ms);
  ++cur_.frames;
}

Metrics CompletionMetrics::finish(double run_time_s) noexcept {
  close_until(run_time_s);
  if (run_time_s > cur_.t_start_s + 1e-9) {  // the partial last period
    cur_.period_s = run_time_s - cur_.t_start_s;
    acc_.add(cur_);
  }
  return acc_.result();
}

nlohmann::json to_json(const Metrics& m) {
  nlohmann::json j = nlohmann::json::object();
  j["fps_mean"] = m.fps_mean;
  j["qos_violation_pct"] = m.qos_violation_pct;
  j["energy_per_frame_mj"] = m.frames > 0 ? nlohmann::json(m.energy_per_frame_mj) : nlohmann::json(nullptr);
  j["avg_power_mw"] = m.avg_power_mw;
  j["peak_temp_c"] = m.peak_temp_c;
  j["throttled_pct"] = m.throttled_pct;
  j["reconfigs"] = m.reconfigs;
  j["frames"] = m.frames;
  j["dropped_frames"] = m.dropped_frames;
  return j;
}

}  // namespace hetsched::env
