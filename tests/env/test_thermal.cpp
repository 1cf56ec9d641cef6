#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "env/thermal.hpp"
#include "policies/platform.hpp"

namespace hetsched::env {
namespace {

// Analytic step response of the two-node network, independently: x(t) = x_ss + V e^{Λt} V⁻¹ (x0 - x_ss).
Eigen::Vector2d analytic(const ThermalParams& p, double power_w, double t, Eigen::Vector2d x0) {
  const double rd = p.die_to_board_c_per_w, rb = p.board_to_ambient_c_per_w;
  const double cd = p.die_heat_capacity_j_per_c, cb = p.board_heat_capacity_j_per_c;
  Eigen::Matrix2d A;
  A << -1 / (cd * rd), 1 / (cd * rd), 1 / (cb * rd), -(1 / rd + 1 / rb) / cb;
  const Eigen::Vector2d B(power_w / cd, 0);
  const Eigen::Vector2d xss = -A.inverse() * B;
  Eigen::EigenSolver<Eigen::Matrix2d> es(A);
  const Eigen::Matrix2d V = es.eigenvectors().real();
  const Eigen::Vector2d l = es.eigenvalues().real();
  Eigen::Matrix2d E = Eigen::Matrix2d::Zero();
  E(0, 0) = std::exp(l(0) * t), E(1, 1) = std::exp(l(1) * t);
  return xss + V * E * V.inverse() * (x0 - xss);
}

TEST(Thermal, StepResponseMatchesAnalyticRcSolution) {
  ThermalParams p;  // 7 / 9.5 °C/W, 0.7 / 26 J/°C, 53 % of board power heats the die
  auto net = ThermalNetwork::create(p, {0.1});
  ASSERT_TRUE(net.ok());
  net->reset(25, 25);
  const double board_mw = 6000, heat_w = 0.53 * 6.0;
  for (int k = 1; k <= 6000; ++k) {
    net->tick(board_mw, 25);
    if (k % 500 == 0) {
      const Eigen::Vector2d x = analytic(p, heat_w, k * 0.1, {0, 0});
      EXPECT_NEAR(net->die_c() - 25, x(0), 1e-6) << "t=" << k * 0.1;
      EXPECT_NEAR(net->board_c() - 25, x(1), 1e-6);
    }
  }
  // After 600 s (~2 slow time constants) within a few °C of the steady state P·(R_db + R_ba).
  EXPECT_NEAR(net->steady_die_c(board_mw, 25), 25 + heat_w * 16.5, 1e-9);
  EXPECT_NEAR(net->die_c(), net->steady_die_c(board_mw, 25), 4.0);
  // The die reacts within seconds (τ_die ≈ 5 s), the board within minutes.
  net->reset(25, 25);
  for (int k = 0; k < 150; ++k) net->tick(board_mw, 25);
  EXPECT_GT(net->die_c() - 25, 0.9 * heat_w * 7.0);
  EXPECT_LT(net->board_c() - 25, 0.1 * heat_w * 9.5);
  // Ambient is an input: no power, board at ambient + 10 relaxes towards a new ambient.
  net->reset(35, 35);
  for (int k = 0; k < 20000; ++k) net->tick(0, 40);
  EXPECT_NEAR(net->die_c(), 40, 0.01);
}

TEST(Thermal, ParsesTheThermalSectionAndNamesBadFields) {
  policies::PlatformDesc pd;
  pd.name = "p";
  policies::UnitDesc u;
  u.letter = 'B';
  pd.units = {u};
  pd.zones = {{"cpu", {{70000, 2000, "passive"}}, "B"}};
  const char* good = R"({"source":"x","die_to_board_c_per_w":7,"board_to_ambient_c_per_w":9.5,
    "die_heat_capacity_j_per_c":0.7,"board_heat_capacity_j_per_c":26,"soc_heat_fraction":0.5,
    "zones":{"cpu":{"polling_passive_ms":20,"polling_idle_ms":0,"trip_units":["B"]}}})";
  auto p = parse_thermal_params(good, pd, "p.json");
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->zones[0].polling_passive_ms, 20);
  EXPECT_EQ(p->zones[0].trip_units, std::vector<std::string>{"B"});
  auto bad = [&](std::string from, std::string to) {
    std::string t = good;
    t.replace(t.find(from), from.size(), to);
    auto r = parse_thermal_params(t, pd, "p.json");
    return r.ok() ? std::string("(parsed)") : r.status().message();
  };
  EXPECT_NE(bad("\"soc_heat_fraction\":0.5", "\"soc_heat_fraction\":2").find("p.json: thermal.soc_heat_fraction"), std::string::npos);
  EXPECT_NE(bad("\"cpu\":{", "\"gpu\":{").find("thermal.zones.gpu: no such zone"), std::string::npos);
  EXPECT_NE(bad("[\"B\"]", "[\"X\"]").find("unknown unit 'X'"), std::string::npos);
  EXPECT_NE(bad("\"source\"", "\"sauce\"").find("thermal.sauce: unknown key"), std::string::npos);
  EXPECT_NE(parse_thermal_params("{}", pd, "p.json").status().message().find("empty"), std::string::npos);
}

// A platform with one zone: passive trip 70 °C (hyst 2) capping B (4 OPPs), passive 100 / idle 1000 ms.
struct GovFixture {
  policies::PlatformDesc pd;
  ThermalParams tp;
  GovFixture() {
    pd.name = "p";
    policies::UnitDesc b;
    b.letter = 'B';
    b.opps = {{1000, 0}, {2000, 0}, {3000, 0}, {4000, 0}};
    pd.units = {b};
    pd.zones = {{"cpu", {{70000, 2000, "passive"}, {95000, 0, "critical"}}, "B"}};
    tp.zones = {ZoneThermalParams{100, 1000, {}}};
  }
};

TEST(StepWise, CapsOneStepPerPollWhileRisingAndReleasesBelowHysteresis) {
  GovFixture f;
  auto g = StepWiseGovernor::create(f.pd, f.tp, {100});
  ASSERT_TRUE(g.ok());
  std::int64_t t = 0;
  auto at = [&](double temp) {
    g->evaluate(t, &temp);
    t += 100;
    return g->cap(0);
  };
  EXPECT_EQ(at(60), 3);   // below the trip: no cap; idle polling: next evaluation at 1000 ms
  for (int i = 0; i < 9; ++i) EXPECT_EQ(at(75), 3) << "idle polling must not evaluate at " << t;
  EXPECT_EQ(at(71), 2);   // t = 1000: above the trip and rising → state 1
  EXPECT_EQ(at(72), 1);   // passive polling now (100 ms): rising → one more step
  EXPECT_EQ(at(72), 1);   // stable → keep
  EXPECT_EQ(at(71), 1);   // dropping but still above the trip → keep
  EXPECT_EQ(at(73), 0);   // rising again → deepest state
  EXPECT_EQ(at(74), 0);   // clamped at the last OPP
  EXPECT_EQ(at(69), 0);   // below trip but within hysteresis (68..70): still throttling, not rising → keep
  EXPECT_EQ(at(68.5), 0);
  EXPECT_EQ(at(67.9), 1); // below trip - hyst and dropping → release one step per poll
  EXPECT_EQ(at(67.5), 2);
  EXPECT_EQ(at(67.5), 2); // stable → keep
  EXPECT_EQ(at(67), 3);
  EXPECT_FALSE(g->any_capped());
  EXPECT_EQ(at(66), 3);   // at the lower limit the instance deactivates → idle polling again
  for (int i = 0; i < 9; ++i) EXPECT_EQ(at(80), 3);
  EXPECT_EQ(at(81), 2);
}

TEST(StepWise, FirstEvaluationAboveTripThrottlesWithoutTrendAndCriticalTripsAreIgnored) {
  GovFixture f;
  f.pd.zones[0].trips[0].temp_mc = 200000;  // only the critical trip (95 °C) is low enough
  auto g = StepWiseGovernor::create(f.pd, f.tp, {100});
  ASSERT_TRUE(g.ok());
  double temp = 99;
  EXPECT_FALSE(g->evaluate(0, &temp));
  EXPECT_EQ(g->cap(0), 3);
  GovFixture h;
  auto g2 = StepWiseGovernor::create(h.pd, h.tp, {100});
  temp = 75;
  EXPECT_TRUE(g2->evaluate(0, &temp));
  EXPECT_EQ(g2->cap(0), 2);
}

}  // namespace
}  // namespace hetsched::env

namespace hetsched::env {
namespace {
// Every shipped platform has a usable thermal section whose idle steady state is plausible
// (thermal.md 3d: boards idle at 35-50 °C at room temperature).
TEST(Thermal, ShippedPlatformsHaveThermalParameters) {
  for (const auto& name : policies::list_platforms(HETSCHED_SOURCE_DIR)) {
    auto p = policies::load_platform_by_name(HETSCHED_SOURCE_DIR, name);
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    auto t = load_thermal_params(*p);
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    EXPECT_FALSE(t->source.empty()) << name;
    auto net = ThermalNetwork::create(*t, {0.1});
    ASSERT_TRUE(net.ok());
    const double idle = net->steady_die_c(3000, 25);
    EXPECT_GT(idle, 30) << name;
    EXPECT_LT(idle, 55) << name;
    EXPECT_TRUE(StepWiseGovernor::create(*p, *t, {20}).ok()) << name;
  }
}
}  // namespace
}  // namespace hetsched::env
