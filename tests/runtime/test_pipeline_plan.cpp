// Plans (text form, validation) and the min-max balancer against brute force.
#include <gtest/gtest.h>

#include <random>

#include "runtime/pipeline_plan.hpp"

namespace hetsched::runtime {
namespace {

TEST(PipelinePlan, ParseFormatRoundTripAndErrors) {
  const std::vector<std::string> names{"cpu0", "cpu1"};
  auto p = parse_plan("cpu0:20,cpu1:8", names, 28);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->num_stages, 2);
  EXPECT_EQ(p->stages[1].unit, 1);
  EXPECT_EQ(p->stages[1].first_block, 20);
  EXPECT_EQ(format_plan(*p, names), "cpu0:20,cpu1:8");
  EXPECT_NE(parse_plan("cpu0:20,cpu1:7", names, 28).status().message().find("cover 27"), std::string::npos);
  EXPECT_NE(parse_plan("cpu9:28", names, 28).status().message().find("unknown unit 'cpu9'"), std::string::npos);
  EXPECT_FALSE(parse_plan("cpu0:x", names, 28).ok());
  EXPECT_FALSE(parse_plan("cpu0:0,cpu1:28", names, 28).ok());
  EXPECT_FALSE(parse_plan("", names, 28).ok());
  EXPECT_FALSE(parse_plan("cpu0", names, 28).ok());
}

TEST(PipelinePlan, FromAssignmentGroupsRuns) {
  auto p = plan_from_assignment({0, 0, 1, 1, 1, 0}, 2);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->num_stages, 3);
  EXPECT_EQ(p->stages[2].first_block, 5);
  EXPECT_FALSE(plan_from_assignment({0, 2}, 2).ok());
}

// Brute force over all two-stage orders and cuts (and single-unit plans).
double brute(const std::vector<double>& cost, int blocks, double ho, bool all) {
  double best = 1e300;
  for (int first = 0; first < 2; ++first)
    for (int cut = all ? 1 : 0; cut <= (all ? blocks - 1 : blocks); ++cut) {
      double a = 0, b = 0;
      for (int i = 0; i < cut; ++i) a += cost[static_cast<size_t>(first * kMaxPipelineBlocks + i)];
      for (int i = cut; i < blocks; ++i) b += cost[static_cast<size_t>((1 - first) * kMaxPipelineBlocks + i)];
      const double v = std::max(cut > 0 ? a + ho : 0.0, cut < blocks ? b + ho : 0.0);
      best = std::min(best, v);
    }
  return best;
}

TEST(Balancer, MatchesBruteForceOnRandomCosts) {
  std::mt19937 rng(11);
  auto bal = std::make_unique<Balancer>();
  for (int trial = 0; trial < 200; ++trial) {
    const int blocks = std::uniform_int_distribution<int>(2, 30)(rng);
    std::vector<double> cost(2 * kMaxPipelineBlocks, 0.0);
    const double slow = std::uniform_real_distribution<double>(0.3, 3)(rng);
    for (int b = 0; b < blocks; ++b) {
      cost[static_cast<size_t>(b)] = std::uniform_real_distribution<double>(100, 3000)(rng);
      cost[static_cast<size_t>(kMaxPipelineBlocks + b)] = cost[static_cast<size_t>(b)] * slow;
    }
    const bool all = trial % 2 == 0;
    const auto r = bal->balance(cost.data(), 2, blocks, 50, all);
    ASSERT_TRUE(validate_plan(r.plan, blocks, 2).ok());
    EXPECT_NEAR(r.bottleneck_us, brute(cost, blocks, 50, all), 1e-6) << "trial " << trial;
    EXPECT_NEAR(Balancer::bottleneck_us(r.plan, cost.data(), 50), r.bottleneck_us, 1e-6);
    if (all) {
      EXPECT_EQ(r.plan.num_stages, 2);
    }
  }
}

TEST(Balancer, SlowerUnitGetsFewerBlocks) {
  auto bal = std::make_unique<Balancer>();
  std::vector<double> cost(3 * kMaxPipelineBlocks, 0.0);
  for (int b = 0; b < 30; ++b) {
    cost[static_cast<size_t>(b)] = 1000;                           // unit 0
    cost[static_cast<size_t>(kMaxPipelineBlocks + b)] = 2000;      // unit 1: twice as slow
    cost[static_cast<size_t>(2 * kMaxPipelineBlocks + b)] = 1000;  // unit 2
  }
  const auto r2 = bal->balance(cost.data(), 2, 30, 0, true);
  int on_fast = 0;
  for (int s = 0; s < r2.plan.num_stages; ++s)
    if (r2.plan.stages[static_cast<size_t>(s)].unit == 0)
      on_fast += r2.plan.stages[static_cast<size_t>(s)].end_block - r2.plan.stages[static_cast<size_t>(s)].first_block;
  EXPECT_EQ(on_fast, 20);  // 20 x 1000 = 10 x 2000
  EXPECT_DOUBLE_EQ(r2.bottleneck_us, 20000);
  const auto r3 = bal->balance(cost.data(), 3, 30, 0, true);  // 3 units: 12/12/6 -> 12000
  EXPECT_DOUBLE_EQ(r3.bottleneck_us, 12000);
  EXPECT_EQ(r3.plan.num_stages, 3);
  // A unit too slow to help is left idle when allowed, and kept with one (cheapest) block when not.
  std::vector<double> tiny(2 * kMaxPipelineBlocks, 0.0);
  tiny[0] = tiny[1] = 10;
  tiny[kMaxPipelineBlocks] = 1000, tiny[kMaxPipelineBlocks + 1] = 900;
  EXPECT_EQ(bal->balance(tiny.data(), 2, 2, 100, false).plan.num_stages, 1);
  EXPECT_DOUBLE_EQ(bal->balance(tiny.data(), 2, 2, 100, false).bottleneck_us, 120);
  EXPECT_DOUBLE_EQ(bal->balance(tiny.data(), 2, 2, 100, true).bottleneck_us, 1000);
}

}  // namespace
}  // namespace hetsched::runtime
