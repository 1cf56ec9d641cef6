// Online learning: a learner fed one transition at a time inside a fixed memory budget, and
// the "safe" wrapper the runtime's guard uses around any learner or policy.
//
// OnlineLearner contract (all of it allocation-free after create, noexcept):
//   act(obs, mask)      explores (epsilon schedule) but never returns a masked action;
//                       kNoAction only if every action is masked (or sizes are wrong).
//   observe(transition) stores it; every update_every observed transitions (once warmup_transitions
//                       are stored) runs one minibatch update. Returns false for a malformed transition.
//   memory_bytes()      what the learner holds; create() refuses options whose budget is exceeded.
//
// SafeActor (the guard's view):
//   1. qos_collapse set            -> safe_action (the guard's known-good configuration)
//   2. observation not all finite  -> safe_action (garbage in must not steer the platform)
//   3. otherwise the inner choice; should it ever be masked/out of range -> safe_action
// safe_action itself is only returned if the mask allows it; else kNoAction, which the caller
// reads as "keep the current configuration". Counters record how often each fallback fired.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "agent/dqn.hpp"
#include "agent/exploration.hpp"
#include "agent/replay_buffer.hpp"
#include "telemetry/rng.hpp"
#include "agent/tabular.hpp"
#include "policies/policy.hpp"
#include "telemetry/status.hpp"

namespace hetsched::agent {

struct Transition {
  std::span<const float> observation;
  int action = 0;                                 // the action actually taken
  float reward = 0.0f;
  std::span<const float> next_observation;
  std::span<const std::uint8_t> next_action_mask; // empty = all allowed
  bool done = false;                              // episode ended: no bootstrap from next_observation
};

class OnlineLearner {
 public:
  virtual ~OnlineLearner() = default;
  virtual int act(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept = 0;
  // Greedy (no exploration) choice: what a deployed policy would do.
  virtual int greedy(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept = 0;
  virtual bool observe(const Transition& t) noexcept = 0;
  virtual std::size_t memory_bytes() const noexcept = 0;
  virtual std::string_view name() const noexcept = 0;
  virtual std::int64_t steps() const noexcept = 0;  // transitions observed
};

struct OnlineDqnOptions {
  DqnOptions dqn;                         // network, optimiser, target sync; dqn.batch_size = minibatch
  int replay_capacity = 10000;            // transitions kept (ring)
  int warmup_transitions = 256;           // no updates until this many are stored; >= dqn.batch_size
  int update_every = 1;                   // one update per this many observed transitions; >= 1
  EpsilonScheduleOptions epsilon;         // exploration over observed steps
  std::uint64_t seed = 1;                 // exploration and replay sampling (dqn.seed: weights)
  std::size_t memory_budget_bytes = 64u << 20;  // create() fails if the learner would hold more
};

class OnlineDqnAgent final : public OnlineLearner {
 public:
  static Result<std::unique_ptr<OnlineDqnAgent>> create(const OnlineDqnOptions& options);
  int act(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept override;
  int greedy(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept override;
  bool observe(const Transition& t) noexcept override;
  std::size_t memory_bytes() const noexcept override;
  std::string_view name() const noexcept override { return "online-double-dqn"; }
  std::int64_t steps() const noexcept override { return steps_; }
  double epsilon() const noexcept { return schedule_.at(steps_); }
  float last_loss() const noexcept { return last_loss_; }
  const Dqn& dqn() const noexcept { return dqn_; }
  const ReplayBuffer& replay() const noexcept { return replay_; }

 private:
  OnlineDqnAgent() = default;
  OnlineDqnOptions options_;
  Dqn dqn_;
  ReplayBuffer replay_;
  ReplayBatch batch_;
  EpsilonSchedule schedule_;
  Rng rng_;
  std::int64_t steps_ = 0;
  float last_loss_ = 0.0f;
};

struct OnlineTabularOptions {
  TabularQOptions q;                // table and learning rates
  EpsilonScheduleOptions epsilon;   // exploration over observed steps
  std::uint64_t seed = 1;           // exploration
};

class OnlineTabularAgent final : public OnlineLearner {
 public:
  static Result<std::unique_ptr<OnlineTabularAgent>> create(const OnlineTabularOptions& options, StateFn state_fn);
  int act(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept override;
  int greedy(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept override;
  bool observe(const Transition& t) noexcept override;
  std::size_t memory_bytes() const noexcept override { return q_.memory_bytes(); }
  std::string_view name() const noexcept override { return "online-tabular-q"; }
  std::int64_t steps() const noexcept override { return steps_; }
  const TabularQ& table() const noexcept { return q_; }

 private:
  OnlineTabularAgent() = default;
  TabularQ q_;
  EpsilonSchedule schedule_;
  Rng rng_;
  std::int64_t steps_ = 0;
};

struct SafetyInput {
  bool qos_collapse = false;  // set by the runtime guard when QoS has collapsed (e.g. deadline misses)
  int safe_action = policies::kNoAction;  // the guard's known-good action
};

struct SafetyCounters {
  std::int64_t decisions = 0;
  std::int64_t collapse_fallbacks = 0;   // rule 1
  std::int64_t bad_input_fallbacks = 0;  // rule 2
  std::int64_t invalid_choice_fallbacks = 0;  // rule 3
  std::int64_t no_action = 0;            // returned kNoAction
};

class SafeActor {
 public:
  // Wraps a learner (explores via act()) or a fixed policy; the wrapped object must outlive this.
  explicit SafeActor(OnlineLearner& learner) noexcept : learner_(&learner) {}
  explicit SafeActor(policies::Policy& policy) noexcept : policy_(&policy) {}

  int decide(std::span<const float> observation, std::span<const std::uint8_t> action_mask, int num_actions,
             const SafetyInput& safety) noexcept;
  const SafetyCounters& counters() const noexcept { return counters_; }

 private:
  int fallback(int safe_action, int num_actions, std::span<const std::uint8_t> mask) noexcept;
  OnlineLearner* learner_ = nullptr;
  policies::Policy* policy_ = nullptr;
  SafetyCounters counters_;
};

}  // namespace hetsched::agent
