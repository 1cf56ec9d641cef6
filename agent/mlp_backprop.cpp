#include "agent/mlp_backprop.hpp"

#include <cmath>
#include <string>

namespace hetsched::agent {

using policies::Activation;

void init_weights(policies::Mlp& mlp, Rng& rng) noexcept {
  for (int l = 0; l < mlp.num_layers(); ++l) {
    const double fan_in = mlp.layer_in(l), fan_out = mlp.layer_out(l);
    const bool relu = mlp.activation_of(l) == Activation::kRelu;
    const auto limit = static_cast<float>(relu ? std::sqrt(6.0 / fan_in) : std::sqrt(6.0 / (fan_in + fan_out)));
    auto w = mlp.weight(l);
    for (Eigen::Index j = 0; j < w.cols(); ++j)
      for (Eigen::Index i = 0; i < w.rows(); ++i) w(i, j) = rng.uniform(-limit, limit);
    mlp.bias(l).setZero();
  }
}

Result<MlpBackprop> MlpBackprop::create(const policies::Mlp& shape, int max_batch) {
  if (shape.num_layers() == 0) return Error(StatusCode::kInvalidArgument, "MlpBackprop: empty network");
  if (max_batch < 1 || max_batch > 65536)
    return Error(StatusCode::kInvalidArgument, "MlpBackprop: max_batch must be in 1..65536, got " + std::to_string(max_batch));
  MlpBackprop b;
  b.sizes_ = shape.options().layer_sizes;
  b.max_batch_ = max_batch;
  for (int w : b.sizes_) b.act_.emplace_back(Eigen::MatrixXf::Zero(w, max_batch));
  b.delta_a_ = Eigen::MatrixXf::Zero(shape.max_width(), max_batch);
  b.delta_b_ = Eigen::MatrixXf::Zero(shape.max_width(), max_batch);
  return b;
}

std::size_t MlpBackprop::memory_bytes() const noexcept {
  std::size_t n = static_cast<std::size_t>(delta_a_.size() + delta_b_.size());
  for (const auto& a : act_) n += static_cast<std::size_t>(a.size());
  return n * sizeof(float);
}

Eigen::Map<const Eigen::MatrixXf> MlpBackprop::forward(const policies::Mlp& net, const float* input, int batch) noexcept {
  batch_ = 0;
  if (batch < 1 || batch > max_batch_ || net.options().layer_sizes != sizes_) return {nullptr, 0, 0};
  const int L = net.num_layers();
  act_[0].leftCols(batch) = Eigen::Map<const Eigen::MatrixXf>(input, sizes_[0], batch);
  for (int l = 0; l < L; ++l) {
    auto x = act_[static_cast<std::size_t>(l)].leftCols(batch);
    auto y = act_[static_cast<std::size_t>(l) + 1].leftCols(batch);
    y.noalias() = net.weight(l) * x;
    y.colwise() += net.bias(l);
    switch (net.activation_of(l)) {
      case Activation::kIdentity: break;
      case Activation::kRelu: y = y.cwiseMax(0.0f); break;
      case Activation::kTanh: y = y.array().tanh().matrix(); break;
    }
  }
  batch_ = batch;
  const auto& out = act_.back();
  return {out.data(), out.rows(), batch};  // leftCols of a column-major matrix are contiguous
}

bool MlpBackprop::backward(const policies::Mlp& net, const float* grad_output, std::span<float> grad) noexcept {
  if (batch_ == 0 || net.options().layer_sizes != sizes_ || grad.size() != net.num_params()) return false;
  const int B = batch_;
  const int L = net.num_layers();
  Eigen::MatrixXf* cur = &delta_a_;
  Eigen::MatrixXf* prev = &delta_b_;
  // delta of the last layer: dL/dz = dL/da .* act'(a).
  auto apply_derivative = [](Activation act, auto&& d, const auto& a) {
    switch (act) {
      case Activation::kIdentity: break;
      case Activation::kRelu: d.array() *= (a.array() > 0.0f).template cast<float>(); break;
      case Activation::kTanh: d.array() *= 1.0f - a.array().square(); break;
    }
  };
  {
    auto d = cur->topLeftCorner(sizes_.back(), B);
    d = Eigen::Map<const Eigen::MatrixXf>(grad_output, sizes_.back(), B);
    apply_derivative(net.activation_of(L - 1), d, act_.back().leftCols(B));
  }
  for (int l = L - 1; l >= 0; --l) {
    const auto d = cur->topLeftCorner(net.layer_out(l), B);
    const auto a_in = act_[static_cast<std::size_t>(l)].leftCols(B);
    Eigen::Map<Eigen::MatrixXf> gw(grad.data() + net.weight_offset(l), net.layer_out(l), net.layer_in(l));
    Eigen::Map<Eigen::VectorXf> gb(grad.data() + net.bias_offset(l), net.layer_out(l));
    gw.noalias() = d * a_in.transpose();
    gb.noalias() = d.rowwise().sum();
    if (l > 0) {
      auto dp = prev->topLeftCorner(net.layer_in(l), B);
      dp.noalias() = net.weight(l).transpose() * d;
      apply_derivative(net.activation_of(l - 1), dp, a_in);
      std::swap(cur, prev);
    }
  }
  return true;
}

}  // namespace hetsched::agent
