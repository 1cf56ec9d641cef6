// `hetsched validate`: how well the calibrated cost model predicts every measured set of a
// platform, separately on the rows used for fitting and on the held-back rows (split:
// env/calib_data.hpp held_back()), plus a leave-one-model-out check of the op-level predictor.
#pragma once

#include <string>
#include <vector>

#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

struct ValidateOptions {
  std::string calib_dir;     // ../shared/calibration
  std::string data_dir;      // repo root
  std::string costs_path;    // "" = env/platforms/<platform>.costs.json
  size_t max_rows_per_file = 0;  // 0 = all rows (a ctest smoke run uses a small subset)
  bool leave_one_model_out = true;
};

struct SetStats {
  std::string mode;          // "pipeline" or "switch"
  std::string file;
  std::string split;         // "fit" or "held-back"
  size_t rows = 0, failed = 0;
  double mape_latency = 0, mape_fps = 0, mape_power = 0, mape_energy = 0;  // percent
  size_t power_rows = 0;     // rows with a measured power (khadas_vim3 pipelined runs have none)
  size_t anchor_rows = 0;
  double anchor_latency = 0, anchor_energy = 0;  // mean |Error_*| of the repo's own cost model (percent)
};

struct LomoStats {
  std::string model;
  char unit = '?';
  size_t points = 0;         // measured (group, frequency) points
  double mape_model_time = 0;  // whole-model time on that unit per frequency point (percent)
  double mape_block_time = 0;  // per measured group (percent)
};

struct ValidationReport {
  std::string platform;
  std::vector<SetStats> sets;
  std::vector<LomoStats> lomo;
  double profile_fit_mape = 0;  // time model a + b/f + c/f_host vs every layers_coup point (percent)
  size_t profile_points = 0;
};

Result<ValidationReport> validate_platform(const policies::PlatformDesc& platform, const ValidateOptions& options);
// Markdown (docs/validation.md) with the targets and an honest pass/miss per target.
std::string validation_markdown(const ValidationReport& r, const std::string& command);

}  // namespace hetsched::env
