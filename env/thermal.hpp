// Thermal model of the simulator: a two-node RC network (die, board/heatsink) driven by the
// board power and the ambient temperature, and an emulation of the Linux step_wise governor
// that caps OPPs per thermal zone. Parameters come from the platform file's top-level
// "thermal" key (derived from ../shared/calibration/thermal.md; see docs/simulator.md).
//
//        P_heat                R_db                 R_ba
//   ──►  [die: C_d] ──────/\/\/\──── [board: C_b] ──/\/\/\──── ambient
//
//   C_d dT_d/dt = P_heat - (T_d - T_b)/R_db
//   C_b dT_b/dt = (T_d - T_b)/R_db - (T_b - T_a)/R_ba,   P_heat = soc_heat_fraction · P_board
//
// The network is linear, so for inputs held constant over a tick dt the exact update is
// x(t+dt) = Φ x(t) + Γ u with Φ = exp(A dt) and Γ = A⁻¹(Φ - I)B, both precomputed once:
// a tick costs 6 multiply-adds and no exp().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

inline constexpr int kMaxZones = 8;
inline constexpr int kMaxTrips = 4;

struct ZoneThermalParams {
  int polling_passive_ms = 100;   // governor period while a passive trip is crossed
  int polling_idle_ms = 1000;     // period otherwise (0 = interrupt driven: every tick)
  // Per trip (same order as PlatformDesc zone trips): letters of the units its cooling maps cap.
  // Empty vector = every passive trip caps the zone's cooled_units.
  std::vector<std::string> trip_units;
};

struct ThermalParams {
  double die_to_board_c_per_w = 7.0;      // R_db
  double board_to_ambient_c_per_w = 9.5;  // R_ba
  double die_heat_capacity_j_per_c = 0.7; // C_d
  double board_heat_capacity_j_per_c = 26;// C_b
  double soc_heat_fraction = 0.53;        // share of board power dissipated in the SoC package
  std::vector<ZoneThermalParams> zones;   // one per PlatformDesc::zones entry (defaults if absent)
  std::string source;                     // where the numbers come from (kept from the JSON)
};

// Reads the top-level "thermal" object of the platform file (platform.source_path).
Result<ThermalParams> load_thermal_params(const policies::PlatformDesc& platform);
// Parses a "thermal" object given as JSON text; `where` names the file in errors.
Result<ThermalParams> parse_thermal_params(const std::string& json_text, const policies::PlatformDesc& platform,
                                           const std::string& where);

class ThermalNetwork {
 public:
  struct Options {
    double tick_s = 0.1;  // integration step (inputs held constant over a tick)
  };
  static Result<ThermalNetwork> create(const ThermalParams& params, const Options& options);

  void reset(double die_c, double board_c) noexcept { die_c_ = die_c, board_c_ = board_c; }
  // Advances one tick with board power power_mw and ambient ambient_c held constant.
  void tick(double power_mw, double ambient_c) noexcept;
  double die_c() const noexcept { return die_c_; }
  double board_c() const noexcept { return board_c_; }
  // Steady state for constant inputs: T_b = T_a + P·R_ba, T_d = T_b + P·R_db.
  double steady_die_c(double power_mw, double ambient_c) const noexcept;
  double steady_board_c(double power_mw, double ambient_c) const noexcept;
  const ThermalParams& params() const noexcept { return p_; }

 private:
  ThermalParams p_;
  // x = (T_d - T_a, T_b - T_a); u = P_heat (W). Exact discretisation (see file comment).
  double phi_[2][2]{};
  double gamma_[2]{};
  double die_c_ = 25, board_c_ = 25;
};

// Emulation of drivers/thermal/gov_step_wise.c with per-zone polling (see docs/simulator.md).
class StepWiseGovernor {
 public:
  struct Options {
    int tick_ms = 100;  // how often evaluate() is called; polling intervals round up to ticks
  };
  static Result<StepWiseGovernor> create(const policies::PlatformDesc& platform, const ThermalParams& params,
                                         const Options& options);

  void reset() noexcept;
  // Called once per tick at time t_ms with the temperature of every zone (platform order).
  // Zones whose polling time has come are evaluated. Returns true when any cap changed.
  bool evaluate(std::int64_t t_ms, const double* zone_temp_c) noexcept;
  // Highest OPP index unit u may use (its max_opp() when not capped; 0 for units without DVFS).
  int cap(int unit) const noexcept { return cap_[unit]; }
  bool any_capped() const noexcept;
  int num_zones() const noexcept { return num_zones_; }

 private:
  struct Trip {
    int temp_mc = 0, hyst_mc = 0;
    bool passive = false;
    bool crossed = false;                         // above temp (until below temp - hyst)
    std::uint8_t unit_mask = 0;                   // cooling devices bound to this trip
    std::array<int, policies::kMaxUnits> target{};  // step_wise instance target state per unit
    std::array<bool, policies::kMaxUnits> active{};
  };
  struct Zone {
    int num_trips = 0;
    std::array<Trip, kMaxTrips> trips{};
    int polling_passive_ms = 100, polling_idle_ms = 1000;
    std::int64_t next_ms = 0;
    double last_mc = 0;
    bool has_last = false;
  };
  int num_units_ = 0, num_zones_ = 0, tick_ms_ = 100;
  std::array<int, policies::kMaxUnits> max_state_{};  // number of OPPs - 1 (0 without DVFS)
  std::array<int, policies::kMaxUnits> cap_{};
  std::array<Zone, kMaxZones> zones_{};
};

}  // namespace hetsched::env
