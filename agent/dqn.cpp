#include "agent/dqn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace hetsched::agent {

Status validate(const DqnOptions& o) {
  auto bad = [](const std::string& m) { return Error(StatusCode::kInvalidArgument, "DqnOptions." + m); };
  if (o.observation_size < 1) return bad("observation_size must be >= 1, got " + std::to_string(o.observation_size));
  if (o.num_actions < 1) return bad("num_actions must be >= 1, got " + std::to_string(o.num_actions));
  if (!(o.gamma >= 0.0f && o.gamma <= 1.0f)) return bad("gamma must be in [0, 1], got " + std::to_string(o.gamma));
  if (o.batch_size < 1 || o.batch_size > 65536) return bad("batch_size must be in 1..65536, got " + std::to_string(o.batch_size));
  if (!(o.huber_delta > 0.0f)) return bad("huber_delta must be > 0, got " + std::to_string(o.huber_delta));
  if (!(o.max_grad_norm >= 0.0f)) return bad("max_grad_norm must be >= 0, got " + std::to_string(o.max_grad_norm));
  if (o.target_sync_every < 0) return bad("target_sync_every must be >= 0, got " + std::to_string(o.target_sync_every));
  if (o.target_sync_every == 0 && !(o.polyak_tau > 0.0f && o.polyak_tau <= 1.0f))
    return bad("polyak_tau must be in (0, 1] when target_sync_every == 0, got " + std::to_string(o.polyak_tau));
  Status s = validate(o.adam);
  if (!s.ok()) return Error(s.code(), "DqnOptions.adam: " + s.message());
  return Status::Ok();
}

Result<Dqn> Dqn::create(const DqnOptions& options) {
  HETSCHED_RETURN_IF_ERROR(validate(options));
  policies::MlpOptions mo;
  mo.layer_sizes.push_back(options.observation_size);
  for (int h : options.hidden_sizes) mo.layer_sizes.push_back(h);
  mo.layer_sizes.push_back(options.num_actions);
  mo.hidden_activation = options.hidden_activation;
  auto net = policies::Mlp::create(mo);
  if (!net.ok()) return Error(net.status().code(), "DqnOptions.hidden_sizes: " + net.status().message());
  Dqn d;
  d.options_ = options;
  d.online_ = std::move(*net);
  Rng rng(options.seed);
  init_weights(d.online_, rng);
  d.target_ = d.online_;
  auto adam = Adam::create(options.adam, d.online_.num_params());
  if (!adam.ok()) return adam.status();
  d.adam_ = std::move(*adam);
  for (MlpBackprop* b : {&d.train_, &d.next_online_, &d.next_target_}) {
    auto w = MlpBackprop::create(d.online_, options.batch_size);
    if (!w.ok()) return w.status();
    *b = std::move(*w);
  }
  d.grad_.assign(d.online_.num_params(), 0.0f);
  d.target_y_.assign(static_cast<std::size_t>(options.batch_size), 0.0f);
  d.grad_out_.assign(static_cast<std::size_t>(options.batch_size) * static_cast<std::size_t>(options.num_actions), 0.0f);
  return d;
}

bool Dqn::batch_ok(const ReplayBatch& b) const noexcept {
  if (b.size < 1 || b.size > options_.batch_size || b.size > b.max_size() ||
      b.observation_size != options_.observation_size || b.num_actions != options_.num_actions)
    return false;
  for (int i = 0; i < b.size; ++i)
    if (b.action[static_cast<std::size_t>(i)] < 0 || b.action[static_cast<std::size_t>(i)] >= options_.num_actions)
      return false;
  return true;
}

float Dqn::loss_and_gradient(const ReplayBatch& b, std::span<float> grad) noexcept {
  if (!batch_ok(b) || grad.size() != online_.num_params()) return std::numeric_limits<float>::quiet_NaN();
  const int B = b.size;
  const auto A = static_cast<std::size_t>(options_.num_actions);
  // Targets y_i from the next states (no gradient flows through them).
  const auto q_next_t = next_target_.forward(target_, b.next_obs.data(), B);
  // Double DQN decouples choosing a* (online) from evaluating it (target), which removes the
  // max-operator's overestimation bias; plain DQN does both with the target network.
  const float* q_select = options_.double_dqn ? next_online_.forward(online_, b.next_obs.data(), B).data()
                                              : q_next_t.data();
  for (int i = 0; i < B; ++i) {
    const auto si = static_cast<std::size_t>(i);
    float y = b.reward[si];
    if (b.done[si] == 0) {
      const std::span<const float> qs(q_select + si * A, A);
      const int a_star = policies::masked_argmax(qs, std::span<const std::uint8_t>(b.next_mask.data() + si * A, A));
      // Nothing allowed in s' means no action can follow: treat as terminal.
      if (a_star != policies::kNoAction) y += options_.gamma * q_next_t(a_star, i);
    }
    target_y_[si] = y;
  }
  // Online Q(s, .) with activations kept for backprop; dL/dQ is non-zero only at the taken action.
  const auto q = train_.forward(online_, b.obs.data(), B);
  std::fill_n(grad_out_.begin(), static_cast<std::size_t>(B) * A, 0.0f);
  const float delta = options_.huber_delta;
  double loss = 0.0;
  for (int i = 0; i < B; ++i) {
    const auto si = static_cast<std::size_t>(i);
    const int a = b.action[si];
    const float e = q(a, i) - target_y_[si];
    const float ae = std::fabs(e);
    loss += ae <= delta ? 0.5 * double(e) * e : double(delta) * (ae - 0.5 * double(delta));
    grad_out_[si * A + static_cast<std::size_t>(a)] = std::clamp(e, -delta, delta) / static_cast<float>(B);
  }
  train_.backward(online_, grad_out_.data(), grad);
  return static_cast<float>(loss / B);
}

float Dqn::update(const ReplayBatch& b) noexcept {
  const float loss = loss_and_gradient(b, grad_);
  // An infinite reward gives a finite (clamped) Huber gradient, but it is still garbage: refuse.
  if (!std::isfinite(loss)) return std::numeric_limits<float>::quiet_NaN();
  Eigen::Map<Eigen::VectorXf> g(grad_.data(), static_cast<Eigen::Index>(grad_.size()));
  last_grad_norm_ = g.norm();
  if (!std::isfinite(last_grad_norm_)) return std::numeric_limits<float>::quiet_NaN();  // never poison the weights
  // Clip by global norm: g <- g * min(1, c / |g|) keeps the direction, bounds the step.
  if (options_.max_grad_norm > 0.0f && last_grad_norm_ > options_.max_grad_norm) g *= options_.max_grad_norm / last_grad_norm_;
  adam_.step(online_.params(), grad_);
  ++updates_;
  if (options_.target_sync_every > 0) {
    if (updates_ % options_.target_sync_every == 0) sync_target();
  } else {
    Eigen::Map<Eigen::VectorXf> t(target_.params().data(), static_cast<Eigen::Index>(target_.num_params()));
    Eigen::Map<const Eigen::VectorXf> o(online_.params().data(), static_cast<Eigen::Index>(online_.num_params()));
    t = options_.polyak_tau * o + (1.0f - options_.polyak_tau) * t;
  }
  return loss;
}

std::span<const float> Dqn::q_values(std::span<const float> observation) noexcept { return online_.forward(observation); }

int Dqn::greedy(std::span<const float> observation, std::span<const std::uint8_t> mask) noexcept {
  const auto q = online_.forward(observation);
  return q.empty() ? policies::kNoAction : policies::masked_argmax(q, mask);
}

void Dqn::sync_target() noexcept { std::copy(online_.params().begin(), online_.params().end(), target_.params().begin()); }

std::size_t Dqn::memory_bytes() const noexcept {
  return online_.memory_bytes() + target_.memory_bytes() + adam_.memory_bytes() + train_.memory_bytes() +
         next_online_.memory_bytes() + next_target_.memory_bytes() +
         (grad_.capacity() + target_y_.capacity() + grad_out_.capacity()) * sizeof(float);
}

}  // namespace hetsched::agent
