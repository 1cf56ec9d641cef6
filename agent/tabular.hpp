// Tabular Q-learning: the cheap baseline learner (and a sanity check for the DQN).
//
// States come from a caller-provided discretisation (StateFn: observation -> any 64-bit key),
// reduced modulo num_states; HashedBins is a ready-made StateFn that cuts each observation
// dimension into equal bins over [lo, hi] and hashes the bin tuple (FNV-1a), so the table
// size stays fixed whatever the observation size. Update (Watkins):
//   Q(s,a) <- Q(s,a) + alpha (r + gamma max_{a' allowed in s'} Q(s',a') [not done] - Q(s,a))
// Memory: num_states * num_actions * 4 bytes, allocated at create(); update() allocates nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::agent {

// Called on the hot path (update/greedy are noexcept): must not throw and should not allocate.
using StateFn = std::function<std::uint64_t(std::span<const float> observation)>;

struct HashedBinsOptions {
  std::vector<float> lo;  // per observation dimension: value mapped to bin 0 (below clamps)
  std::vector<float> hi;  // per dimension: value mapped to the last bin (above clamps); > lo
  int bins = 8;           // bins per dimension; >= 1
};

class HashedBins {
 public:
  static Result<HashedBins> create(const HashedBinsOptions& options);
  // Key of the bin tuple; observations of the wrong size (or NaN) map to a fixed reserved key.
  std::uint64_t operator()(std::span<const float> observation) const noexcept;
  StateFn as_state_fn() const { return [b = *this](std::span<const float> o) { return b(o); }; }

 private:
  HashedBinsOptions options_;
};

struct TabularQOptions {
  int num_states = 0;     // table rows (keys are reduced modulo this); >= 1
  int num_actions = 0;    // table columns; >= 1
  float alpha = 0.1f;     // learning rate, in (0, 1]
  float gamma = 0.95f;    // discount, in [0, 1]
  float initial_q = 0.0f; // optimistic initial values encourage trying every action
};
Status validate(const TabularQOptions& options);

class TabularQ {
 public:
  TabularQ() = default;
  static Result<TabularQ> create(const TabularQOptions& options, StateFn state_fn);

  int state_of(std::span<const float> observation) const noexcept;
  std::span<const float> q(int state) const noexcept;  // num_actions values (empty if out of range)
  std::span<const float> q_values(std::span<const float> observation) const noexcept { return q(state_of(observation)); }
  int greedy(std::span<const float> observation, std::span<const std::uint8_t> mask) const noexcept;
  // One Watkins update; returns the TD error, or NaN (no change) on a bad action / mask size.
  float update(std::span<const float> obs, int action, float reward, std::span<const float> next_obs,
               std::span<const std::uint8_t> next_mask, bool done) noexcept;

  std::span<const float> table() const noexcept { return table_; }
  std::size_t memory_bytes() const noexcept { return table_.capacity() * sizeof(float); }
  const TabularQOptions& options() const noexcept { return options_; }

 private:
  TabularQOptions options_;
  StateFn state_fn_;
  std::vector<float> table_;
};

}  // namespace hetsched::agent
