// Fixed-capacity experience replay: a ring of transitions with uniform, seeded sampling.
//
// Memory is bounded and known at create():
//   bytes = capacity * (2 * observation_size * 4   obs + next obs (float32)
//                       + num_actions              next-state action mask (1 byte per action)
//                       + 4 + 4 + 1)               action (int32), reward (float32), done (byte)
// The next-state mask is stored because Double DQN's argmax over the next state must only
// consider actions that were actually allowed there. push() overwrites the oldest transition
// once full; push()/sample() allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "telemetry/rng.hpp"
#include "telemetry/status.hpp"

namespace hetsched::agent {

struct ReplayOptions {
  int capacity = 10000;         // transitions kept (oldest overwritten); >= 1
  int observation_size = 0;     // floats per observation; >= 1
  int num_actions = 0;          // actions (bytes per mask); >= 1
  std::uint64_t seed = 1;       // sampling RNG
};
Status validate(const ReplayOptions& options);
// Bytes create() will hold for these options (formula above); 0 if invalid.
std::size_t replay_bytes(const ReplayOptions& options) noexcept;

// A minibatch, sample-major (sample i's observation is obs[i*observation_size ...]), which is
// the column-major obs_size x size matrix the networks consume. Allocated once for max_size.
struct ReplayBatch {
  int size = 0;                     // valid samples
  int observation_size = 0;
  int num_actions = 0;
  std::vector<float> obs;           // max_size * observation_size
  std::vector<std::int32_t> action; // max_size
  std::vector<float> reward;        // max_size
  std::vector<float> next_obs;      // max_size * observation_size
  std::vector<std::uint8_t> next_mask;  // max_size * num_actions (non-zero = allowed)
  std::vector<std::uint8_t> done;   // max_size (1: episode ended, no bootstrap)

  static ReplayBatch make(int max_size, int observation_size, int num_actions);
  int max_size() const noexcept { return static_cast<int>(action.size()); }
};

class ReplayBuffer {
 public:
  ReplayBuffer() = default;
  static Result<ReplayBuffer> create(const ReplayOptions& options);

  // Stores one transition. next_mask empty = every action allowed. Returns false (nothing
  // stored) if a size is wrong, the action is out of range, or any value is not finite.
  bool push(std::span<const float> obs, int action, float reward, std::span<const float> next_obs,
            std::span<const std::uint8_t> next_mask, bool done) noexcept;

  // Fills out->... with n transitions drawn uniformly with replacement. Returns false if the
  // buffer is empty or n is not in 1..out->max_size() or out has other dimensions.
  bool sample(int n, ReplayBatch* out) noexcept;

  int size() const noexcept { return size_; }
  int capacity() const noexcept { return options_.capacity; }
  std::int64_t pushed() const noexcept { return pushed_; }  // ever pushed
  std::size_t memory_bytes() const noexcept;
  const ReplayOptions& options() const noexcept { return options_; }

 private:
  ReplayOptions options_;
  Rng rng_;
  std::vector<float> obs_, next_obs_, reward_;
  std::vector<std::int32_t> action_;
  std::vector<std::uint8_t> next_mask_, done_;
  int head_ = 0, size_ = 0;
  std::int64_t pushed_ = 0;
};

}  // namespace hetsched::agent
