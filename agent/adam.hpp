// Adam (Kingma & Ba 2015) on one flat parameter vector.
//
//   m <- b1 m + (1 - b1) g            v <- b2 v + (1 - b2) g^2
//   theta <- theta - lr_t m / (sqrt(v) + eps),   lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
// (the bias correction folded into the step size, as in the paper's section 2 final note).
// Moments are allocated at create(); step() is allocation-free and noexcept.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <span>

#include "telemetry/status.hpp"

namespace hetsched::agent {

struct AdamOptions {
  float learning_rate = 1e-3f;  // step size (alpha); > 0
  float beta1 = 0.9f;           // first-moment decay, in [0, 1)
  float beta2 = 0.999f;         // second-moment decay, in [0, 1)
  float epsilon = 1e-8f;        // denominator floor; > 0
};
Status validate(const AdamOptions& options);

class Adam {
 public:
  Adam() = default;
  static Result<Adam> create(const AdamOptions& options, std::size_t num_params);

  // One update of params with gradient grad (both num_params long; otherwise nothing happens
  // and false is returned).
  bool step(std::span<float> params, std::span<const float> grad) noexcept;

  std::int64_t steps() const noexcept { return t_; }
  std::size_t num_params() const noexcept { return static_cast<std::size_t>(m_.size()); }
  std::size_t memory_bytes() const noexcept { return static_cast<std::size_t>(m_.size() + v_.size()) * sizeof(float); }
  const AdamOptions& options() const noexcept { return options_; }

 private:
  AdamOptions options_;
  Eigen::ArrayXf m_, v_;
  std::int64_t t_ = 0;
  double b1_pow_ = 1.0, b2_pow_ = 1.0;  // b1^t, b2^t (double: 1 - b2^t is tiny for small t)
};

}  // namespace hetsched::agent
