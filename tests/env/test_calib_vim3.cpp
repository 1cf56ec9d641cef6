// khadas_vim3: the ParaPipe runs measured both pipelined (pipelinetime) and serially
// (total_time, total_e) are read as pipeline and switch rows, fitted on the fit split only and
// validated on both splits; the costs file names them as sources.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "env/calib_data.hpp"
#include "env/validate.hpp"
#include "policies/platform.hpp"

namespace hetsched {
namespace {

const std::string kDir = HETSCHED_SOURCE_DIR;
const std::string kCalib = kDir + "/../shared/calibration";

TEST(CalibVim3, ParaPipeRunsAreReadBothWays) {
  auto prow = env::read_pipeline_rows(kCalib, "khadas_vim3");
  ASSERT_TRUE(prow.ok()) << prow.status().message();
  auto srow = env::read_switch_rows(kCalib, "khadas_vim3");
  ASSERT_TRUE(srow.ok()) << srow.status().message();
  // eval_profiling2_Alex.csv, GGBBBGGG: pipelinetime 48.4004 ms, total_time 100.844 ms.
  bool found_p = false, found_s = false;
  for (const auto& r : *prow) {
    EXPECT_TRUE(std::isnan(r.power_mw)) << "no pipelined power was measured on the VIM3";
    if (r.file == "eval_profiling2_Alex.csv" && r.order == "GGBBBGGG") {
      found_p = true;
      EXPECT_NEAR(r.fps, 1000.0 / 48.4004, 1e-9);
      EXPECT_NEAR(r.latency_ms, 100.844, 1e-9);
      EXPECT_EQ(r.gpu_host, 'B');
      EXPECT_EQ(r.f_big_khz, 0) << "0 = top OPP";
    }
  }
  for (const auto& r : *srow)
    if (r.file == "eval_profiling2_Alex.csv" && r.order == "GGBBBGGG") {
      found_s = true;
      EXPECT_NEAR(r.total_ms, 100.844, 1e-9);
      EXPECT_GT(r.energy_mj, 0);
    }
  EXPECT_TRUE(found_p && found_s);
}

TEST(CalibVim3, ValidateReportsFitAndHeldBackWithoutPipelinedPower) {
  auto p = policies::load_platform_by_name(kDir, "khadas_vim3");
  ASSERT_TRUE(p.ok());
  env::ValidateOptions o;
  o.calib_dir = kCalib;
  o.data_dir = kDir;
  o.leave_one_model_out = false;
  auto r = env::validate_platform(*p, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  size_t fit = 0, held = 0;
  for (const auto& s : r->sets) {
    EXPECT_GT(s.rows, 0u) << s.file << ": networks without a model file are skipped, not listed empty";
    EXPECT_EQ(s.failed, 0u) << s.file;
    if (s.mode != "pipeline") continue;
    EXPECT_EQ(s.power_rows, 0u);
    (s.split == "fit" ? fit : held) += s.rows;
    EXPECT_LT(s.mape_fps, 40) << s.file << " " << s.split;
  }
  EXPECT_GT(fit, 0u);
  EXPECT_GT(held, 0u);
  // The costs file names the runs it was fitted on.
  std::ifstream in(kDir + "/env/platforms/khadas_vim3.costs.json");
  const auto j = nlohmann::json::parse(in);
  bool named = false;
  for (const auto& s : j.at("sources")) named = named || s.get<std::string>().find("eval_profiling2_Alex.csv") != std::string::npos;
  EXPECT_TRUE(named);
  EXPECT_TRUE(j.at("models").at("alexnet").contains("pipeline_correction"));
}

}  // namespace
}  // namespace hetsched
