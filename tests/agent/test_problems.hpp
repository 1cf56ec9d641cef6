// Small synthetic problems for the learner tests (no simulator needed).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "telemetry/rng.hpp"

namespace hetsched::agent::test {

// Contextual bandit: context c is a one-hot observation; arm a pays mean[c][a] + U(-noise, noise).
// One arm per context is masked; in some contexts the masked arm is the best one, so the learner
// must pick the best *allowed* arm. The gap between the best and second-best allowed arm is >= 0.2.
struct Bandit {
  int contexts = 20, arms = 5;
  float noise = 0.1f;
  std::vector<float> mean;          // contexts x arms
  std::vector<std::uint8_t> mask;   // contexts x arms

  explicit Bandit(std::uint64_t seed) {
    Rng rng(seed);
    mean.resize(static_cast<std::size_t>(contexts * arms));
    mask.assign(static_cast<std::size_t>(contexts * arms), 1);
    for (int c = 0; c < contexts; ++c) {
      for (int a = 0; a < arms; ++a) at(c, a) = rng.uniform(0.0f, 0.5f);
      const int best = static_cast<int>(rng.below(static_cast<std::uint32_t>(arms)));
      at(c, best) = 0.9f;  // clear winner
      // Every other context masks its best arm; the second best becomes the answer there.
      const int masked = (c % 2 == 0) ? best : (best + 1) % arms;
      mask[static_cast<std::size_t>(c * arms + masked)] = 0;
      if (masked == best) at(c, (best + 2) % arms) = 0.7f;
    }
  }
  float& at(int c, int a) { return mean[static_cast<std::size_t>(c * arms + a)]; }
  std::vector<float> obs(int c) const {
    std::vector<float> o(static_cast<std::size_t>(contexts), 0.0f);
    o[static_cast<std::size_t>(c)] = 1.0f;
    return o;
  }
  std::vector<std::uint8_t> mask_of(int c) const {
    return {mask.begin() + c * arms, mask.begin() + (c + 1) * arms};
  }
  float reward(int c, int a, Rng& rng) { return at(c, a) + rng.uniform(-noise, noise); }
  int best_allowed(int c) {
    int best = -1;
    for (int a = 0; a < arms; ++a)
      if (mask[static_cast<std::size_t>(c * arms + a)] && (best < 0 || at(c, a) > at(c, best))) best = a;
    return best;
  }
};

// Chain MDP with a delayed reward: states 0..n-1 (one-hot), actions 0 = left, 1 = right,
// 2 = quit. Reaching n-1 pays 1 and ends the episode; "quit" ends it at once with 0.1 (the
// myopic distractor). With gamma = 0.9 and n = 8, Q*(s, right) = 0.9^(n-2-s) >= 0.53 beats
// quitting (0.1) and going left (0.9 Q*(0, right) in state 0, where left bumps into the wall;
// 0.81 Q*(s, right) elsewhere) by >= 0.05 everywhere, so the optimal policy
// is "right" in every state. "quit" is masked in states 3 and 4 to exercise next-state masks.
struct Chain {
  int n = 8;
  static constexpr int kActions = 3;
  struct Step {
    int next;
    float reward;
    bool done;
  };
  std::vector<float> obs(int s) const {
    std::vector<float> o(static_cast<std::size_t>(n), 0.0f);
    o[static_cast<std::size_t>(s)] = 1.0f;
    return o;
  }
  std::vector<std::uint8_t> mask_of(int s) const {
    return {1, 1, static_cast<std::uint8_t>((s == 3 || s == 4) ? 0 : 1)};
  }
  Step step(int s, int a) const {
    if (a == 2) return {s, 0.1f, true};
    const int next = std::clamp(s + (a == 1 ? 1 : -1), 0, n - 1);
    return {next, next == n - 1 ? 1.0f : 0.0f, next == n - 1};
  }
};

}  // namespace hetsched::agent::test
