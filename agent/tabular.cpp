#include "agent/tabular.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "policies/mlp.hpp"

namespace hetsched::agent {

Result<HashedBins> HashedBins::create(const HashedBinsOptions& o) {
  if (o.lo.empty() || o.lo.size() != o.hi.size())
    return Error(StatusCode::kInvalidArgument, "HashedBinsOptions: lo and hi must be non-empty and equally long (" +
                                                   std::to_string(o.lo.size()) + " vs " + std::to_string(o.hi.size()) + ")");
  for (std::size_t i = 0; i < o.lo.size(); ++i)
    if (!(o.hi[i] > o.lo[i]) || !std::isfinite(o.lo[i]) || !std::isfinite(o.hi[i]))
      return Error(StatusCode::kInvalidArgument, "HashedBinsOptions: need finite lo[" + std::to_string(i) + "] < hi[" +
                                                     std::to_string(i) + "]");
  if (o.bins < 1 || o.bins > 1 << 20)
    return Error(StatusCode::kInvalidArgument, "HashedBinsOptions.bins must be in 1..1048576, got " + std::to_string(o.bins));
  HashedBins b;
  b.options_ = o;
  return b;
}

std::uint64_t HashedBins::operator()(std::span<const float> obs) const noexcept {
  if (obs.size() != options_.lo.size()) return 0;
  std::uint64_t h = policies::kFnvOffset;
  for (std::size_t i = 0; i < obs.size(); ++i) {
    const float x = obs[i];
    if (std::isnan(x)) return 0;
    // bin = floor((x - lo) / (hi - lo) * bins), clamped to [0, bins - 1].
    const double f = (double(x) - options_.lo[i]) / (double(options_.hi[i]) - options_.lo[i]) * options_.bins;
    const auto bin = static_cast<std::int32_t>(std::clamp(std::floor(f), 0.0, double(options_.bins - 1)));
    h = policies::fnv1a64(&bin, sizeof bin, h);
  }
  return h;
}

Status validate(const TabularQOptions& o) {
  auto bad = [](const std::string& m) { return Error(StatusCode::kInvalidArgument, "TabularQOptions." + m); };
  if (o.num_states < 1) return bad("num_states must be >= 1, got " + std::to_string(o.num_states));
  if (o.num_actions < 1) return bad("num_actions must be >= 1, got " + std::to_string(o.num_actions));
  if (static_cast<std::int64_t>(o.num_states) * o.num_actions > (std::int64_t{1} << 28))
    return bad("num_states * num_actions exceeds 2^28 entries (1 GiB)");
  if (!(o.alpha > 0.0f && o.alpha <= 1.0f)) return bad("alpha must be in (0, 1], got " + std::to_string(o.alpha));
  if (!(o.gamma >= 0.0f && o.gamma <= 1.0f)) return bad("gamma must be in [0, 1], got " + std::to_string(o.gamma));
  if (!std::isfinite(o.initial_q)) return bad("initial_q must be finite");
  return Status::Ok();
}

Result<TabularQ> TabularQ::create(const TabularQOptions& options, StateFn state_fn) {
  HETSCHED_RETURN_IF_ERROR(validate(options));
  if (!state_fn) return Error(StatusCode::kInvalidArgument, "TabularQ: state_fn is empty");
  TabularQ t;
  t.options_ = options;
  t.state_fn_ = std::move(state_fn);
  t.table_.assign(static_cast<std::size_t>(options.num_states) * static_cast<std::size_t>(options.num_actions),
                  options.initial_q);
  return t;
}

int TabularQ::state_of(std::span<const float> observation) const noexcept {
  return static_cast<int>(state_fn_(observation) % static_cast<std::uint64_t>(options_.num_states));
}

std::span<const float> TabularQ::q(int state) const noexcept {
  if (state < 0 || state >= options_.num_states) return {};
  const auto a = static_cast<std::size_t>(options_.num_actions);
  return {table_.data() + static_cast<std::size_t>(state) * a, a};
}

int TabularQ::greedy(std::span<const float> observation, std::span<const std::uint8_t> mask) const noexcept {
  return policies::masked_argmax(q_values(observation), mask);
}

float TabularQ::update(std::span<const float> obs, int action, float reward, std::span<const float> next_obs,
                       std::span<const std::uint8_t> next_mask, bool done) noexcept {
  const int A = options_.num_actions;
  if (action < 0 || action >= A || (!next_mask.empty() && next_mask.size() != static_cast<std::size_t>(A)) ||
      !std::isfinite(reward))
    return std::numeric_limits<float>::quiet_NaN();
  float target = reward;
  if (!done) {
    const auto qn = q_values(next_obs);
    const int a_star = policies::masked_argmax(qn, next_mask);
    if (a_star != policies::kNoAction) target += options_.gamma * qn[static_cast<std::size_t>(a_star)];
  }
  float& qsa = table_[static_cast<std::size_t>(state_of(obs)) * static_cast<std::size_t>(A) + static_cast<std::size_t>(action)];
  const float td = target - qsa;
  qsa += options_.alpha * td;
  return td;
}

}  // namespace hetsched::agent
