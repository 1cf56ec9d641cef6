// The simulator's own random numbers: xoshiro256** seeded through splitmix64 (same seed →
// same stream on every platform and compiler, unlike std::normal_distribution) and
// lognormal noise factors drawn by table lookup of the inverse CDF (one RNG call and one load
// per sample: the hot path never calls exp/log).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace hetsched::env {

class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed = 1) noexcept { this->seed(seed); }
  void seed(std::uint64_t seed) noexcept {
    for (auto& w : s_) {  // splitmix64
      seed += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

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
  void seed(std::uint64_t s) noexcept { rng_.seed(s); }
  double time_factor() noexcept { return time_.draw(rng_.next()); }
  double power_factor() noexcept { return power_.draw(rng_.next()); }

 private:
  Xoshiro256 rng_;
  LognormalTable time_, power_;
};

}  // namespace hetsched::env
