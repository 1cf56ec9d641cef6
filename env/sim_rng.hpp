// The simulator's random numbers: the shared xoshiro256** (telemetry/rng.hpp; same seed →
// same stream on every platform and compiler, unlike std::normal_distribution) and
// lognormal noise factors drawn by table lookup of the inverse CDF (one RNG call and one load
// per sample: the hot path never calls exp/log).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "telemetry/rng.hpp"

namespace hetsched::env {

// The shared generator (telemetry/rng.hpp): one xoshiro256** for agent and simulator.
using Xoshiro256 = ::hetsched::Rng;

// Inverse standard-normal CDF (Acklam's rational approximation, |rel err| < 1.2e-9).
double inverse_normal_cdf(double p) noexcept;

// Lognormal factors with mean 1 and a given coefficient of variation c:
// σ² = ln(1 + c²), μ = -σ²/2, so E[X] = 1 and sd/mean = c. The table holds the quantiles at
// (i + 0.5)/N; a uniform index draws from it (tails beyond ±3.3σ are cut: harmless at 2 %).
class LognormalTable {
 public:
  static constexpr int kBits = 10;
  static constexpr int kSize = 1 << kBits;
  void init(double cov) noexcept;
  double draw(std::uint64_t r) const noexcept { return v_[r >> (64 - kBits)]; }

 private:
  std::array<double, kSize> v_{};
};

class NoiseSource {
 public:
  void init(double time_cov, double power_cov) noexcept {
    time_.init(time_cov);
    power_.init(power_cov);
  }
  void seed(std::uint64_t s) noexcept { rng_.reseed(s); }
  double time_factor() noexcept { return time_.draw(rng_.next()); }
  double power_factor() noexcept { return power_.draw(rng_.next()); }

 private:
  Xoshiro256 rng_;
  LognormalTable time_, power_;
};

}  // namespace hetsched::env
