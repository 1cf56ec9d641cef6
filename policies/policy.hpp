// The Policy interface: what the runtime's controller calls every decision period.
//
// A policy maps an observation (floats laid out by the observation schema the caller owns)
// and an action mask (one byte per action, non-zero = allowed) to an action index. It never
// returns a masked action: either an allowed index or kNoAction (every action masked, or the
// input has the wrong size). decide() runs on the hot path: allocation-free and noexcept.
//
// Identity: name() is human-readable; checksum() identifies the exact parameters (the policy
// file's payload hash covers the same weights), so logs and traces can say which policy acted.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "policies/mlp.hpp"

namespace hetsched::policies {

class Policy {
 public:
  virtual ~Policy() = default;
  // Allowed action index, or kNoAction. Not thread-safe (policies may own scratch buffers).
  virtual int decide(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept = 0;
  virtual std::string_view name() const noexcept = 0;
  virtual std::uint64_t checksum() const noexcept = 0;
  virtual int observation_size() const noexcept = 0;
  virtual int num_actions() const noexcept = 0;
};

// Greedy policy over an MLP's Q-values: argmax over allowed actions (masked_argmax rules).
class MlpPolicy final : public Policy {
 public:
  MlpPolicy(Mlp mlp, std::string name) : mlp_(std::move(mlp)), name_(std::move(name)), checksum_(mlp_.checksum()) {}

  int decide(std::span<const float> observation, std::span<const std::uint8_t> action_mask) noexcept override {
    if (observation.size() != static_cast<std::size_t>(mlp_.input_size())) return kNoAction;
    // A mask of the wrong length is malformed input; masked_argmax refuses it (kNoAction).
    return masked_argmax(mlp_.forward(observation), action_mask);
  }
  std::string_view name() const noexcept override { return name_; }
  // Computed once at construction: the weights of an MlpPolicy never change.
  std::uint64_t checksum() const noexcept override { return checksum_; }
  int observation_size() const noexcept override { return mlp_.input_size(); }
  int num_actions() const noexcept override { return mlp_.output_size(); }
  const Mlp& mlp() const noexcept { return mlp_; }

 private:
  Mlp mlp_;
  std::string name_;
  std::uint64_t checksum_;
};

}  // namespace hetsched::policies
