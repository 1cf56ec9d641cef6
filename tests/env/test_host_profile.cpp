// Host profiles as platforms: the fixture written by `hetsched profile` (tests/env/data/README.md)
// loads as a platform, bad profiles are rejected naming file and field, the cost model and
// predict_pipeline charge exactly the measured medians and fitted hand-overs, the hand-over fit
// recovers known costs, and `hetsched sim` / `hetsched predict` run on a profile.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "env/cost_model.hpp"
#include "env/host_profile.hpp"
#include "policies/host_mapping.hpp"
#include "policies/platform.hpp"
#include "tests/tools/cli_runner.hpp"

namespace he = hetsched::env;
namespace hp = hetsched::policies;
using nlohmann::json;

namespace {

const std::string kDir = HETSCHED_SOURCE_DIR;
const std::string kFixture = kDir + "/tests/env/data/host_profile_mobilenet_v1.json";

json fixture() {
  std::ifstream in(kFixture);
  return json::parse(in);
}

// Writes a mutated fixture and returns the loader's error ("" if it loads).
std::string error_of(const std::function<void(json&)>& mutate, const std::string& name = "bad_profile.json") {
  json j = fixture();
  mutate(j);
  const std::string path = (std::filesystem::temp_directory_path() / ("hetsched_test_" + name)).string();
  std::ofstream(path) << j.dump(1);
  auto r = hp::load_platform(path);
  std::filesystem::remove(path);
  return r.ok() ? "" : r.status().message();
}

// Block medians (ms) per unit index, read from the fixture's measurement section.
std::vector<std::vector<double>> medians(const json& j) {
  std::vector<std::vector<double>> m(j["units"].size());
  for (size_t u = 0; u < m.size(); ++u)
    for (const auto& b : j["blocks"]) m[u].push_back(b["latency_us"][j["units"][u]["name"].get<std::string>()]["median"].get<double>() / 1000.0);
  return m;
}

he::CostModel::Options cost_opts() {
  he::CostModel::Options o;
  o.data_dir = kDir;
  return o;
}

he::HandoverFit fit_of(const json& j) {
  he::HandoverFit f;
  for (size_t u = 0; u < j["units"].size(); ++u)
    f.stage_ms[u] = j["handover"]["stage_ms"][j["units"][u]["name"].get<std::string>()].get<double>();
  f.boundary_ms = j["handover"]["boundary_ms"].get<double>();
  return f;
}

}  // namespace

TEST(HostProfile, FixtureLoadsAsAMeasuredPlatform) {
  auto p = hp::load_platform(kFixture);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->name, "host");
  EXPECT_TRUE(p->profiled);
  EXPECT_FALSE(p->power_model);
  EXPECT_EQ(p->costs_path, kFixture);
  ASSERT_GE(p->num_units(), 1);
  for (int u = 0; u < p->num_units(); ++u) {
    const auto& ud = p->units[static_cast<size_t>(u)];
    EXPECT_EQ(ud.letter, hp::host_unit_letter(u));
    EXPECT_EQ(ud.name, hp::host_unit_name(ud.cpu_ids.front()));
    EXPECT_EQ(ud.kind, hp::UnitKind::kCpu);
    EXPECT_EQ(ud.opps.size(), 1u);  // one OPP: the frequency it ran at
  }
  EXPECT_TRUE(p->zones.empty());
  // Board files keep the defaults.
  auto board = hp::load_platform_by_name(kDir, "rockpi_n10");
  ASSERT_TRUE(board.ok());
  EXPECT_FALSE(board->profiled);
  EXPECT_TRUE(board->power_model);
  EXPECT_TRUE(board->costs_path.empty());
}

TEST(HostProfile, PlatformArgumentAcceptsAPathAndHost) {
  auto byPath = hp::load_platform_by_name(kDir, kFixture);
  ASSERT_TRUE(byPath.ok()) << byPath.status().to_string();
  EXPECT_TRUE(byPath->profiled);
  const char* old = std::getenv("HETSCHED_HOST_PROFILE");
  const std::string saved = old ? old : "";
  ::setenv("HETSCHED_HOST_PROFILE", kFixture.c_str(), 1);
  EXPECT_EQ(hp::default_host_profile_path(kDir), kFixture);
  auto host = hp::load_platform_by_name(kDir, "host");
  ASSERT_TRUE(host.ok()) << host.status().to_string();
  EXPECT_EQ(host->source_path, kFixture);
  ::setenv("HETSCHED_HOST_PROFILE", "/nonexistent/host_profile.json", 1);
  auto missing = hp::load_platform_by_name(kDir, "host");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), hetsched::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/host_profile.json"), std::string::npos);
  EXPECT_NE(missing.status().message().find("hetsched profile"), std::string::npos);
  ::unsetenv("HETSCHED_HOST_PROFILE");
  EXPECT_EQ(hp::default_host_profile_path(kDir), kDir + "/build/host_profile.json");
  if (!saved.empty()) ::setenv("HETSCHED_HOST_PROFILE", saved.c_str(), 1);
  EXPECT_FALSE(hp::load_platform_by_name(kDir, "/nonexistent/p.json").ok());
}

TEST(HostProfile, MalformedProfilesNameFileAndField) {
  EXPECT_EQ(error_of([](json&) {}), "");
  auto has = [](const std::string& msg, const std::string& part) {
    EXPECT_NE(msg.find(part), std::string::npos) << "'" << msg << "' lacks '" << part << "'";
    EXPECT_NE(msg.find("hetsched_test_bad_profile.json"), std::string::npos) << msg;
  };
  has(error_of([](json& j) { j["blocks"][3]["latency_us"]["cpu0"]["median"] = -1; }), "blocks[3].latency_us.cpu0.median");
  has(error_of([](json& j) { j["blocks"][3]["latency_us"]["cpu0"].erase("median"); }), "blocks[3].latency_us.cpu0.median");
  has(error_of([](json& j) { j["blocks"][2]["latency_us"]["cpu7"] = {{"median", 1.0}}; }), "blocks[2].latency_us.cpu7: unknown unit");
  has(error_of([](json& j) { j["blocks"][1]["latency_us"].erase("cpu0"); }), "blocks[1].latency_us.cpu0: missing");
  has(error_of([](json& j) { j["blocks"][4]["index"] = 7; }), "blocks[4].index");
  has(error_of([](json& j) { j["blocks"] = json::array(); }), "blocks: missing");
  has(error_of([](json& j) { j["units"][0]["letter"] = "L"; }), "units[0].letter");
  has(error_of([](json& j) { j["units"][0]["name"] = "big"; }), "units[0].name");
  has(error_of([](json& j) {
        j["units"][1]["kind"] = "gpu";
        j["units"][1].erase("cpu_ids");
        j["units"][1]["hosts"] = "A";
      }),
      "units[1].kind: host profiles hold cpu units only");
  has(error_of([](json& j) { j["units"][0]["opps"][0]["freq_khz"] = 2; }), "units[0].opps[0].freq_khz");
  has(error_of([](json& j) { j["analytic"] = true; }), "analytic");
  has(error_of([](json& j) { j["format"] = "hetsched-host-profile/9"; }), "format");
  has(error_of([](json& j) { j["bogus"] = 1; }), "(top level).bogus: unknown key");
  has(error_of([](json& j) { j.erase("power"); }), "power: missing");
  has(error_of([](json& j) { j.erase("model"); }), "model");
  // Not JSON at all.
  const std::string path = (std::filesystem::temp_directory_path() / "hetsched_test_trunc_profile.json").string();
  std::ofstream(path) << "{\"format\": \"hetsched-host-profile/1\", \"units\": [";
  auto r = hp::load_platform(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("hetsched_test_trunc_profile.json: invalid JSON"), std::string::npos) << r.status().message();
}

TEST(HostProfile, CostModelErrorsNameTheProfileField) {
  json j = fixture();
  j["models"]["mobilenet_v1"]["units"]["A"]["time"][2] = "fast";
  const std::string path = (std::filesystem::temp_directory_path() / "hetsched_test_cost_profile.json").string();
  std::ofstream(path) << j.dump(1);
  auto p = hp::load_platform(path);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  auto m = hp::load_model_by_name(kDir, "mobilenet_v1");
  auto c = he::CostModel::create(*p, *m, cost_opts());
  std::filesystem::remove(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("hetsched_test_cost_profile.json: models.mobilenet_v1.units.A.time[2]"), std::string::npos)
      << c.status().message();
}

TEST(HostProfile, PredictChargesMediansStageAndHandover) {
  const json j = fixture();
  auto p = hp::load_platform(kFixture);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  auto m = hp::load_model_by_name(kDir, "mobilenet_v1");
  ASSERT_TRUE(m.ok());
  auto cost = he::CostModel::create(*p, *m, cost_opts());
  ASSERT_TRUE(cost.ok()) << cost.status().to_string();
  const auto med = medians(j);
  const he::HandoverFit fit = fit_of(j);
  const int B = m->num_blocks();
  ASSERT_EQ(static_cast<int>(med[0].size()), B);
  for (int u = 0; u < p->num_units(); ++u)
    for (int b = 0; b < B; ++b) {
      EXPECT_TRUE(cost->profiled(b, u));
      EXPECT_NEAR(cost->block_time_ms(b, u, 0, -1, 0), med[static_cast<size_t>(u)][static_cast<size_t>(b)], 1e-9);
    }
  if (p->num_units() < 2) GTEST_SKIP() << "single-unit host";
  EXPECT_NEAR(cost->transfer_ms(5, 0, 1), fit.boundary_ms, 1e-12);
  EXPECT_EQ(cost->transfer_ms(5, 1, 1), 0.0);
  // Every 2-unit split in both orders: predict_pipeline = 1000 / host_period_ms.
  for (int k = 1; k < B; ++k)
    for (int first = 0; first < 2; ++first) {
      std::vector<int> assign(static_cast<size_t>(B), 1 - first);
      std::fill(assign.begin(), assign.begin() + k, first);
      const std::string split = p->units[static_cast<size_t>(first)].name + ":" + std::to_string(k) + "," +
                                p->units[static_cast<size_t>(1 - first)].name + ":" + std::to_string(B - k);
      auto c = hp::config_from_host_split(split, *p, *m);
      ASSERT_TRUE(c.ok()) << c.status().to_string();
      auto pr = he::predict_pipeline(*cost, *c);
      ASSERT_TRUE(pr.ok()) << pr.status().to_string();
      EXPECT_NEAR(pr->fps, 1000.0 / he::host_period_ms(med, assign, fit), 1e-9) << split;
      EXPECT_EQ(pr->power_mw, 0.0);  // no power model: p->power_model is false, 0 means unknown
    }
  // A model the profile never measured cannot be predicted (no invented costs).
  auto g = hp::load_model_by_name(kDir, "googlenet");
  auto gc = he::CostModel::create(*p, *g, cost_opts());
  ASSERT_TRUE(gc.ok()) << gc.status().to_string();
  auto gcfg = hp::config_from_host_split("cpu0:" + std::to_string(g->num_blocks()), *p, *g);
  ASSERT_TRUE(gcfg.ok());
  EXPECT_FALSE(he::predict_pipeline(*gc, *gcfg).ok());
}

TEST(HostProfile, HandoverFitRecoversKnownCosts) {
  // Two units, 6 blocks; truth: stage 0.7 / 0.4 ms, boundary 0.35 ms.
  const std::vector<std::vector<double>> med = {{1, 2, 3, 1, 2, 1}, {2, 1, 1, 3, 1, 2}};
  he::HandoverFit truth;
  truth.stage_ms[0] = 0.7, truth.stage_ms[1] = 0.4, truth.boundary_ms = 0.35;
  std::vector<he::HostPipelineRun> runs;
  for (const std::vector<int>& a : {std::vector<int>{0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 1, 1, 1},
                                    {1, 1, 1, 1, 0, 0}, {1, 1, 0, 0, 0, 0}})
    runs.push_back({a, 1000.0 / he::host_period_ms(med, a, truth)});
  auto fit = he::fit_handover(med, runs);
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  EXPECT_NEAR(fit->stage_ms[0], 0.7, 1e-9);
  EXPECT_NEAR(fit->stage_ms[1], 0.4, 1e-9);
  EXPECT_NEAR(fit->boundary_ms, 0.35, 0.006);
  EXPECT_LT(fit->fit_mape_pct, 0.2);
  EXPECT_EQ(fit->runs, 5);
  // No runs: zero costs, not a failure. Malformed runs: errors naming the run.
  auto none = he::fit_handover(med, {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->boundary_ms, 0.0);
  EXPECT_NE(he::fit_handover(med, {{{0, 0, 0}, 10.0}}).status().message().find("run 0: 3 blocks"), std::string::npos);
  EXPECT_NE(he::fit_handover(med, {{{0, 0, 0, 0, 0, 2}, 10.0}}).status().message().find("run 0: unit index 2"), std::string::npos);
  EXPECT_NE(he::fit_handover(med, {{{0, 0, 0, 0, 0, 0}, 0.0}}).status().message().find("run 0: fps"), std::string::npos);
}

TEST(HostProfile, SimAndPredictCliRunOnAProfile) {
  using hetsched::testing_cli::run_cli;
  auto p = hp::load_platform(kFixture);
  ASSERT_TRUE(p.ok());
  if (p->num_units() < 2) GTEST_SKIP() << "single-unit host";
  const std::string order = std::string(14, 'A') + std::string(14, 'B');
  const auto r = run_cli("host_profile", "sim --platform '" + kFixture + "' --model mobilenet_v1 --scenario '" + kDir +
                                             "/tests/env/data/host_scenario.json' --policy static:" + order + ":AA:0,0 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["platform"], "host");
  // The scenario asks for 5 FPS: far below what either unit delivers, so the source rate is met.
  EXPECT_NEAR(j["fps_mean"].get<double>(), 5.0, 0.5) << r.out;
  EXPECT_EQ(j["dropped_frames"].get<int>(), 0);

  const std::string csv = hetsched::testing_cli::temp_path("host_profile", "configs.csv");
  std::ofstream(csv) << "order,gpu_host,npu_host,f_little_khz,f_big_khz,f_gpu_hz\n" << order << ",A,A,0,0,0\n";
  const auto pr = run_cli("host_profile", "predict --platform '" + kFixture + "' --model mobilenet_v1 --mode pipeline --configs '" +
                                              csv + "' --out -");
  ASSERT_EQ(pr.code, 0) << pr.err;
  auto m = hp::load_model_by_name(kDir, "mobilenet_v1");
  std::vector<int> assign(28, 1);
  std::fill(assign.begin(), assign.begin() + 14, 0);
  const double fps = 1000.0 / he::host_period_ms(medians(fixture()), assign, fit_of(fixture()));
  const auto line = pr.out.substr(pr.out.find('\n') + 1);
  // Columns: order,gpu_host,npu_host,f_l,f_b,f_g,pred_latency_ms,pred_fps,...
  std::vector<std::string> cols;
  size_t s = 0;
  for (size_t e; (e = line.find(',', s)) != std::string::npos; s = e + 1) cols.push_back(line.substr(s, e - s));
  ASSERT_GE(cols.size(), 8u) << pr.out;
  EXPECT_NEAR(std::stod(cols[7]), fps, fps * 1e-5) << pr.out;
  // An unknown unit letter in the order is reported in the error column, not a crash.
  std::ofstream(csv) << "order,gpu_host,npu_host,f_little_khz,f_big_khz,f_gpu_hz\n" << std::string(28, 'L') << ",A,A,0,0,0\n";
  const auto bad = run_cli("host_profile", "predict --platform '" + kFixture + "' --model mobilenet_v1 --mode pipeline --configs '" +
                                               csv + "' --out -");
  EXPECT_EQ(bad.code, 0);
  EXPECT_NE(bad.out.find("'L'"), std::string::npos) << bad.out;
}
