// agent/adam: the update rule against its definition, and convergence on a quadratic.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "agent/adam.hpp"

namespace ha = hetsched::agent;

TEST(Adam, ValidatesOptions) {
  EXPECT_FALSE(ha::Adam::create({.learning_rate = 0.0f}, 3).ok());
  EXPECT_FALSE(ha::Adam::create({.beta1 = 1.0f}, 3).ok());
  EXPECT_FALSE(ha::Adam::create({.beta2 = -0.1f}, 3).ok());
  EXPECT_FALSE(ha::Adam::create({.epsilon = 0.0f}, 3).ok());
  auto z = ha::Adam::create({}, 0);
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("num_params"), std::string::npos);
}

// Step-by-step reference in double, straight from Kingma & Ba's Algorithm 1.
TEST(Adam, MatchesTheAlgorithmDefinition) {
  const ha::AdamOptions o{.learning_rate = 0.01f, .beta1 = 0.8f, .beta2 = 0.95f, .epsilon = 1e-6f};
  auto adam = ha::Adam::create(o, 3);
  ASSERT_TRUE(adam.ok());
  std::vector<float> p = {1.0f, -2.0f, 0.5f};
  std::vector<double> ref(p.begin(), p.end()), m(3, 0.0), v(3, 0.0);
  for (int t = 1; t <= 20; ++t) {
    std::vector<float> g = {std::sin(0.3f * t), 0.1f * t, -1.0f};
    ASSERT_TRUE(adam->step(p, g));
    for (std::size_t i = 0; i < 3; ++i) {
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * double(g[i]) * g[i];
      const double mh = m[i] / (1 - std::pow(double(o.beta1), t)), vh = v[i] / (1 - std::pow(double(o.beta2), t));
      ref[i] -= o.learning_rate * mh / (std::sqrt(vh) + o.epsilon);
      EXPECT_NEAR(p[i], ref[i], 1e-5) << "t=" << t << " i=" << i;
    }
  }
  EXPECT_EQ(adam->steps(), 20);
}

TEST(Adam, FirstStepMovesEachParameterByTheLearningRate) {
  auto adam = ha::Adam::create({.learning_rate = 0.1f}, 2);
  ASSERT_TRUE(adam.ok());
  std::vector<float> p = {0.0f, 0.0f};
  const std::vector<float> g = {1000.0f, -0.001f};  // scale-free: both move by ~lr
  adam->step(p, g);
  EXPECT_NEAR(p[0], -0.1f, 1e-4f);
  EXPECT_NEAR(p[1], 0.1f, 1e-3f);
}

TEST(Adam, MinimisesAnIllConditionedQuadratic) {
  // f(x) = sum_i c_i (x_i - t_i)^2 with curvatures spanning 4 decades.
  const std::vector<float> c = {1e-2f, 1.0f, 10.0f, 100.0f}, target = {3.0f, -1.0f, 0.5f, 2.0f};
  auto adam = ha::Adam::create({.learning_rate = 0.05f}, 4);
  ASSERT_TRUE(adam.ok());
  std::vector<float> x(4, 0.0f), g(4);
  for (int t = 0; t < 3000; ++t) {
    for (std::size_t i = 0; i < 4; ++i) g[i] = 2 * c[i] * (x[i] - target[i]);
    adam->step(x, g);
  }
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(x[i], target[i], 0.02) << i;
}

TEST(Adam, WrongSizesAreRefusedWithoutChange) {
  auto adam = ha::Adam::create({}, 3);
  ASSERT_TRUE(adam.ok());
  std::vector<float> p = {1, 2, 3}, g = {1, 1};
  EXPECT_FALSE(adam->step(p, g));
  EXPECT_EQ(p, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(adam->steps(), 0);
}
