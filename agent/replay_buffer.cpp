#include "agent/replay_buffer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace hetsched::agent {

namespace {
constexpr int kMaxCapacity = 1 << 24;  // 16 M transitions: beyond any on-device budget
constexpr int kMaxDim = 1 << 16;
}  // namespace

Status validate(const ReplayOptions& o) {
  if (o.capacity < 1 || o.capacity > kMaxCapacity)
    return Error(StatusCode::kInvalidArgument, "ReplayOptions.capacity must be in 1.." + std::to_string(kMaxCapacity) +
                                                   ", got " + std::to_string(o.capacity));
  if (o.observation_size < 1 || o.observation_size > kMaxDim)
    return Error(StatusCode::kInvalidArgument, "ReplayOptions.observation_size must be in 1.." + std::to_string(kMaxDim) +
                                                   ", got " + std::to_string(o.observation_size));
  if (o.num_actions < 1 || o.num_actions > kMaxDim)
    return Error(StatusCode::kInvalidArgument, "ReplayOptions.num_actions must be in 1.." + std::to_string(kMaxDim) +
                                                   ", got " + std::to_string(o.num_actions));
  return Status::Ok();
}

std::size_t replay_bytes(const ReplayOptions& o) noexcept {
  if (!validate(o).ok()) return 0;
  const auto per = 2 * static_cast<std::size_t>(o.observation_size) * sizeof(float) +
                   static_cast<std::size_t>(o.num_actions) + sizeof(std::int32_t) + sizeof(float) + 1;
  return static_cast<std::size_t>(o.capacity) * per;
}

ReplayBatch ReplayBatch::make(int max_size, int observation_size, int num_actions) {
  ReplayBatch b;
  const auto n = static_cast<std::size_t>(std::max(max_size, 0));
  b.observation_size = observation_size;
  b.num_actions = num_actions;
  b.obs.assign(n * static_cast<std::size_t>(observation_size), 0.0f);
  b.next_obs.assign(n * static_cast<std::size_t>(observation_size), 0.0f);
  b.action.assign(n, 0);
  b.reward.assign(n, 0.0f);
  b.next_mask.assign(n * static_cast<std::size_t>(num_actions), 1);
  b.done.assign(n, 0);
  return b;
}

Result<ReplayBuffer> ReplayBuffer::create(const ReplayOptions& options) {
  HETSCHED_RETURN_IF_ERROR(validate(options));
  ReplayBuffer r;
  r.options_ = options;
  r.rng_.reseed(options.seed);
  const auto cap = static_cast<std::size_t>(options.capacity);
  r.obs_.assign(cap * static_cast<std::size_t>(options.observation_size), 0.0f);
  r.next_obs_.assign(cap * static_cast<std::size_t>(options.observation_size), 0.0f);
  r.reward_.assign(cap, 0.0f);
  r.action_.assign(cap, 0);
  r.next_mask_.assign(cap * static_cast<std::size_t>(options.num_actions), 0);
  r.done_.assign(cap, 0);
  return r;
}

std::size_t ReplayBuffer::memory_bytes() const noexcept {
  return (obs_.capacity() + next_obs_.capacity() + reward_.capacity()) * sizeof(float) +
         action_.capacity() * sizeof(std::int32_t) + next_mask_.capacity() + done_.capacity();
}

bool ReplayBuffer::push(std::span<const float> obs, int action, float reward, std::span<const float> next_obs,
                        std::span<const std::uint8_t> next_mask, bool done) noexcept {
  const auto d = static_cast<std::size_t>(options_.observation_size);
  const auto a = static_cast<std::size_t>(options_.num_actions);
  if (obs_.empty() || obs.size() != d || next_obs.size() != d || (!next_mask.empty() && next_mask.size() != a) ||
      action < 0 || action >= options_.num_actions || !std::isfinite(reward))
    return false;
  // One NaN in the buffer would turn every later minibatch that samples it into NaN updates.
  for (std::size_t k = 0; k < d; ++k)
    if (!std::isfinite(obs[k]) || !std::isfinite(next_obs[k])) return false;
  const auto i = static_cast<std::size_t>(head_);
  std::copy(obs.begin(), obs.end(), obs_.begin() + static_cast<std::ptrdiff_t>(i * d));
  std::copy(next_obs.begin(), next_obs.end(), next_obs_.begin() + static_cast<std::ptrdiff_t>(i * d));
  if (next_mask.empty())
    std::fill_n(next_mask_.begin() + static_cast<std::ptrdiff_t>(i * a), a, std::uint8_t{1});
  else
    for (std::size_t k = 0; k < a; ++k) next_mask_[i * a + k] = next_mask[k] != 0 ? 1 : 0;
  action_[i] = action;
  reward_[i] = reward;
  done_[i] = done ? 1 : 0;
  head_ = (head_ + 1) % options_.capacity;
  size_ = std::min(size_ + 1, options_.capacity);
  ++pushed_;
  return true;
}

bool ReplayBuffer::sample(int n, ReplayBatch* out) noexcept {
  if (size_ == 0 || out == nullptr || n < 1 || n > out->max_size() ||
      out->observation_size != options_.observation_size || out->num_actions != options_.num_actions)
    return false;
  const auto d = static_cast<std::size_t>(options_.observation_size);
  const auto a = static_cast<std::size_t>(options_.num_actions);
  for (std::size_t j = 0; j < static_cast<std::size_t>(n); ++j) {
    const std::size_t i = rng_.below(static_cast<std::uint32_t>(size_));
    std::memcpy(out->obs.data() + j * d, obs_.data() + i * d, d * sizeof(float));
    std::memcpy(out->next_obs.data() + j * d, next_obs_.data() + i * d, d * sizeof(float));
    std::memcpy(out->next_mask.data() + j * a, next_mask_.data() + i * a, a);
    out->action[j] = action_[i];
    out->reward[j] = reward_[i];
    out->done[j] = done_[i];
  }
  out->size = n;
  return true;
}

}  // namespace hetsched::agent
