// `hetsched calibrate`: derives env/platforms/<platform>.costs.json from the measured tables in
// ../shared/calibration. Steps (docs/platforms.md, "Derived costs"):
//   1. per (model, unit, group) time t = a + b/f + c/f_host and power p0 + p1 fV^2 + p2 fV^2_host
//      (least squares over every frequency of layers_coup.csv; NPU time = run_get + fill_tensor);
//   2. input stage per CPU cluster (Metric "in" rows), transfers (transfers_layer_boundary.csv,
//      de-duplicated) and a bytes-based transfer fallback;
//   3. op-level efficiencies per unit (non-negative least squares of a, b, c on op features);
//   4. pipeline-mode correction per (model, unit) and the board power model (idle per OPP +
//      dynamic per OPP x utilisation), fitted on the pipeline rows NOT held back;
//   5. switch-mode scale per unit and per-block overhead, fitted on the switch rows not held back.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

struct CalibOptions {
  std::string calib_dir;      // ../shared/calibration
  std::string data_dir;       // repo root (env/models, env/platforms)
  std::string exclude_model;  // leave-one-model-out: fit the op-level model without this model
  bool system_fits = true;    // steps 4-5 (need the cost model; off for the LOMO refits)
};

// Per-group measurement summary used by the leave-one-model-out check.
struct GroupProfile {
  std::string model;  // canonical name
  char unit = '?';
  int group = 0, groups = 0;
  std::vector<int> opp, host_opp;  // one per measured point
  std::vector<double> time_ms, power_mw;
};

Result<nlohmann::json> calibrate(const policies::PlatformDesc& platform, const CalibOptions& options,
                                 std::vector<GroupProfile>* profiles = nullptr);

}  // namespace hetsched::env
