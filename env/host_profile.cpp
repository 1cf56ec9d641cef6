// Host-profile cost model: hand-over fit and the CostModel sections (see env/host_profile.hpp).
#include "env/host_profile.hpp"

#include <algorithm>
#include <cmath>

namespace hetsched::env {

double host_period_ms(const std::vector<std::vector<double>>& median_ms, const std::vector<int>& unit_of_block,
                      const HandoverFit& fit) noexcept {
  std::array<double, policies::kMaxUnits> busy{};
  for (size_t b = 0; b < unit_of_block.size(); ++b) {
    const int u = unit_of_block[b];
    double t = median_ms[static_cast<size_t>(u)][b];
    // Same terms, in the same places, as predict_pipeline: a new stage pays stage_ms, and a stage
    // fed by another unit pays the hand-over.
    if (b == 0 || unit_of_block[b - 1] != u) t += fit.stage_ms[static_cast<size_t>(u)];
    if (b > 0 && unit_of_block[b - 1] != u) t += fit.boundary_ms;
    busy[static_cast<size_t>(u)] += t;
  }
  return *std::max_element(busy.begin(), busy.end());
}

Result<HandoverFit> fit_handover(const std::vector<std::vector<double>>& median_ms,
                                 const std::vector<HostPipelineRun>& runs) {
  const int U = static_cast<int>(median_ms.size());
  if (U < 1 || U > policies::kMaxUnits) return Error(StatusCode::kInvalidArgument, "fit_handover: 1.." + std::to_string(policies::kMaxUnits) + " units");
  const size_t NB = median_ms[0].size();
  for (const auto& m : median_ms)
    if (m.size() != NB) return Error(StatusCode::kInvalidArgument, "fit_handover: units have different block counts");
  std::vector<std::vector<double>> single(static_cast<size_t>(U));
  std::vector<const HostPipelineRun*> multi;
  for (size_t r = 0; r < runs.size(); ++r) {
    const HostPipelineRun& run = runs[r];
    const std::string where = "fit_handover: run " + std::to_string(r);
    if (run.unit_of_block.size() != NB)
      return Error(StatusCode::kInvalidArgument, where + ": " + std::to_string(run.unit_of_block.size()) + " blocks, profile has " + std::to_string(NB));
    if (!(run.fps > 0 && run.fps < 1e6)) return Error(StatusCode::kInvalidArgument, where + ": fps " + std::to_string(run.fps) + " not in (0, 1e6)");
    for (int u : run.unit_of_block)
      if (u < 0 || u >= U) return Error(StatusCode::kInvalidArgument, where + ": unit index " + std::to_string(u) + " out of range");
    const bool one = std::all_of(run.unit_of_block.begin(), run.unit_of_block.end(), [&](int u) { return u == run.unit_of_block[0]; });
    if (one) {
      double sum = 0;
      for (size_t b = 0; b < NB; ++b) sum += median_ms[static_cast<size_t>(run.unit_of_block[0])][b];
      single[static_cast<size_t>(run.unit_of_block[0])].push_back(1000.0 / run.fps - sum);
    } else {
      multi.push_back(&run);
    }
  }
  HandoverFit fit;
  fit.runs = static_cast<int>(runs.size());
  for (int u = 0; u < U; ++u) {
    auto& v = single[static_cast<size_t>(u)];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    fit.stage_ms[static_cast<size_t>(u)] = std::max(0.0, v[v.size() / 2]);
  }
  auto mean_err = [&](const HandoverFit& f, bool multi_only) {
    double e = 0;
    int n = 0;
    for (const auto& run : runs) {
      if (multi_only && std::find(multi.begin(), multi.end(), &run) == multi.end()) continue;
      const double meas = 1000.0 / run.fps;
      e += std::abs(host_period_ms(median_ms, run.unit_of_block, f) - meas) / meas;
      ++n;
    }
    return n ? e / n : 0.0;
  };
  if (!multi.empty()) {
    double best = 1e300;
    HandoverFit f = fit;
    for (int i = 0; i <= 50000; ++i) {
      f.boundary_ms = 0.01 * i;
      const double e = mean_err(f, true);
      if (e < best - 1e-12) best = e, fit.boundary_ms = f.boundary_ms;
    }
  }
  fit.fit_mape_pct = 100.0 * mean_err(fit, false);
  return fit;
}

nlohmann::json host_profile_cost_sections(const std::vector<policies::UnitDesc>& units, const std::string& model,
                                          const std::vector<std::vector<double>>& median_ms, const HandoverFit& fit) {
  using nlohmann::json;
  json out;
  json mj;
  for (size_t u = 0; u < units.size(); ++u) {
    const std::string L(1, units[u].letter);
    json time = json::array(), power = json::array();
    for (double ms : median_ms[u]) {
      time.push_back({ms, 0.0, 0.0});
      power.push_back({0.0, 0.0, 0.0});  // no power model: see "power" below
    }
    mj["units"][L] = {{"time", time}, {"power", power}};
    mj["segment_ms"][L] = {fit.stage_ms[u], 0.0, 0.0};
  }
  out["models"][model] = mj;
  // No power sensor on the host: the cost model's power terms are all 0 and "model": "none"
  // tells every reader (PlatformDesc::power_model) that this 0 means unknown.
  out["power"] = {{"model", "none"}, {"base_mw", 0.0}, {"idle_mw", json::object()}, {"dyn_mw", json::object()}};
  out["transfer_fit"] = {{"fixed_ms", fit.boundary_ms}, {"ms_per_mb", 0.0}};
  // The simulator needs RC values to step its thermal network; with no power they never heat
  // anything, so the die stays at the scenario's ambient. Not a model of this machine.
  out["thermal"] = {{"source", "none: host profile, no thermal sensor or model (inert placeholder; temperatures stay at ambient)"},
                    {"die_to_board_c_per_w", 1.0},
                    {"board_to_ambient_c_per_w", 1.0},
                    {"die_heat_capacity_j_per_c", 1.0},
                    {"board_heat_capacity_j_per_c", 1.0},
                    {"soc_heat_fraction", 1.0}};
  return out;
}

}  // namespace hetsched::env
