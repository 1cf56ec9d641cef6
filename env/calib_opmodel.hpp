// Step 3 of `hetsched calibrate`: the op-level predictor (docs/simulator.md §10). For every unit,
// non-negative weights per op-level feature for each of a, b, c of the block time model, fitted on
// the profiled groups of every model except CalibOptions::exclude_model; a unit whose profiles
// cover a single model also gets the external shrinkage prior of <platform>.op_prior.json.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "env/cost_params.hpp"
#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

// One profiled group: its model, op-level features and fitted time coefficients (a, b, c).
struct OpSample {
  std::string model;
  std::array<double, kNumOpFeatures> f{};
  std::array<double, 3> t{};
};

// One whole-model run of the external prior: features and measured time (only ratios between
// the rows of a unit are used, so a different runtime or clock of the source cancels out).
struct OpPriorRow {
  std::string name;   // where the row comes from (rockpi_n10: "all-N single call, <file>:<line>")
  std::string model;  // our model file it was taken from ("" = features given in the file)
  std::array<double, kNumOpFeatures> f{};
  double time_ms = 0;
};
using OpPrior = std::map<char, std::vector<OpPriorRow>>;  // unit letter -> rows

// Reads <data_dir>/env/platforms/<platform>.op_prior.json (a missing file = no prior). Rows of
// `exclude_model` are dropped: a leave-one-model-out fold never sees the held-out model.
Result<OpPrior> load_op_prior(const policies::PlatformDesc& p, const std::string& data_dir,
                              const std::string& exclude_model);

// {feature_set, a, b, c} of one unit (kNumOpFeatures weights each; unused features are 0).
// `prior` (may be null or empty) is used only when the samples cover fewer than 2 models.
nlohmann::json fit_op_unit(policies::UnitKind kind, const std::vector<OpSample>& samples,
                           const std::vector<OpPriorRow>* prior);

}  // namespace hetsched::env
