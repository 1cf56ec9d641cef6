// Windowed statistics for the controller's observation vector.
//
// Ewma: time-based exponentially weighted moving average. Samples arrive irregularly (frames
// at 30 fps, temperatures at 10 Hz, bursts after a stall), so a per-sample alpha would weight
// a burst of 10 samples in 1 ms like 10 samples over a second. Instead the weight of the old
// average decays with elapsed time, with half-life H:
//     w_old(dt) = 2^(-dt / H)          (after dt = H the old average counts half)
//     alpha     = 1 - 2^(-dt / H)
//     avg      <- avg + alpha * (x - avg)
// Composing two steps dt1, dt2 with the same x gives 2^(-(dt1+dt2)/H): the decay depends only
// on elapsed time, not on how many samples arrived. The first sample initialises avg.
// A sample with dt <= 0 (same timestamp, or out of order) has, by the formula, alpha = 0 and
// would be ignored; Options.min_alpha sets a floor on alpha so that simultaneous readings
// still count (default 0 keeps the pure time-based definition). Out-of-order samples never
// move last_t_ns backwards.
//
// WindowPercentiles: p50/p95/p99 over the last `window` samples (COUNT-based window: the
// controller reasons about "the last 100 frames"). push() is O(1) into a ring preallocated at
// creation; percentile() copies the window into a preallocated scratch buffer and runs
// nth_element, O(window), no allocation. Definition (nearest rank): with n samples sorted
// ascending x[0..n-1], pP = x[ceil(P * n / 100) - 1] (P = 0 gives x[0]); pP is always one of the
// observed values, so tests can compare exactly against a sort.
#pragma once

#include <cstdint>
#include <memory>

#include "telemetry/status.hpp"

namespace hetsched::telemetry {

struct EwmaOptions {
  std::int64_t half_life_ns = 1'000'000'000;  // time for an old value's weight to halve, ns (> 0)
  double min_alpha = 0.0;                     // weight of a sample with dt <= 0, in [0, 1)
};

class Ewma {
 public:
  static Result<Ewma> create(const EwmaOptions& options);
  void update(std::int64_t t_ns, double value) noexcept;
  bool empty() const noexcept { return !has_value_; }
  double value() const noexcept { return avg_; }  // 0 when empty
  std::int64_t last_t_ns() const noexcept { return last_t_ns_; }
  void reset() noexcept { has_value_ = false; avg_ = 0.0; last_t_ns_ = 0; }

 private:
  explicit Ewma(const EwmaOptions& o) : options_(o) {}
  EwmaOptions options_;
  bool has_value_ = false;
  double avg_ = 0.0;
  std::int64_t last_t_ns_ = 0;
};

struct PercentileOptions {
  std::size_t window = 128;  // number of most recent samples kept (count-based window), >= 1
};

class WindowPercentiles {
 public:
  static Result<WindowPercentiles> create(const PercentileOptions& options);
  void push(double value) noexcept;  // NaN is ignored
  // P in [0, 100]; returns 0 when empty. Non-const because it reuses the scratch buffer.
  double percentile(double p) noexcept;
  std::size_t size() const noexcept { return count_; }
  std::size_t window() const noexcept { return window_; }
  void reset() noexcept { count_ = 0; next_ = 0; }

 private:
  explicit WindowPercentiles(std::size_t window)
      : window_(window), values_(new double[window]), scratch_(new double[window]) {}
  std::size_t window_;
  std::size_t count_ = 0;  // min(pushed, window)
  std::size_t next_ = 0;   // slot the next push overwrites
  std::unique_ptr<double[]> values_;
  std::unique_ptr<double[]> scratch_;
};

}  // namespace hetsched::telemetry
