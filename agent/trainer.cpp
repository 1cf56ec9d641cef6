#include "agent/trainer.hpp"

#include <cmath>

#include "policies/mlp.hpp"

namespace hetsched::agent {

Status validate(const TrainerOptions& o) {
  HETSCHED_RETURN_IF_ERROR(validate(o.dqn));
  HETSCHED_RETURN_IF_ERROR(validate(o.epsilon));
  if (o.replay_capacity < 1) return Error(StatusCode::kInvalidArgument, "trainer: replay_capacity must be >= 1");
  if (!(o.hint_fraction >= 0 && o.hint_fraction <= 1))
    return Error(StatusCode::kInvalidArgument, "trainer: hint_fraction must be in [0, 1]");
  if (o.warmup < 1 || o.update_every < 1 || o.updates_per_round < 1)
    return Error(StatusCode::kInvalidArgument, "trainer: warmup, update_every and updates_per_round must be >= 1");
  return Status::Ok();
}

Result<DqnTrainer> DqnTrainer::create(const TrainerOptions& o) {
  HETSCHED_RETURN_IF_ERROR(validate(o));
  DqnTrainer t;
  t.o_ = o;
  auto d = Dqn::create(o.dqn);
  if (!d.ok()) return d.status();
  t.dqn_ = std::move(d.value());
  auto r = ReplayBuffer::create({.capacity = o.replay_capacity, .observation_size = o.dqn.observation_size,
                                 .num_actions = o.dqn.num_actions, .seed = o.seed ^ 0x9e3779b97f4a7c15ull});
  if (!r.ok()) return r.status();
  t.replay_ = std::move(r.value());
  t.batch_ = ReplayBatch::make(o.dqn.batch_size, o.dqn.observation_size, o.dqn.num_actions);
  auto e = EpsilonSchedule::create(o.epsilon);
  if (!e.ok()) return e.status();
  t.eps_ = *e;
  t.rng_.reseed(o.seed);
  return t;
}

int DqnTrainer::act(std::span<const float> obs, std::span<const std::uint8_t> mask, int hint) noexcept {
  const double eps = eps_.at(acts_++);
  if (rng_.uniform() < eps) {
    if (hint >= 0 && static_cast<std::size_t>(hint) < mask.size() && mask[static_cast<std::size_t>(hint)] &&
        rng_.uniform() < o_.hint_fraction)
      return hint;
    return uniform_allowed(o_.dqn.num_actions, mask, rng_);
  }
  return dqn_.greedy(obs, mask);
}

float DqnTrainer::observe(std::span<const float> obs, int action, float reward, std::span<const float> next_obs,
                          std::span<const std::uint8_t> next_mask, bool done) noexcept {
  if (!replay_.push(obs, action, reward, next_obs, next_mask, done)) return std::nanf("");
  ++observed_;
  if (replay_.size() < o_.warmup || observed_ % o_.update_every != 0) return std::nanf("");
  float loss = std::nanf("");
  for (int k = 0; k < o_.updates_per_round; ++k)
    if (replay_.sample(o_.dqn.batch_size, &batch_)) loss = dqn_.update(batch_);
  return loss;
}

float DqnTrainer::imitate(std::span<const float> obs, std::span<const std::uint8_t> mask, int teacher,
                          int negatives) noexcept {
  if (teacher < 0 || static_cast<std::size_t>(teacher) >= mask.size()) return std::nanf("");
  float loss = observe(obs, teacher, 1.0f, obs, mask, true);
  if (count_allowed(o_.dqn.num_actions, mask) < 2) return loss;
  for (int k = 0; k < negatives; ++k) {
    int a = teacher;
    for (int tries = 0; a == teacher && tries < 8; ++tries) a = uniform_allowed(o_.dqn.num_actions, mask, rng_);
    if (a == teacher || a < 0) continue;
    const float l = observe(obs, a, 0.0f, obs, mask, true);
    if (!std::isnan(l)) loss = l;
  }
  return loss;
}

}  // namespace hetsched::agent
