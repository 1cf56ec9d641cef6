// agent/mlp_backprop and the DQN loss gradient against central finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "agent/dqn.hpp"
#include "agent/mlp_backprop.hpp"
#include "telemetry/rng.hpp"

namespace ha = hetsched::agent;
namespace hp = hetsched::policies;

namespace {

// Central difference in double around float parameters: (L(p + h) - L(p - h)) / 2h.
// With float forward passes the rounding noise is ~1e-7 * |L| / h, so h = 1e-2..1e-3 and a
// relative tolerance of a few percent separate "right" from "wrong" gradients clearly.
template <typename LossFn>
void expect_gradient_matches(std::span<float> params, std::span<const float> analytic, LossFn loss, float h,
                             double tol_abs, double tol_rel, double min_fraction = 1.0) {
  int ok = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    const float saved = params[k];
    params[k] = saved + h;
    const double lp = loss();
    params[k] = saved - h;
    const double lm = loss();
    params[k] = saved;
    const double fd = (lp - lm) / (2.0 * h);
    const bool match = std::fabs(fd - analytic[k]) <= tol_abs + tol_rel * std::fabs(fd);
    ok += match;
    if (min_fraction >= 1.0) {
      EXPECT_TRUE(match) << "param " << k << ": analytic " << analytic[k] << " vs fd " << fd;
    }
  }
  EXPECT_GE(ok, min_fraction * static_cast<double>(params.size())) << ok << " of " << params.size();
}

void check_backprop(hp::Activation act, double min_fraction) {
  auto net = hp::Mlp::create({.layer_sizes = {5, 7, 6, 4}, .hidden_activation = act,
                              .output_activation = act == hp::Activation::kRelu ? hp::Activation::kIdentity : act});
  ASSERT_TRUE(net.ok());
  hetsched::Rng rng(3);
  ha::init_weights(*net, rng);
  for (int l = 0; l < net->num_layers(); ++l)
    for (Eigen::Index i = 0; i < net->bias(l).size(); ++i) net->bias(l)(i) = rng.uniform(-0.3f, 0.3f);
  const int B = 9;
  std::vector<float> x(5 * B), c(4 * B);
  for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : c) v = rng.uniform(-1.0f, 1.0f);
  auto bp = ha::MlpBackprop::create(*net, 16);
  ASSERT_TRUE(bp.ok());
  // L = sum_ij C_ij * out_ij, so dL/d(out) = C.
  auto loss = [&] {
    const auto out = bp->forward(*net, x.data(), B);
    double s = 0;
    for (int j = 0; j < B; ++j)
      for (int i = 0; i < 4; ++i) s += double(c[static_cast<std::size_t>(j * 4 + i)]) * out(i, j);
    return s;
  };
  loss();
  std::vector<float> grad(net->num_params(), 0.0f);
  ASSERT_TRUE(bp->backward(*net, c.data(), grad));
  expect_gradient_matches(net->params(), grad, loss, 1e-3f, 2e-3, 2e-2, min_fraction);
}

}  // namespace

TEST(MlpBackprop, TanhGradientMatchesFiniteDifferences) { check_backprop(hp::Activation::kTanh, 1.0); }

// ReLU has kinks: a finite difference straddling one disagrees legitimately, so allow a few.
TEST(MlpBackprop, ReluGradientMatchesFiniteDifferences) { check_backprop(hp::Activation::kRelu, 0.97); }

TEST(MlpBackprop, BatchForwardEqualsSingleForward) {
  auto net = hp::Mlp::create({.layer_sizes = {3, 8, 2}});
  ASSERT_TRUE(net.ok());
  hetsched::Rng rng(8);
  ha::init_weights(*net, rng);
  auto bp = ha::MlpBackprop::create(*net, 4);
  ASSERT_TRUE(bp.ok());
  std::vector<float> x(3 * 4);
  for (float& v : x) v = rng.uniform(-2.0f, 2.0f);
  const auto out = bp->forward(*net, x.data(), 4);
  ASSERT_EQ(out.cols(), 4);
  for (int j = 0; j < 4; ++j) {
    const auto y = net->forward(std::span<const float>(x.data() + 3 * j, 3));
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(out(i, j), y[static_cast<std::size_t>(i)], 1e-5f);
  }
  EXPECT_EQ(bp->forward(*net, x.data(), 5).size(), 0);  // over max_batch
  std::vector<float> g(net->num_params());
  EXPECT_FALSE(bp->backward(*net, x.data(), g));        // the failed forward invalidated state
}

TEST(MlpBackprop, InitIsSeededAndScaledByFanIn) {
  auto a = hp::Mlp::create({.layer_sizes = {100, 50, 3}});
  ASSERT_TRUE(a.ok());
  auto b = *a;
  hetsched::Rng r1(5), r2(5);
  ha::init_weights(*a, r1);
  ha::init_weights(b, r2);
  EXPECT_EQ(a->checksum(), b.checksum());
  // He-uniform limit sqrt(6 / 100) for the ReLU layer.
  EXPECT_LE(a->weight(0).cwiseAbs().maxCoeff(), std::sqrt(6.0f / 100.0f));
  EXPECT_GT(a->weight(0).cwiseAbs().maxCoeff(), 0.9f * std::sqrt(6.0f / 100.0f));
}

// The whole DQN loss (Double-DQN targets, masks, terminal flags, Huber with some TD errors in
// the linear region): its gradient w.r.t. the online parameters vs finite differences.
TEST(DqnGradient, MatchesFiniteDifferencesOfTheLoss) {
  ha::DqnOptions o;
  o.observation_size = 5;
  o.num_actions = 3;
  o.hidden_sizes = {7, 6};
  o.hidden_activation = hp::Activation::kTanh;
  o.batch_size = 8;
  o.huber_delta = 0.5f;
  o.gamma = 0.9f;
  o.seed = 21;
  auto dqn = ha::Dqn::create(o);
  ASSERT_TRUE(dqn.ok());
  hetsched::Rng rng(4);
  // Move the target away from the online net so the targets are not trivially related.
  {
    auto batch = ha::ReplayBatch::make(8, 5, 3);
    batch.size = 8;
    for (float& v : batch.obs) v = rng.uniform(-1.0f, 1.0f);
    for (float& v : batch.reward) v = rng.uniform(-1.0f, 1.0f);
    for (int i = 0; i < 5; ++i) dqn->update(batch);  // target_sync_every = 100: target stays behind
    ASSERT_NE(dqn->online().checksum(), dqn->target().checksum());
  }
  auto batch = ha::ReplayBatch::make(8, 5, 3);
  batch.size = 8;
  for (float& v : batch.obs) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : batch.next_obs) v = rng.uniform(-1.0f, 1.0f);
  for (int i = 0; i < 8; ++i) {
    const auto si = static_cast<std::size_t>(i);
    batch.action[si] = i % 3;
    batch.reward[si] = rng.uniform(-2.0f, 2.0f);  // spread so some |TD error| > huber_delta
    batch.done[si] = i % 3 == 0;
    batch.next_mask[si * 3 + static_cast<std::size_t>(i % 3)] = 0;
  }
  std::vector<float> grad(dqn->online().num_params());
  const float loss0 = dqn->loss_and_gradient(batch, grad);
  ASSERT_FALSE(std::isnan(loss0));
  std::vector<float> scratch(grad.size());
  auto loss = [&] { return static_cast<double>(dqn->loss_and_gradient(batch, scratch)); };
  expect_gradient_matches(dqn->online().params(), grad, loss, 1e-3f, 2e-3, 2e-2);
}
