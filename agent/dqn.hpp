// Double DQN (van Hasselt, Guez, Silver 2016) on policies::Mlp, generic over observation size
// and action count.
//
// For a minibatch of transitions (s, a, r, s', mask', done):
//   a*  = argmax over allowed a' of Q_online(s', a')          (double_dqn; else Q_target)
//   y   = r                                   if done or nothing is allowed in s'
//       = r + gamma * Q_target(s', a*)        otherwise
//   L   = mean over the batch of Huber_delta(Q_online(s, a) - y)
// Huber: 0.5 e^2 for |e| <= delta, delta (|e| - 0.5 delta) beyond, so dL/dQ = clamp(e, -delta, delta)/B:
// large TD errors (reward spikes when the QoS collapses) cannot blow up the gradient.
// y is a constant for the gradient (semi-gradient TD), backprop runs through Q_online(s, a) only.
// Gradients are clipped to a global L2 norm, then Adam steps. The target network is a hard copy
// every target_sync_every updates, or Polyak averaging theta' <- tau theta + (1 - tau) theta'.
// All buffers are allocated in create(); update() is allocation-free and noexcept, and
// deterministic: the same options, seed and batches give bit-identical weights.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "agent/adam.hpp"
#include "agent/mlp_backprop.hpp"
#include "agent/replay_buffer.hpp"
#include "policies/mlp.hpp"
#include "telemetry/status.hpp"

namespace hetsched::agent {

struct DqnOptions {
  int observation_size = 0;                 // floats per observation; >= 1
  int num_actions = 0;                      // Q-values (actions); >= 1
  std::vector<int> hidden_sizes = {64, 64}; // hidden layer widths (may be empty: linear Q)
  policies::Activation hidden_activation = policies::Activation::kRelu;  // after each hidden layer
  float gamma = 0.95f;                      // discount per step, in [0, 1]
  int batch_size = 32;                      // max transitions per update; >= 1
  AdamOptions adam;                         // optimiser
  float huber_delta = 1.0f;                 // TD error beyond which the loss is linear; > 0
  float max_grad_norm = 10.0f;              // global gradient L2 clip; 0 = no clipping
  int target_sync_every = 100;              // hard target copy every K updates; 0 = Polyak
  float polyak_tau = 0.01f;                 // target averaging rate when target_sync_every == 0, in (0, 1]
  bool double_dqn = true;                   // online net picks a*, target evaluates it; false = plain DQN max
  std::uint64_t seed = 1;                   // weight initialisation
};
Status validate(const DqnOptions& options);

class Dqn {
 public:
  Dqn() = default;
  static Result<Dqn> create(const DqnOptions& options);

  // One gradient step on batch (batch.size in 1..batch_size). Returns the mean Huber loss
  // before the step, or NaN (and no change) if the batch has other dimensions, bad actions or
  // non-finite values (loss or gradient).
  float update(const ReplayBatch& batch) noexcept;
  // Loss and its gradient w.r.t. the online parameters for batch, without changing anything
  // (grad: num_params long; unclipped). NaN on a malformed batch. Used by update() and tests.
  float loss_and_gradient(const ReplayBatch& batch, std::span<float> grad) noexcept;

  // Online-network Q-values of one observation (view valid until the next call); empty if size is wrong.
  std::span<const float> q_values(std::span<const float> observation) noexcept;
  int greedy(std::span<const float> observation, std::span<const std::uint8_t> mask) noexcept;
  void sync_target() noexcept;

  const policies::Mlp& online() const noexcept { return online_; }
  policies::Mlp& online() noexcept { return online_; }
  const policies::Mlp& target() const noexcept { return target_; }
  std::int64_t updates() const noexcept { return updates_; }
  float last_grad_norm() const noexcept { return last_grad_norm_; }  // before clipping
  const DqnOptions& options() const noexcept { return options_; }
  std::size_t memory_bytes() const noexcept;

 private:
  bool batch_ok(const ReplayBatch& b) const noexcept;

  DqnOptions options_;
  policies::Mlp online_, target_;
  Adam adam_;
  MlpBackprop train_, next_online_, next_target_;
  std::vector<float> grad_;
  std::vector<float> target_y_;     // batch_size
  std::vector<float> grad_out_;     // num_actions x batch_size
  std::int64_t updates_ = 0;
  float last_grad_norm_ = 0.0f;
};

}  // namespace hetsched::agent
