#include "agent/adam.hpp"

#include <cmath>
#include <string>

namespace hetsched::agent {

Status validate(const AdamOptions& o) {
  if (!(o.learning_rate > 0.0f) || !std::isfinite(o.learning_rate))
    return Error(StatusCode::kInvalidArgument, "AdamOptions.learning_rate must be > 0, got " + std::to_string(o.learning_rate));
  if (!(o.beta1 >= 0.0f && o.beta1 < 1.0f))
    return Error(StatusCode::kInvalidArgument, "AdamOptions.beta1 must be in [0, 1), got " + std::to_string(o.beta1));
  if (!(o.beta2 >= 0.0f && o.beta2 < 1.0f))
    return Error(StatusCode::kInvalidArgument, "AdamOptions.beta2 must be in [0, 1), got " + std::to_string(o.beta2));
  if (!(o.epsilon > 0.0f))
    return Error(StatusCode::kInvalidArgument, "AdamOptions.epsilon must be > 0, got " + std::to_string(o.epsilon));
  return Status::Ok();
}

Result<Adam> Adam::create(const AdamOptions& options, std::size_t num_params) {
  HETSCHED_RETURN_IF_ERROR(validate(options));
  if (num_params == 0) return Error(StatusCode::kInvalidArgument, "Adam: num_params must be > 0");
  Adam a;
  a.options_ = options;
  a.m_ = Eigen::ArrayXf::Zero(static_cast<Eigen::Index>(num_params));
  a.v_ = Eigen::ArrayXf::Zero(static_cast<Eigen::Index>(num_params));
  return a;
}

bool Adam::step(std::span<float> params, std::span<const float> grad) noexcept {
  const auto n = static_cast<std::size_t>(m_.size());
  if (n == 0 || params.size() != n || grad.size() != n) return false;
  Eigen::Map<Eigen::ArrayXf> p(params.data(), m_.size());
  Eigen::Map<const Eigen::ArrayXf> g(grad.data(), m_.size());
  const float b1 = options_.beta1, b2 = options_.beta2;
  ++t_;
  b1_pow_ *= b1;
  b2_pow_ *= b2;
  m_ = b1 * m_ + (1.0f - b1) * g;
  v_ = b2 * v_ + (1.0f - b2) * g.square();
  const auto lr_t = static_cast<float>(options_.learning_rate * std::sqrt(1.0 - b2_pow_) / (1.0 - b1_pow_));
  // eps is scaled by sqrt(1 - b2^t) so the folded form equals the paper's m_hat / (sqrt(v_hat) + eps).
  const auto eps_t = static_cast<float>(options_.epsilon * std::sqrt(1.0 - b2_pow_));
  p -= lr_t * m_ / (v_.sqrt() + eps_t);
  return true;
}

}  // namespace hetsched::agent
