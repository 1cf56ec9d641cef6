// Whole-inference fits of `hetsched calibrate` (steps 4-5) and helpers shared with validate.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "env/calib_fit.hpp"
#include "env/cost_model.hpp"

namespace hetsched::env {

// Least squares with optional non-negativity (small active-set NNLS; env/calib_fit.cpp).
Eigen::VectorXd lsq(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, bool nonneg, double ridge = 1e-9);

// Loads each model once and builds its CostModel against one costs file.
class CostModelCache {
 public:
  CostModelCache(const policies::PlatformDesc& p, std::string data_dir, std::string costs_path);
  Result<const CostModel*> get(const std::string& model_name);

 private:
  const policies::PlatformDesc& p_;
  std::string data_dir_, costs_path_;
  std::map<std::string, std::unique_ptr<CostModel>> cache_;
};

struct SimParams;
struct PipelineRow;
// Step 4a (env/calib_pipeline.cpp): per-model corrections from all pipeline fit rows.
Status fit_pipeline_joint(const policies::PlatformDesc& p, const SimParams& sim, const std::vector<PipelineRow>& rows,
                          const CalibOptions& o, const std::string& raw_costs, nlohmann::json* costs, std::string* log);

// env/calib_analytic.cpp: EM power from the platform's priors, and costs of an analytic platform.
nlohmann::json power_from_priors(const policies::PlatformDesc& p, const SimParams& s);
Result<nlohmann::json> calibrate_analytic(const policies::PlatformDesc& p, const CalibOptions& o,
                                          const nlohmann::json& analytic_from);

// Adds "pipeline_correction", "power" and "switch" to costs (fit split only).
Status fit_system(const policies::PlatformDesc& p, const CalibOptions& o, nlohmann::json* costs);

}  // namespace hetsched::env
