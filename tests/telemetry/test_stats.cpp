#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <vector>

#include "telemetry/stats.hpp"

namespace hetsched::telemetry {
namespace {

TEST(EwmaTest, RejectsBadOptions) {
  EXPECT_FALSE(Ewma::create({.half_life_ns = 0}).ok());
  EXPECT_FALSE(Ewma::create({.half_life_ns = 10, .min_alpha = 1.0}).ok());
  EXPECT_FALSE(Ewma::create({.half_life_ns = 10, .min_alpha = -0.1}).ok());
}

TEST(EwmaTest, HalfLifeMeansHalfWeight) {
  auto e = Ewma::create({.half_life_ns = 1000});
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
  e->update(0, 0.0);
  EXPECT_EQ(e->value(), 0.0);
  e->update(1000, 100.0);  // one half-life later: old average keeps weight 1/2
  EXPECT_NEAR(e->value(), 50.0, 1e-9);
  e->update(3000, 100.0);  // two more half-lives: distance to 100 shrinks by 4
  EXPECT_NEAR(e->value(), 100.0 - 50.0 / 4, 1e-9);
}

TEST(EwmaTest, DecayDependsOnElapsedTimeNotSampleCount) {
  auto a = Ewma::create({.half_life_ns = 5000});
  auto b = Ewma::create({.half_life_ns = 5000});
  a->update(0, 10.0);
  b->update(0, 10.0);
  a->update(4000, 20.0);
  for (int t = 400; t <= 4000; t += 400) b->update(t, 20.0);  // 10 samples over the same span
  EXPECT_NEAR(a->value(), b->value(), 1e-9);
}

TEST(EwmaTest, MatchesNaiveReferenceOnRandomData) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> val(-100, 100);
  std::uniform_int_distribution<std::int64_t> gap(0, 3'000'000);
  const std::int64_t h = 1'000'000;
  auto e = Ewma::create({.half_life_ns = h});
  ASSERT_TRUE(e.ok());
  // Reference: the closed form avg_n = sum_i w_i x_i / ..., built step by step with pow().
  double ref = 0;
  bool have = false;
  std::int64_t t = 0, last = 0;
  for (int i = 0; i < 5000; ++i) {
    t += gap(rng);
    const double x = val(rng);
    e->update(t, x);
    if (!have) {
      ref = x, have = true, last = t;
    } else {
      const double alpha = 1.0 - std::pow(2.0, -static_cast<double>(t - last) / h);
      ref = alpha * x + (1 - alpha) * ref;
      last = t;
    }
    ASSERT_NEAR(e->value(), ref, 1e-9 * (1 + std::abs(ref))) << "at sample " << i;
  }
}

TEST(EwmaTest, SameTimestampUsesMinAlpha) {
  auto pure = Ewma::create({.half_life_ns = 1000});
  pure->update(5, 1.0);
  pure->update(5, 100.0);
  EXPECT_EQ(pure->value(), 1.0);  // dt = 0: alpha = 0 by the formula
  auto floor = Ewma::create({.half_life_ns = 1000, .min_alpha = 0.5});
  floor->update(5, 0.0);
  floor->update(5, 100.0);
  EXPECT_NEAR(floor->value(), 50.0, 1e-12);
  floor->update(1, 100.0);  // out of order: does not move last_t_ns back
  EXPECT_EQ(floor->last_t_ns(), 5);
}

TEST(EwmaTest, ExtremeTimeJumpIsAFullReplacementNotUB) {
  auto e = Ewma::create({.half_life_ns = 1000});
  e->update(INT64_MIN, 5.0);
  e->update(INT64_MAX, 7.0);  // dt saturates to INT64_MAX: alpha = 1 - 2^-huge = 1
  EXPECT_EQ(e->value(), 7.0);
}

double naive_percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * v.size() / 100.0));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

TEST(WindowPercentilesTest, RejectsBadWindow) {
  EXPECT_FALSE(WindowPercentiles::create({.window = 0}).ok());
}

TEST(WindowPercentilesTest, SmallExactCases) {
  auto w = WindowPercentiles::create({.window = 4});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->percentile(50), 0.0);  // empty
  for (double x : {10.0, 20.0, 30.0, 40.0}) w->push(x);
  EXPECT_EQ(w->percentile(50), 20.0);   // rank ceil(2) = 2
  EXPECT_EQ(w->percentile(95), 40.0);   // rank ceil(3.8) = 4
  EXPECT_EQ(w->percentile(0), 10.0);
  EXPECT_EQ(w->percentile(100), 40.0);
  w->push(50.0);  // evicts 10
  EXPECT_EQ(w->size(), 4u);
  EXPECT_EQ(w->percentile(0), 20.0);
  w->push(std::nan(""));  // ignored
  EXPECT_EQ(w->size(), 4u);
  EXPECT_EQ(w->percentile(0), 20.0);
}

TEST(WindowPercentilesTest, MatchesSortReferenceOnRandomData) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> lat(8.0, 0.5);  // latency-like, heavy right tail
  for (std::size_t window : {1u, 7u, 100u, 257u}) {
    auto w = WindowPercentiles::create({.window = window});
    ASSERT_TRUE(w.ok());
    std::deque<double> ref;
    for (int i = 0; i < 2000; ++i) {
      const double x = lat(rng);
      w->push(x);
      ref.push_back(x);
      if (ref.size() > window) ref.pop_front();
      if (i % 13 == 0) {
        const std::vector<double> v(ref.begin(), ref.end());
        for (double p : {50.0, 95.0, 99.0, 0.0, 100.0, 33.3})
          ASSERT_EQ(w->percentile(p), naive_percentile(v, p)) << "window " << window << " i " << i << " p" << p;
      }
    }
  }
}

}  // namespace
}  // namespace hetsched::telemetry
