#include "agent/online.hpp"

#include <cmath>
#include <string>

namespace hetsched::agent {

using policies::kNoAction;

Result<std::unique_ptr<OnlineDqnAgent>> OnlineDqnAgent::create(const OnlineDqnOptions& o) {
  auto bad = [](const std::string& m) { return Error(StatusCode::kInvalidArgument, "OnlineDqnOptions." + m); };
  if (o.update_every < 1) return bad("update_every must be >= 1, got " + std::to_string(o.update_every));
  if (o.warmup_transitions < o.dqn.batch_size)
    return bad("warmup_transitions (" + std::to_string(o.warmup_transitions) + ") must be >= dqn.batch_size (" +
               std::to_string(o.dqn.batch_size) + ")");
  if (o.replay_capacity < o.dqn.batch_size)
    return bad("replay_capacity (" + std::to_string(o.replay_capacity) + ") must be >= dqn.batch_size");
  const ReplayOptions ro{o.replay_capacity, o.dqn.observation_size, o.dqn.num_actions, o.seed ^ 0x5eedULL};
  // Check the budget before allocating: the replay ring dominates and is known in closed form.
  if (validate(o.dqn).ok() && validate(ro).ok() && replay_bytes(ro) > o.memory_budget_bytes)
    return bad("replay_capacity " + std::to_string(o.replay_capacity) + " needs " + std::to_string(replay_bytes(ro)) +
               " bytes, over memory_budget_bytes " + std::to_string(o.memory_budget_bytes));
  std::unique_ptr<OnlineDqnAgent> a(new OnlineDqnAgent());
  a->options_ = o;
  auto dqn = Dqn::create(o.dqn);
  if (!dqn.ok()) return dqn.status();
  a->dqn_ = std::move(*dqn);
  auto replay = ReplayBuffer::create(ro);
  if (!replay.ok()) return Error(replay.status().code(), "OnlineDqnOptions: " + replay.status().message());
  a->replay_ = std::move(*replay);
  a->batch_ = ReplayBatch::make(o.dqn.batch_size, o.dqn.observation_size, o.dqn.num_actions);
  auto sched = EpsilonSchedule::create(o.epsilon);
  if (!sched.ok()) return Error(sched.status().code(), "OnlineDqnOptions.epsilon: " + sched.status().message());
  a->schedule_ = *sched;
  a->rng_.reseed(o.seed);
  if (a->memory_bytes() > o.memory_budget_bytes)
    return bad("learner needs " + std::to_string(a->memory_bytes()) + " bytes, over memory_budget_bytes " +
               std::to_string(o.memory_budget_bytes));
  return a;
}

int OnlineDqnAgent::act(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept {
  const auto q = dqn_.q_values(observation);
  if (q.empty()) return kNoAction;
  return epsilon_greedy(q, action_mask, schedule_.at(steps_), rng_);
}

int OnlineDqnAgent::greedy(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept {
  return dqn_.greedy(observation, action_mask);
}

bool OnlineDqnAgent::observe(const Transition& t) noexcept {
  if (!std::isfinite(t.reward)) return false;
  if (!replay_.push(t.observation, t.action, t.reward, t.next_observation, t.next_action_mask, t.done)) return false;
  ++steps_;
  if (replay_.size() >= options_.warmup_transitions && steps_ % options_.update_every == 0 &&
      replay_.sample(options_.dqn.batch_size, &batch_))
    last_loss_ = dqn_.update(batch_);
  return true;
}

std::size_t OnlineDqnAgent::memory_bytes() const noexcept {
  const std::size_t batch = (batch_.obs.capacity() + batch_.next_obs.capacity() + batch_.reward.capacity()) * sizeof(float) +
                            batch_.action.capacity() * sizeof(std::int32_t) + batch_.next_mask.capacity() +
                            batch_.done.capacity();
  return dqn_.memory_bytes() + replay_.memory_bytes() + batch;
}

Result<std::unique_ptr<OnlineTabularAgent>> OnlineTabularAgent::create(const OnlineTabularOptions& o, StateFn state_fn) {
  std::unique_ptr<OnlineTabularAgent> a(new OnlineTabularAgent());
  auto q = TabularQ::create(o.q, std::move(state_fn));
  if (!q.ok()) return q.status();
  a->q_ = std::move(*q);
  auto sched = EpsilonSchedule::create(o.epsilon);
  if (!sched.ok()) return Error(sched.status().code(), "OnlineTabularOptions.epsilon: " + sched.status().message());
  a->schedule_ = *sched;
  a->rng_.reseed(o.seed);
  return a;
}

int OnlineTabularAgent::act(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept {
  return epsilon_greedy(q_.q_values(observation), action_mask, schedule_.at(steps_), rng_);
}

int OnlineTabularAgent::greedy(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept {
  return q_.greedy(observation, action_mask);
}

bool OnlineTabularAgent::observe(const Transition& t) noexcept {
  const float td = q_.update(t.observation, t.action, t.reward, t.next_observation, t.next_action_mask, t.done);
  if (std::isnan(td)) return false;
  ++steps_;
  return true;
}

int SafeActor::fallback(int safe_action, int num_actions, std::span<const std::uint8_t> mask) noexcept {
  if (policies::action_allowed(safe_action, num_actions, mask)) return safe_action;
  ++counters_.no_action;
  return kNoAction;
}

int SafeActor::decide(std::span<const float> observation, std::span<const std::uint8_t> mask, int num_actions,
                      const SafetyInput& safety) noexcept {
  ++counters_.decisions;
  if (safety.qos_collapse) {
    ++counters_.collapse_fallbacks;
    return fallback(safety.safe_action, num_actions, mask);
  }
  for (float x : observation) {
    if (!std::isfinite(x)) {
      ++counters_.bad_input_fallbacks;
      return fallback(safety.safe_action, num_actions, mask);
    }
  }
  const int a = learner_ ? learner_->act(observation, mask) : policy_->decide(observation, mask);
  if (policies::action_allowed(a, num_actions, mask)) return a;
  // kNoAction with a mask that allows nothing is an honest answer, not a fault.
  if (a == kNoAction && count_allowed(num_actions, mask) == 0) {
    ++counters_.no_action;
    return kNoAction;
  }
  ++counters_.invalid_choice_fallbacks;
  return fallback(safety.safe_action, num_actions, mask);
}

}  // namespace hetsched::agent
