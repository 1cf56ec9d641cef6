// Counterfactual replay: the conditions of a recorded run re-run in the simulator under another
// policy, with the run metrics (env/metrics.hpp) of both side by side (docs/replay.md).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "env/metrics.hpp"
#include "env/scenario.hpp"
#include "env/thermal.hpp"
#include "policies/platform.hpp"
#include "tools/replay_target.hpp"

namespace hetsched::tools {

// The metrics of a recorded run recomputed from its frame records with env::MetricsAccumulator
// (per period: frames, worst latency, power x period, hottest zone, thermal cap below the top
// OPP = throttled, targets; completions assumed evenly spaced inside a period; reconfigs =
// kConfigApplied events that change the split or placement).
env::Metrics metrics_from_trace(const ReplayLoad& ld, const policies::PlatformDesc& platform, double period_s);

// Ambient temperature recovered from a trace's sensed temperatures (the hottest valid zone,
// taken as the die of the simulator's two-node network) and board power, by inverting the
// network `tp` window by window (math in counterfactual.cpp and docs/replay.md).
struct AmbientEstimate {
  bool has_temps = false;              // some frame carries a valid temperature
  double initial_c = 25;               // ambient of the first usable window (scenario initial)
  std::vector<env::ScenarioEvent> events;  // kAmbientC, on change of the quantised value
  std::vector<double> window_t_s;      // per usable window: centre time (scenario time, s)
  std::vector<double> window_c;        // per usable window: unquantised estimate (°C)
  int windows_total = 0;               // windows of the trace
  int windows_no_power = 0;            // windows skipped: a frame with no valid or modelled power
  int frames_modelled_power = 0;       // frames whose power came from config_power_mw
};
struct AmbientOptions {
  double window_s = 10;         // averaging window; >> the die time constant R_db·C_d (~5 s)
  double quantum_c = 1;         // events only when the rounded estimate changes by this step
  // Board power of a frame without a valid one, from the configuration in force (the frame's
  // `cur=`); null, no configuration recorded or a result <= 0: the frame has no power and its
  // window is skipped. run_counterfactual passes the cost model's steady-state prediction.
  std::function<double(const policies::Config&)> config_power_mw;
};
// Scenario time 0 = one period before the first frame (as scenario_from_host). No temperatures:
// has_temps = false and no events. Windows with too few frames (< 2) are skipped.
AmbientEstimate ambient_from_trace(const ReplayLoad& ld, const env::ThermalParams& tp, double period_s,
                                   const AmbientOptions& options = {});

// Observed temperatures as a condition, for a counterfactual platform without a thermal model:
// per period the hottest valid zone, rounded to quantum_c, becomes a die_temp_c event (on change,
// from the start of that period) that pins the simulated die, so trip points, peak_temp_c and
// throttled_pct follow what was sensed. Approximation: a pinned die does not respond to the
// counterfactual policy's power. Periods without a valid zone keep the last pin.
std::vector<env::ScenarioEvent> pinned_temperatures(const ReplayLoad& ld, double period_s, double quantum_c = 0.1);

// True when the platform's thermal parameters cannot reproduce a temperature (host profile:
// no power model, inert placeholder network whose source starts with "none").
bool thermal_model_inert(const policies::PlatformDesc& platform, const env::ThermalParams& tp);

// `hetsched replay TRACE --counterfactual --policy P [--observed] [--json]`; returns the exit
// code. observed: rebuild a simulated run's conditions from its telemetry as for a real run
// (slowdowns -> contention, temperatures -> ambient) instead of re-running its scenario events.
int run_counterfactual(const std::string& path, const std::string& policy, bool json, bool observed = false);

}  // namespace hetsched::tools
