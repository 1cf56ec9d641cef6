#include "telemetry/stats.hpp"

#include "telemetry/sample.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace hetsched::telemetry {

Result<Ewma> Ewma::create(const EwmaOptions& options) {
  if (options.half_life_ns <= 0)
    return Status(StatusCode::kInvalidArgument,
                  "EwmaOptions.half_life_ns = " + std::to_string(options.half_life_ns) + " ns: must be > 0");
  if (!(options.min_alpha >= 0.0 && options.min_alpha < 1.0))
    return Status(StatusCode::kInvalidArgument,
                  "EwmaOptions.min_alpha = " + std::to_string(options.min_alpha) + ": must be in [0, 1)");
  return Ewma(options);
}

void Ewma::update(std::int64_t t_ns, double value) noexcept {
  if (!has_value_) {
    has_value_ = true;
    avg_ = value;
    last_t_ns_ = t_ns;
    return;
  }
  const std::int64_t dt = sat_sub_ns(t_ns, last_t_ns_);
  double alpha = 0.0;
  if (dt > 0) {
    // alpha = 1 - 2^(-dt/H); expm1 keeps precision when dt << H (alpha ~ dt*ln2/H).
    alpha = -std::expm1(-static_cast<double>(dt) / static_cast<double>(options_.half_life_ns) * M_LN2);
    last_t_ns_ = t_ns;
  }
  alpha = std::max(alpha, options_.min_alpha);
  avg_ += alpha * (value - avg_);
}

Result<WindowPercentiles> WindowPercentiles::create(const PercentileOptions& options) {
  if (options.window == 0 || options.window > (std::size_t{1} << 26))
    return Status(StatusCode::kInvalidArgument, "PercentileOptions.window = " +
                                                    std::to_string(options.window) +
                                                    " samples: must be in [1, 2^26]");
  return WindowPercentiles(options.window);
}

void WindowPercentiles::push(double value) noexcept {
  if (std::isnan(value)) return;  // NaN has no rank (and would break nth_element's ordering)
  values_[next_] = value;
  next_ = next_ + 1 == window_ ? 0 : next_ + 1;
  if (count_ < window_) ++count_;
}

double WindowPercentiles::percentile(double p) noexcept {
  if (count_ == 0) return 0.0;
  if (!(p >= 0.0)) p = 0.0;  // also maps NaN to 0
  if (p > 100.0) p = 100.0;
  // Nearest rank: rank = ceil(p*n/100), 1-based; p = 0 -> rank 1. (p*n first: 95*100/100 is
  // exactly 95, whereas 0.95*100 may round up to 95.000...01 and pick the wrong rank.)
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(count_) / 100.0));
  rank = std::clamp<std::size_t>(rank, 1, count_);
  // The first count_ slots hold the window (the ring has filled them in order before wrapping).
  std::copy(values_.get(), values_.get() + count_, scratch_.get());
  double* nth = scratch_.get() + (rank - 1);
  std::nth_element(scratch_.get(), nth, scratch_.get() + count_);
  return *nth;
}

}  // namespace hetsched::telemetry
