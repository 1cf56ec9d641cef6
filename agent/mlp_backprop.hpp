// Minibatch forward/backward for policies::Mlp, written by hand (verified against finite
// differences in tests/agent/test_mlp_backprop.cpp), plus seeded weight initialisation.
//
// A batch is a column-major matrix with one sample per column (obs_size x B), which is exactly
// how the replay buffer stores consecutive observations, so batches are used without copying.
// For layer l with input a_l, z_l = W_l a_l + b_l and a_{l+1} = act(z_l); given
// delta_l = dLoss/dz_l (out_l x B):
//   dW_l = delta_l a_l^T        db_l = sum over columns of delta_l
//   delta_{l-1} = (W_l^T delta_l) .* act'(z_{l-1})
// act' is computed from the stored outputs: relu' = [a > 0], tanh' = 1 - a^2, identity' = 1.
// All buffers are sized for max_batch at create(); forward()/backward() allocate nothing.
#pragma once

#include <Eigen/Core>
#include <span>
#include <vector>

#include "telemetry/rng.hpp"
#include "policies/mlp.hpp"
#include "telemetry/status.hpp"

namespace hetsched::agent {

// He-uniform for ReLU layers (limit sqrt(6 / fan_in)), Glorot-uniform otherwise
// (limit sqrt(6 / (fan_in + fan_out))); biases zero. Deterministic for a given rng state.
void init_weights(policies::Mlp& mlp, Rng& rng) noexcept;

class MlpBackprop {
 public:
  MlpBackprop() = default;
  // Workspace for networks shaped like `shape` and batches of up to max_batch samples.
  static Result<MlpBackprop> create(const policies::Mlp& shape, int max_batch);

  // Forward `batch` samples (input: input_size x batch, column-major). Returns the output
  // (output_size x batch), valid until the next forward(). batch must be in 1..max_batch and
  // net shaped like at create() (otherwise an empty 0x0 map is returned).
  Eigen::Map<const Eigen::MatrixXf> forward(const policies::Mlp& net, const float* input, int batch) noexcept;

  // Backward through the last forward(): grad_output is dLoss/d(output) (output_size x batch,
  // column-major); writes dLoss/dparams into grad (num_params long, Mlp parameter layout).
  // Returns false (grad untouched) on a size mismatch or without a preceding forward().
  bool backward(const policies::Mlp& net, const float* grad_output, std::span<float> grad) noexcept;

  int max_batch() const noexcept { return max_batch_; }
  std::size_t memory_bytes() const noexcept;

 private:
  std::vector<int> sizes_;
  int max_batch_ = 0;
  int batch_ = 0;                     // of the last forward(), 0 = none
  std::vector<Eigen::MatrixXf> act_;  // act_[l]: input of layer l (act_[0] = batch input); width x max_batch
  Eigen::MatrixXf delta_a_, delta_b_; // max_width x max_batch, ping-pong
};

}  // namespace hetsched::agent
