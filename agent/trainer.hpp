// A generic off-policy training driver for Double DQN: exploration schedule + replay buffer +
// learner, with no knowledge of where transitions come from (agent/ never includes env/; the
// simulator loop lives in tools/cmd_train.cpp).
//
// act(): with probability eps(t) explore, otherwise greedy over allowed actions. Exploration
// takes the caller's `hint` action (e.g. a privileged teacher available only in simulation)
// with probability hint_fraction when it is allowed, else a uniform allowed action. Learning is
// off-policy, so hinted transitions are ordinary experience: they only make the informative
// actions show up early instead of after thousands of random tries.
// imitate(): see below (DAgger mode of hetsched train).
// observe(): stores the transition and runs updates_per_step gradient steps once warm.
#pragma once

#include <cstdint>
#include <span>

#include "agent/dqn.hpp"
#include "agent/exploration.hpp"
#include "agent/replay_buffer.hpp"
#include "telemetry/rng.hpp"
#include "telemetry/status.hpp"

namespace hetsched::agent {

struct TrainerOptions {
  DqnOptions dqn;                      // learner (observation_size / num_actions set by the caller)
  int replay_capacity = 100000;        // transitions kept
  EpsilonScheduleOptions epsilon;      // exploration schedule over act() calls
  double hint_fraction = 0.5;          // share of exploratory actions that follow the hint
  int warmup = 2000;                   // transitions before the first update
  int update_every = 4;                // one round of updates every N observe() calls
  int updates_per_round = 1;           // gradient steps per round
  std::uint64_t seed = 1;              // exploration and replay sampling
};
Status validate(const TrainerOptions& options);

class DqnTrainer {
 public:
  static Result<DqnTrainer> create(const TrainerOptions& options);
  // hint < 0: none. Returns kNoAction only if nothing is allowed.
  int act(std::span<const float> obs, std::span<const std::uint8_t> mask, int hint) noexcept;
  // Returns the loss of the last update (NaN if none ran).
  float observe(std::span<const float> obs, int action, float reward, std::span<const float> next_obs,
                std::span<const std::uint8_t> next_mask, bool done) noexcept;
  // Imitation step (DAgger with a teacher, e.g. the oracle in simulation): stores the state
  // with the teacher's action at target 1 and `negatives` other allowed actions (uniform) at
  // target 0, all terminal, so the Double-DQN regression fits Q(s,a) ~ P(a is the teacher's
  // choice) and the greedy policy imitates the teacher. Same update schedule as observe().
  float imitate(std::span<const float> obs, std::span<const std::uint8_t> mask, int teacher, int negatives) noexcept;
  // Uniform draw in [0,1) from the trainer's RNG (for the caller's teacher/learner mixing).
  double uniform() noexcept { return rng_.uniform(); }
  double epsilon() const noexcept { return eps_.at(acts_); }
  std::int64_t steps() const noexcept { return acts_; }
  const Dqn& dqn() const noexcept { return dqn_; }
  Dqn& dqn() noexcept { return dqn_; }

 private:
  DqnTrainer() = default;
  TrainerOptions o_;
  Dqn dqn_;
  ReplayBuffer replay_;
  ReplayBatch batch_;
  EpsilonSchedule eps_;
  Rng rng_;
  std::int64_t acts_ = 0, observed_ = 0;
};

}  // namespace hetsched::agent
