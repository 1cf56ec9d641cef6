// policies/mlp + policies/policy.hpp: creation checks, forward() against a hand computation,
// masked argmax rules, MlpPolicy never returning a masked action.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "policies/mlp.hpp"
#include "policies/policy.hpp"

namespace hp = hetsched::policies;

namespace {

hp::Mlp make(std::vector<int> sizes, hp::Activation hidden = hp::Activation::kRelu) {
  auto m = hp::Mlp::create({.layer_sizes = std::move(sizes), .hidden_activation = hidden});
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return std::move(m).value();
}

// Deterministic pseudo-random fill in [-1, 1) (no RNG dependency from agent/).
void fill(hp::Mlp& m, unsigned seed) {
  std::uint32_t s = seed * 2654435761u + 1;
  for (float& p : m.params()) {
    s = s * 1664525u + 1013904223u;
    p = static_cast<float>(s >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
}

}  // namespace

TEST(Mlp, CreateRejectsBadShapesNamingTheField) {
  auto r = hp::Mlp::create({.layer_sizes = {4}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("layer_sizes"), std::string::npos) << r.status().message();
  r = hp::Mlp::create({.layer_sizes = {4, 0, 3}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("layer_sizes[1]"), std::string::npos) << r.status().message();
  r = hp::Mlp::create({.layer_sizes = {4, hp::kMlpMaxWidth + 1}});
  EXPECT_FALSE(r.ok());
  r = hp::Mlp::create({.layer_sizes = std::vector<int>(hp::kMlpMaxLayers + 2, 3)});
  EXPECT_FALSE(r.ok());
  r = hp::Mlp::create({.layer_sizes = {2, 3}, .hidden_activation = static_cast<hp::Activation>(9)});
  EXPECT_FALSE(r.ok());
}

TEST(Mlp, ParameterLayoutAndCount) {
  auto m = make({3, 5, 2});
  EXPECT_EQ(m.num_layers(), 2);
  EXPECT_EQ(m.num_params(), static_cast<std::size_t>(3 * 5 + 5 + 5 * 2 + 2));
  EXPECT_EQ(m.weight_offset(0), 0u);
  EXPECT_EQ(m.bias_offset(0), 15u);
  EXPECT_EQ(m.weight_offset(1), 20u);
  EXPECT_EQ(m.bias_offset(1), 30u);
  m.weight(1)(1, 4) = 7.0f;  // column-major: element (row 1, col 4) at 4 * 2 + 1
  EXPECT_EQ(m.params()[20 + 9], 7.0f);
}

TEST(Mlp, ForwardMatchesHandComputation) {
  for (auto act : {hp::Activation::kRelu, hp::Activation::kTanh, hp::Activation::kIdentity}) {
    auto m = make({4, 6, 5, 3}, act);
    fill(m, 3);
    const std::vector<float> x = {0.5f, -1.0f, 2.0f, 0.25f};
    // Reference in double, straight from the definition a_{l+1} = act(W a + b).
    std::vector<double> a(x.begin(), x.end());
    for (int l = 0; l < m.num_layers(); ++l) {
      std::vector<double> z(static_cast<std::size_t>(m.layer_out(l)));
      for (int i = 0; i < m.layer_out(l); ++i) {
        double s = m.bias(l)(i);
        for (int j = 0; j < m.layer_in(l); ++j) s += double(m.weight(l)(i, j)) * a[static_cast<std::size_t>(j)];
        if (l + 1 < m.num_layers()) {
          if (act == hp::Activation::kRelu) s = std::max(s, 0.0);
          if (act == hp::Activation::kTanh) s = std::tanh(s);
        }
        z[static_cast<std::size_t>(i)] = s;
      }
      a = z;
    }
    const auto y = m.forward(x);
    ASSERT_EQ(y.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(y[i], a[i], 1e-4 * (1 + std::fabs(a[i]))) << hp::activation_name(act);
  }
}

TEST(Mlp, ForwardRefusesWrongInputSize) {
  auto m = make({4, 3});
  const std::vector<float> x(5, 1.0f);
  EXPECT_TRUE(m.forward(x).empty());
  EXPECT_TRUE(hp::Mlp().forward(x).empty());
}

TEST(Mlp, ChecksumChangesWithAnyWeightOrShape) {
  auto a = make({3, 4, 2});
  fill(a, 1);
  auto b = a;
  EXPECT_EQ(a.checksum(), b.checksum());
  b.params()[7] = std::nextafter(b.params()[7], 10.0f);
  EXPECT_NE(a.checksum(), b.checksum());
  auto c = make({3, 4, 2}, hp::Activation::kTanh);
  std::copy(a.params().begin(), a.params().end(), c.params().begin());
  EXPECT_NE(a.checksum(), c.checksum());
}

TEST(MaskedArgmax, PicksBestAllowedAndNeverAMaskedOne) {
  const std::vector<float> q = {1.0f, 5.0f, 3.0f, 4.0f};
  EXPECT_EQ(hp::masked_argmax(q, {}), 1);
  const std::vector<std::uint8_t> m1 = {1, 0, 1, 1};
  EXPECT_EQ(hp::masked_argmax(q, m1), 3);
  const std::vector<std::uint8_t> m2 = {1, 0, 0, 0};
  EXPECT_EQ(hp::masked_argmax(q, m2), 0);
  const std::vector<std::uint8_t> none = {0, 0, 0, 0};
  EXPECT_EQ(hp::masked_argmax(q, none), hp::kNoAction);
  const std::vector<std::uint8_t> short_mask = {1, 1};
  EXPECT_EQ(hp::masked_argmax(q, short_mask), hp::kNoAction);
  EXPECT_EQ(hp::masked_argmax({}, {}), hp::kNoAction);
  const std::vector<float> ties = {2.0f, 2.0f, 2.0f};
  EXPECT_EQ(hp::masked_argmax(ties, {}), 0);
}

TEST(MaskedArgmax, NanNeverBeatsANumber) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> q = {nan, -3.0f, nan, -5.0f};
  EXPECT_EQ(hp::masked_argmax(q, {}), 1);
  const std::vector<std::uint8_t> m = {1, 0, 1, 0};
  EXPECT_EQ(hp::masked_argmax(q, m), 0);  // all allowed are NaN: lowest allowed, still legal
  const std::vector<float> inf = {-std::numeric_limits<float>::infinity(), nan};
  EXPECT_EQ(hp::masked_argmax(inf, {}), 0);
}

TEST(MlpPolicy, DecideIsMaskedArgmaxOfTheNetwork) {
  auto m = make({6, 16, 8});
  fill(m, 11);
  auto reference = m;
  hp::MlpPolicy p(std::move(m), "test");
  EXPECT_EQ(p.name(), "test");
  EXPECT_EQ(p.observation_size(), 6);
  EXPECT_EQ(p.num_actions(), 8);
  EXPECT_EQ(p.checksum(), reference.checksum());
  std::uint32_t s = 5;
  int masked_best_seen = 0;
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<float> obs(6);
    for (float& o : obs) o = static_cast<float>((s = s * 1664525u + 1013904223u) >> 16) / 32768.0f - 1.0f;
    std::vector<std::uint8_t> mask(8);
    for (auto& b : mask) b = ((s = s * 1664525u + 1013904223u) >> 20) & 1;
    const auto q = reference.forward(obs);
    const int a = p.decide(obs, mask);
    if (std::count(mask.begin(), mask.end(), 0) == 8) {
      EXPECT_EQ(a, hp::kNoAction);
      continue;
    }
    ASSERT_GE(a, 0);
    ASSERT_TRUE(mask[static_cast<std::size_t>(a)]) << "masked action " << a;
    EXPECT_EQ(a, hp::masked_argmax(q, mask));
    if (hp::masked_argmax(q, {}) != a) ++masked_best_seen;  // the unmasked best was forbidden
  }
  EXPECT_GT(masked_best_seen, 50);  // the mask really mattered in this test
  EXPECT_EQ(p.decide(std::vector<float>(5, 0.0f), {}), hp::kNoAction);
  EXPECT_EQ(p.decide(std::vector<float>(6, 0.0f), std::vector<std::uint8_t>(7, 1)), hp::kNoAction);
}
