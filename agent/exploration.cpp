#include "agent/exploration.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "policies/mlp.hpp"

namespace hetsched::agent {

using policies::kNoAction;

Status validate(const EpsilonScheduleOptions& o) {
  if (!(o.start >= 0.0 && o.start <= 1.0))
    return Error(StatusCode::kInvalidArgument, "EpsilonScheduleOptions.start must be in [0, 1], got " + std::to_string(o.start));
  if (!(o.end >= 0.0 && o.end <= o.start))
    return Error(StatusCode::kInvalidArgument,
                 "EpsilonScheduleOptions.end must be in [0, start], got " + std::to_string(o.end));
  if (o.decay_steps < 1)
    return Error(StatusCode::kInvalidArgument,
                 "EpsilonScheduleOptions.decay_steps must be >= 1, got " + std::to_string(o.decay_steps));
  if (o.decay != EpsilonDecay::kLinear && o.decay != EpsilonDecay::kExponential)
    return Error(StatusCode::kInvalidArgument, "EpsilonScheduleOptions.decay: unknown kind");
  return Status::Ok();
}

Result<EpsilonSchedule> EpsilonSchedule::create(const EpsilonScheduleOptions& options) {
  HETSCHED_RETURN_IF_ERROR(validate(options));
  EpsilonSchedule s;
  s.options_ = options;
  return s;
}

double EpsilonSchedule::at(std::int64_t step) const noexcept {
  const double t = static_cast<double>(std::max<std::int64_t>(step, 0));
  const double T = static_cast<double>(options_.decay_steps);
  if (options_.decay == EpsilonDecay::kExponential)
    return options_.end + (options_.start - options_.end) * std::exp(-t / T);
  return options_.start + (options_.end - options_.start) * std::min(t / T, 1.0);
}

int count_allowed(int num_actions, std::span<const std::uint8_t> mask) noexcept {
  if (num_actions <= 0) return 0;
  if (mask.empty()) return num_actions;
  if (mask.size() != static_cast<std::size_t>(num_actions)) return 0;
  return static_cast<int>(std::count_if(mask.begin(), mask.end(), [](std::uint8_t m) { return m != 0; }));
}

int uniform_allowed(int num_actions, std::span<const std::uint8_t> mask, Rng& rng) noexcept {
  const int n = count_allowed(num_actions, mask);
  if (n == 0) return kNoAction;
  int k = static_cast<int>(rng.below(static_cast<std::uint32_t>(n)));  // k-th allowed action
  if (mask.empty()) return k;
  for (int a = 0; a < num_actions; ++a)
    if (mask[static_cast<std::size_t>(a)] != 0 && k-- == 0) return a;
  return kNoAction;  // unreachable: k < n
}

int epsilon_greedy(std::span<const float> q, std::span<const std::uint8_t> mask, double epsilon, Rng& rng) noexcept {
  // Always draw the coin, so the RNG stream does not depend on epsilon == 0 shortcuts.
  const bool explore = rng.uniform() < epsilon;
  if (explore) return uniform_allowed(static_cast<int>(q.size()), mask, rng);
  return policies::masked_argmax(q, mask);
}

int boltzmann(std::span<const float> q, std::span<const std::uint8_t> mask, double temperature, Rng& rng) noexcept {
  const int greedy = policies::masked_argmax(q, mask);
  if (greedy == kNoAction || !(temperature > 0.0) || !std::isfinite(temperature)) return greedy;
  const double qmax = q[static_cast<std::size_t>(greedy)];
  if (!std::isfinite(qmax)) return greedy;
  auto allowed = [&](std::size_t i) { return mask.empty() || mask[i] != 0; };
  double z = 0.0;
  for (std::size_t i = 0; i < q.size(); ++i)
    if (allowed(i) && std::isfinite(q[i])) z += std::exp((q[i] - qmax) / temperature);
  double u = rng.uniform() * z;
  int last = greedy;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (!allowed(i) || !std::isfinite(q[i])) continue;
    u -= std::exp((q[i] - qmax) / temperature);
    last = static_cast<int>(i);
    if (u < 0.0) return last;
  }
  return last;  // rounding left u >= 0: the last allowed finite action
}

}  // namespace hetsched::agent
