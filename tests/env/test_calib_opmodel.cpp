// Op-level predictor (env/calib_opmodel.cpp, docs/simulator.md §10): the GPU features (per-task
// cost, image-input conv), the external prior of units profiled on one model only, and the
// prior file's validation.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "env/calib_opmodel.hpp"
#include "env/cost_params.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"

using namespace hetsched;

namespace {
const std::string kDir = HETSCHED_SOURCE_DIR;

double dot(const nlohmann::json& w, const std::array<double, env::kNumOpFeatures>& f) {
  double t = 0;
  for (int q = 0; q < env::kNumOpFeatures; ++q) t += w[static_cast<size_t>(q)].get<double>() * f[static_cast<size_t>(q)];
  return t;
}

env::OpSample sample(const std::string& model, int q, double x, double a) {
  env::OpSample s;
  s.model = model;
  s.f[static_cast<size_t>(q)] = x;
  s.t = {a, 0, 0};
  return s;
}
}  // namespace

TEST(OpModelFeatures, TasksAndImageInputConv) {
  auto alex = policies::load_model_by_name(kDir, "alexnet");
  ASSERT_TRUE(alex.ok());
  const auto f0 = env::block_features(*alex, 0, 1);
  const auto all = env::block_features(*alex, 0, alex->num_blocks());
  EXPECT_EQ(f0[17], 1.0) << "one task per evaluated range";
  EXPECT_EQ(all[17], 1.0) << "a whole-model range is one task too";
  // conv1: 96 x 55 x 55 outputs x 11 x 11 x 3 inputs = 0.105 G-MAC, the only image-input conv.
  EXPECT_NEAR(f0[16], 96.0 * 55 * 55 * 11 * 11 * 3 * 1e-9, 1e-6);
  EXPECT_NEAR(all[16], f0[16], 1e-12);
  EXPECT_TRUE(env::op_feature_in_set(16, env::OpFeatureSet::kGpu));
  EXPECT_TRUE(env::op_feature_in_set(17, env::OpFeatureSet::kGpu));
  EXPECT_FALSE(env::op_feature_in_set(8, env::OpFeatureSet::kGpu)) << "out_mb depends on the cut, not the work";
  EXPECT_FALSE(env::op_feature_in_set(17, env::OpFeatureSet::kArmCl));
  EXPECT_FALSE(env::op_feature_in_set(17, env::OpFeatureSet::kLegacy));
}

// One profiled model with dense convs only cannot identify the depthwise weight; the prior's
// ratio t(dense-conv row) / t(depthwise row) = 2 must then hold approximately, and with two
// profiled models the prior must not be used at all (bit-identical weights).
TEST(OpModelPrior, IdentifiesWhatOneModelCannotAndIsIgnoredWithTwo) {
  std::vector<env::OpSample> one;
  for (int i = 1; i <= 6; ++i) one.push_back(sample("dense", 0, 0.1 * i, 3.0 * 0.1 * i));
  std::vector<env::OpPriorRow> prior(2);
  prior[0].name = "dense_net", prior[0].f[0] = 1.0, prior[0].f[17] = 1, prior[0].time_ms = 20;
  prior[1].name = "dw_net", prior[1].f[1] = 0.2, prior[1].f[17] = 1, prior[1].time_ms = 10;
  const auto plain = env::fit_op_unit(policies::UnitKind::kNpu, one, nullptr);
  const auto with = env::fit_op_unit(policies::UnitKind::kNpu, one, &prior);
  EXPECT_EQ(plain["a"][1].get<double>(), 0.0) << "no depthwise work in the data: weight stays 0";
  const double r_plain = dot(plain["a"], prior[0].f) / dot(plain["a"], prior[1].f);
  const double r_with = dot(with["a"], prior[0].f) / dot(with["a"], prior[1].f);
  EXPECT_GT(std::fabs(r_plain - 2.0), 0.5) << r_plain;
  EXPECT_NEAR(r_with, 2.0, 0.2);
  EXPECT_GT(with["a"][1].get<double>(), 0.0);
  // The board groups are still fitted: the prior moves them by little.
  for (const auto& s : one) EXPECT_NEAR(dot(with["a"], s.f), s.t[0], 0.15 * s.t[0]);

  auto two = one;
  for (int i = 1; i <= 4; ++i) two.push_back(sample("other", 2, 0.05 * i, 5.0 * 0.05 * i));
  EXPECT_EQ(env::fit_op_unit(policies::UnitKind::kNpu, two, &prior).dump(),
            env::fit_op_unit(policies::UnitKind::kNpu, two, nullptr).dump());
}

TEST(OpModelPrior, ShippedFileLoadsAndDropsTheHeldOutModel) {
  auto p = policies::load_platform_by_name(kDir, "rockpi_n10");
  ASSERT_TRUE(p.ok());
  auto pr = env::load_op_prior(*p, kDir, "");
  ASSERT_TRUE(pr.ok()) << pr.status().to_string();
  ASSERT_EQ(pr->count('N'), 1u);
  const auto& rows = pr->at('N');
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].model, "resnet50");
  auto res = policies::load_model_by_name(kDir, "resnet50");
  ASSERT_TRUE(res.ok());
  EXPECT_NEAR(rows[0].f[0] + rows[0].f[1] + rows[0].f[2] + rows[0].f[3], res->total_macs() * 1e-9, 1e-6) << "whole-model features";
  EXPECT_NEAR(rows[1].f[0] + rows[1].f[1] + rows[1].f[2] + rows[1].f[3], 0.30, 0.01) << "MobileNetV2: 0.30 G-MAC";
  EXPECT_GT(rows[0].time_ms, rows[1].time_ms);
  auto without = env::load_op_prior(*p, kDir, "resnet50");
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->count('N'), 0u) << "one row left: no ratio, no prior";
  auto khadas = policies::load_platform_by_name(kDir, "khadas_vim3");
  ASSERT_TRUE(khadas.ok());
  auto none = env::load_op_prior(*khadas, kDir, "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(OpModelPrior, BadFilesNameTheField) {
  auto p = policies::load_platform_by_name(kDir, "rockpi_n10");
  ASSERT_TRUE(p.ok());
  const auto dir = std::filesystem::temp_directory_path() / ("hetsched_op_prior_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" + std::to_string(reinterpret_cast<std::uintptr_t>(&p)));
  std::filesystem::create_directories(dir / "env" / "platforms");
  std::filesystem::create_directories(dir / "env" / "models");
  std::filesystem::copy_file(kDir + "/env/models/resnet50.json", dir / "env" / "models" / "resnet50.json");
  const auto path = dir / "env" / "platforms" / "rockpi_n10.op_prior.json";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"units\": {\"N\": [{\"name\": \"a\", \"model\": \"resnet50\", \"fps\": 0}, {\"name\": \"b\", \"features\": {}, \"fps\": 1}]}}", "units.N[0].fps"},
      {"{\"units\": {\"N\": [{\"name\": \"a\", \"model\": \"resnet50\", \"fps\": 3}, {\"name\": \"b\", \"features\": {\"macs\": 1}, \"fps\": 1}]}}", "features.macs: unknown feature"},
      {"{\"units\": {\"N\": [{\"name\": \"a\", \"model\": \"resnet50\", \"fps\": 3}, {\"name\": \"b\", \"features\": {\"conv_gmac\": -1}, \"fps\": 1}]}}", "features.conv_gmac: must be >= 0"},
      {"{\"units\": {\"Q\": []}}", "units.Q: unknown unit letter"},
      {"{\"units\": {\"N\": [{\"name\": \"a\", \"model\": \"resnet50\", \"fps\": 3}]}}", ">= 2 rows"},
      {"{\"units\": {\"N\": [{\"name\": \"a\", \"model\": \"nosuchnet\", \"fps\": 3}, {\"name\": \"b\", \"features\": {}, \"fps\": 1}]}}", "units.N[0].model"},
      {"{\"units\": ", "rockpi_n10.op_prior.json"},
  };
  for (const auto& [text, expect] : cases) {
    std::ofstream(path) << text;
    auto r = env::load_op_prior(*p, dir.string(), "");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(expect), std::string::npos) << r.status().message();
  }
  std::filesystem::remove_all(dir);
}
