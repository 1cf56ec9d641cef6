// Platform description: the processing units of a board as both the simulator and the
// embedded runtime see them (letters, kinds, cores, OPP tables, hosting, sysfs names, thermal
// zones and trips). Simulation-only parameters (power and thermal coefficients, transfer and
// DVFS costs, fitted block costs) live in the same file under "sim" and are parsed by env/.
//
// File format: env/platforms/<name>.json, documented in docs/platforms.md. A host profile
// (`hetsched profile` output, docs/platforms.md "Host profiles") is also a platform file: its
// units are this machine's CPU units (letters A, B, ... in unit order, names cpu<N>; see
// policies/host_mapping.hpp) and its costs are measured medians, not fitted or analytic.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::policies {

inline constexpr int kMaxUnits = 6;

enum class UnitKind : std::uint8_t { kCpu, kGpu, kNpu };
const char* unit_kind_name(UnitKind k) noexcept;

struct Opp {
  std::int64_t freq_khz = 0;
  std::int32_t voltage_uv = 0;
};

struct UnitDesc {
  char letter = '?';            // 'L', 'B', 'G', 'N' (ARM-CO-UP notation)
  std::string name;             // "Cortex-A53 x4"
  UnitKind kind = UnitKind::kCpu;
  int cores = 1;
  std::vector<int> cpu_ids;     // CPU units: the cores (for pinning); empty otherwise
  std::vector<Opp> opps;        // ascending frequency; empty = no DVFS control (e.g. the RK3399Pro NPU)
  std::string hosts;            // GPU/NPU: letters of CPU units that can host (drive) it; "" for CPUs
  std::string freq_sysfs;       // "cpufreq/policy0" or "devfreq/ff9a0000.gpu" ("" = none)
  std::string thermal_zone;     // zone whose trips cap this unit ("" = none)

  bool has_dvfs() const noexcept { return !opps.empty(); }
  int max_opp() const noexcept { return static_cast<int>(opps.size()) - 1; }
};

struct TripDesc {
  int temp_mc = 0;
  int hysteresis_mc = 0;
  std::string type;             // "passive" or "critical"
};

struct ThermalZoneDesc {
  std::string name;             // sysfs thermal_zone type, e.g. "cpu-thermal"
  std::vector<TripDesc> trips;  // ascending temp_mc
  std::string cooled_units;     // letters of the units its cooling devices cap
};

struct PlatformDesc {
  std::string name;             // rockpi_n10, khadas_vim3, rk3588, host
  std::string soc;              // RK3399Pro ...
  std::string source_path;      // the file it was loaded from (env parses its "sim" section)
  std::vector<UnitDesc> units;  // at most kMaxUnits; CPU clusters first
  std::vector<ThermalZoneDesc> zones;
  std::string board_power_sensor;  // hwmon/INA name ("" = none)
  // Host profiles only (defaults describe the shipped board files):
  bool profiled = false;        // loaded from a host profile: block costs are measured medians ("analytic": false)
  bool power_model = true;      // false: no power sensor or model; power and energy are unknown (report null, not 0)
  std::string costs_path;       // where env::CostModel reads costs; "" = env/platforms/<name>.costs.json (a profile: itself)

  int num_units() const noexcept { return static_cast<int>(units.size()); }
  // Index of the unit with this letter, or -1.
  int unit_index(char letter) const noexcept;
};

// Parses and validates a platform file. Errors name file and field (e.g. "units[2].opps[3].freq_khz").
Result<PlatformDesc> load_platform(const std::string& path);
// Resolves the --platform value every subcommand accepts:
//   "<name>"         <data_dir>/env/platforms/<name>.json (rockpi_n10, khadas_vim3, rk3588)
//   "host"           this machine's profile: default_host_profile_path(data_dir)
//   "PATH.json"      any platform file or host profile (a value ending in ".json" is a path)
Result<PlatformDesc> load_platform_by_name(const std::string& data_dir, const std::string& name);
// $HETSCHED_HOST_PROFILE if set and non-empty, else <data_dir>/build/host_profile.json (where
// `hetsched profile` writes without --out).
std::string default_host_profile_path(const std::string& data_dir);
std::vector<std::string> list_platforms(const std::string& data_dir);

}  // namespace hetsched::policies
