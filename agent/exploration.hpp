// Exploration: epsilon schedules and mask-respecting action selection.
//
// Every selector here draws only from allowed actions (mask byte non-zero; an empty mask
// allows all), so exploration can never take a configuration the platform forbids, and
// returns policies::kNoAction when nothing is allowed.
#pragma once

#include <cstdint>
#include <span>

#include "telemetry/rng.hpp"
#include "telemetry/status.hpp"

namespace hetsched::agent {

enum class EpsilonDecay : std::uint8_t {
  kLinear,       // eps(t) = start + (end - start) * min(t / decay_steps, 1)
  kExponential,  // eps(t) = end + (start - end) * exp(-t / decay_steps)   (decay_steps = time constant)
};

struct EpsilonScheduleOptions {
  EpsilonDecay decay = EpsilonDecay::kLinear;  // shape of the decay
  double start = 1.0;                          // epsilon at step 0, in [0, 1]
  double end = 0.05;                           // floor reached (linear) or approached (exponential), in [0, start]
  std::int64_t decay_steps = 10000;            // linear: steps to reach end; exponential: time constant; >= 1
};
Status validate(const EpsilonScheduleOptions& options);

class EpsilonSchedule {
 public:
  EpsilonSchedule() = default;
  static Result<EpsilonSchedule> create(const EpsilonScheduleOptions& options);
  double at(std::int64_t step) const noexcept;  // step < 0 counts as 0
  const EpsilonScheduleOptions& options() const noexcept { return options_; }

 private:
  EpsilonScheduleOptions options_;
};

// Number of allowed actions among num_actions under mask (0 if mask has another size).
int count_allowed(int num_actions, std::span<const std::uint8_t> mask) noexcept;
// Uniform over allowed actions; kNoAction if none.
int uniform_allowed(int num_actions, std::span<const std::uint8_t> mask, Rng& rng) noexcept;
// With probability epsilon uniform_allowed, else masked_argmax(q, mask).
int epsilon_greedy(std::span<const float> q, std::span<const std::uint8_t> mask, double epsilon, Rng& rng) noexcept;
// Boltzmann (softmax) exploration: P(a) proportional to exp((q_a - max q) / temperature) over
// allowed actions (subtracting the max keeps exp() from overflowing). temperature <= 0 or
// non-finite q falls back to masked_argmax.
int boltzmann(std::span<const float> q, std::span<const std::uint8_t> mask, double temperature, Rng& rng) noexcept;

}  // namespace hetsched::agent
