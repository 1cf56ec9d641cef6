// Scenarios: what happens to the world during a simulated run (background load, contention,
// target changes, ambient temperature, units going offline). A scenario is a JSON file with
// exactly the keys documented in docs/simulator.md; anything else is an error naming the file,
// the event index and the key, so hand-written scenarios fail loudly instead of silently.
//
// A scenario knows nothing about thermal state: conditions_at() gives the scenario's part of
// env::Conditions (slowdowns, background utilisation, online flags, targets, ambient); the
// simulator adds the thermal caps and the die temperature.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "env/conditions.hpp"
#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

enum class EventType : std::uint8_t {
  kBackgroundLoad,  // unit, cores, util: other processes take `cores` cores at `util`
  kContention,      // unit, slowdown: memory/bus/GPU contention stretches block times
  kTargetFps,       // value (0 = as fast as possible)
  kMaxLatencyMs,    // value (null = no bound)
  kAmbientC,        // value
  kUnitOffline,     // unit: no block may run there while active
  kPowerBudgetMw,   // value (null = no budget)
  kDieTempC,        // value: the die (every zone) is held at this temperature while active; the
                    // thermal network stops integrating (counterfactuals of runs whose platform
                    // has no thermal model: observed temperatures as a condition)
};
const char* event_type_name(EventType t) noexcept;

struct ScenarioEvent {
  double t_s = 0;              // start time
  EventType type = EventType::kTargetFps;
  char unit = 0;               // background_load, contention, unit_offline
  int cores = 0;               // background_load: cores taken
  double util = 0;             // background_load: utilisation of those cores in [0,1]
  double slowdown = 1;         // contention: factor >= 1 on block times
  double value = 0;            // value events; 0 encodes null for max_latency_ms / power_budget_mw
  double duration_s = -1;      // < 0: lasts until the end of the scenario
  double end_s() const noexcept { return duration_s < 0 ? 1e300 : t_s + duration_s; }
};

struct ScenarioInitial {
  double ambient_c = 25;       // °C
  double target_fps = 0;       // 0 = as fast as possible
  double max_latency_ms = 0;   // 0 = no bound (JSON null)
  double power_budget_mw = 0;  // 0 = no budget (JSON null)
};

struct Scenario {
  std::string name;
  std::string source_path;     // file it was loaded from ("" when parsed from text)
  std::string platform;        // optional default platform ("" = none)
  std::string model;           // optional default model ("" = none)
  double duration_s = 0;
  double decision_period_ms = 100;
  ScenarioInitial initial;
  std::vector<ScenarioEvent> events;  // sorted by t_s (stable: file order breaks ties)
};

// Parses scenario JSON text; `source` names the file in error messages.
Result<Scenario> parse_scenario(const std::string& json_text, const std::string& source);
Result<Scenario> load_scenario(const std::string& path);
// The scenario files of a directory: its *.json (not recursive), sorted by path, so a suite
// is read in the same order everywhere (training draws, evaluation tables). A missing or
// unreadable directory gives none.
std::vector<std::string> scenario_files(const std::string& dir);
// Platform-dependent checks: unit letters exist, cores <= the unit's cores.
Status validate_scenario(const Scenario& scenario, const policies::PlatformDesc& platform);

// The scenario's part of the Conditions at time t_s (no thermal caps; die_temp_c = ambient).
// Overlapping events compose: background loads add their utilisation (capped at 1),
// contention slowdowns multiply, and for value events the latest-starting active one wins.
Conditions conditions_at(const Scenario& scenario, const policies::PlatformDesc& platform, double t_s) noexcept;

// The pinned die temperature at t_s (die_temp_c events: the latest-starting active one wins);
// false when none is active.
bool pinned_die_c(const Scenario& scenario, double t_s, double* die_c) noexcept;

// Times (s, ascending, unique, within (0, duration)) at which conditions_at() may change.
std::vector<double> change_points(const Scenario& scenario);

}  // namespace hetsched::env
