// Op-level predictor (env/calib_opmodel.cpp, docs/simulator.md §10): the GPU features (per-task
// cost, image-input conv), the external prior of units profiled on one model only, and the
// prior file's validation.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "env/calib_data.hpp"
#include "env/calib_opmodel.hpp"
#include "env/csv.hpp"
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

// The shipped NPU prior: the board's own all-N single-call runs (env/models/op_prior.py), one row
// per model, each equal to what the calibration folder holds for that model in the fit split.
TEST(OpModelPrior, ShippedFileLoadsAndDropsTheHeldOutModel) {
  auto p = policies::load_platform_by_name(kDir, "rockpi_n10");
  ASSERT_TRUE(p.ok());
  auto pr = env::load_op_prior(*p, kDir, "");
  ASSERT_TRUE(pr.ok()) << pr.status().to_string();
  ASSERT_EQ(pr->count('N'), 1u);
  const auto& rows = pr->at('N');
  const std::vector<std::string> models = {"resnet50", "alexnet", "googlenet", "mobilenet_v1", "yolov3"};
  ASSERT_EQ(rows.size(), models.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].model, models[i]);
    auto m = policies::load_model_by_name(kDir, models[i]);
    ASSERT_TRUE(m.ok());
    EXPECT_NEAR(rows[i].f[0] + rows[i].f[1] + rows[i].f[2] + rows[i].f[3], m->total_macs() * 1e-9, 1e-6) << "whole-model features";
  }
  // Recompute each row from the calibration folder with the C++ split rule: task_time of the
  // all-N runs hosted by B at its top OPP (7), fit split only, averaged per model.
  const std::string calib = kDir + "/../shared/calibration/armcoup/rockpi_n10/";
  std::map<std::string, std::pair<double, int>> sum;
  std::vector<policies::ModelDesc> descs;
  for (const auto& name : models) descs.push_back(*policies::load_model_by_name(kDir, name));
  const std::vector<std::pair<std::string, std::string>> files = {
      {"eval_single_pe_ResV1_50.csv", ""}, {"eval_single_pe_Alex.csv", ""}, {"eval_single_pe_Google.csv", ""},
      {"eval_single_pe_MobileV1.csv", ""}, {"eval_single_pe_YOLOv3.csv", ""}, {"eval_switch_yolov3_npu.csv", "yolov3"}};
  for (const auto& [f, fixed] : files) {
    auto t = env::read_csv(calib + f);
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    for (size_t i = 0; i < t->rows.size(); ++i) {
      env::SwitchRow r;
      r.model = fixed.empty() ? t->at(i, t->col("graph")) : fixed;
      r.order = t->at(i, t->col("order")), r.host = t->at(i, t->col("host")), r.freq = t->at(i, t->col("freq"));
      if (r.order.empty() || r.order.find_first_not_of('N') != std::string::npos || r.host != "BB") continue;
      if (env::held_back(env::switch_key(r))) continue;
      for (const auto& m : descs) {
        if (!m.matches(r.model)) continue;
        auto c = env::switch_config(*p, m, r.order, r.freq, r.host);
        ASSERT_TRUE(c.ok()) << c.status().to_string();
        bool top = true;
        for (int b = 0; b < c->num_blocks; ++b) top = top && c->block_freq[static_cast<size_t>(b)] == 7;
        if (!top) continue;
        double v = 0;
        ASSERT_TRUE(env::parse_double(t->at(i, t->col("task_time")), &v));
        sum[m.name].first += v, sum[m.name].second += 1;
      }
    }
  }
  for (const auto& row : rows) {
    ASSERT_GT(sum[row.model].second, 0) << row.model;
    EXPECT_NEAR(row.time_ms, sum[row.model].first / sum[row.model].second, 1e-4) << row.model;
  }
  for (const char* held_out : {"mobilenet_v1", "yolov3"}) {
    auto without = env::load_op_prior(*p, kDir, held_out);
    ASSERT_TRUE(without.ok());
    ASSERT_EQ(without->at('N').size(), models.size() - 1);
    for (const auto& r : without->at('N')) EXPECT_NE(r.model, held_out) << "a fold never sees its own model";
  }
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
