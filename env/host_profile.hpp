// The cost model of a host profile (`hetsched profile` output, a platform file; format in
// docs/platforms.md, "Host profiles"): what the simulator charges for a pipeline on this
// machine's CPU units, built from measurements only.
//
//   block b on unit u      = median of its timed repetitions on a thread pinned to u (no DVFS
//                            here: one OPP, the frequency it ran at; a = median, b = c = 0)
//   per stage on unit u    = stage_ms[u]: queue hand-off + input copy + wake-up, fitted on a real
//                            single-unit pipeline run: stage_ms = 1000/fps - sum of medians
//   per hand-over to a     = boundary_ms, charged to the receiving stage (it refills its caches
//   different unit           with a tensor produced on another core): fitted on real 2-unit runs
//   power, thermal         = none (no sensor on the host): power/energy are unknown, not 0
//
// predict_pipeline over these costs gives period = max_u sum over u's stages of
// (blocks + stage_ms[u] + boundary_ms if the stage receives from another unit); the fit below
// evaluates exactly that formula, so fitted and simulated periods agree by construction.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

// One real pipeline run used by the fit: the unit index of every block and the measured FPS.
struct HostPipelineRun {
  std::vector<int> unit_of_block;
  double fps = 0;
};

struct HandoverFit {
  std::array<double, policies::kMaxUnits> stage_ms{};  // per stage on unit u (0 if u had no single-unit run)
  double boundary_ms = 0;                              // per hand-over between two units
  double fit_mape_pct = 0;                             // period MAPE over the fit runs
  int runs = 0;                                        // runs used
};

// Period (ms) of a pipeline: median_ms[u][b] block medians, unit_of_block one unit index per block.
double host_period_ms(const std::vector<std::vector<double>>& median_ms, const std::vector<int>& unit_of_block,
                      const HandoverFit& fit) noexcept;

// stage_ms[u] = median over single-unit runs on u of (1000/fps - sum of medians), >= 0;
// boundary_ms minimises the mean relative period error over the multi-unit runs (1-D search
// over [0, 500] ms in 0.01 ms steps: the max() makes it non-smooth, and one parameter needs no
// more). Errors: malformed runs (wrong length, unit out of range, fps not in (0, 1e6)).
Result<HandoverFit> fit_handover(const std::vector<std::vector<double>>& median_ms,
                                 const std::vector<HostPipelineRun>& runs);

// The sections of a host profile that env::CostModel reads (for `model`, in the units' letter
// order of `units`): models.<model>.units.<L>.time/power, models.<model>.segment_ms, power
// {"model": "none"}, transfer_fit, and a thermal section that marks "no thermal model". Merged
// into the profile JSON by `hetsched profile`.
nlohmann::json host_profile_cost_sections(const std::vector<policies::UnitDesc>& units, const std::string& model,
                                          const std::vector<std::vector<double>>& median_ms, const HandoverFit& fit);

}  // namespace hetsched::env
