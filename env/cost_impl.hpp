// Internal to env/: the resolved tables behind CostModel (shared by cost_model.cpp, which
// builds them from the costs file, and cost_queries.cpp, the hot-path queries).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "env/cost_model.hpp"
#include "env/cost_params.hpp"

namespace hetsched::env {

using policies::UnitKind;

inline constexpr double kUnavailableMs = 1e9;  // a block that cannot run on a unit (never chosen)
inline constexpr std::uint8_t kNone = 0, kProfiled = 1, kAnalytic = 2;

struct CostModel::Impl {
  PlatformDesc platform;
  ModelDesc model;
  SimParams sim;
  int U = 0, NB = 0;
  std::vector<TimeCoef> tcoef, pcoef;  // [block * U + unit]
  // G/N blocks whose time was fitted per hosting cluster (t = a + c / f_host_eff with its own
  // a, c per host): [(block * U + unit) * U + host], used when has_host_coef is set.
  std::vector<TimeCoef> tcoef_host;
  std::vector<std::uint8_t> has_host_coef;
  std::vector<std::uint8_t> kind;      // kNone / kProfiled / kAnalytic
  // 1 / pipeline block_scale s per [block * U + unit] (1 = none). tcoef already holds s * t; the
  // pipeline fit models a block as t * (s + kb * f_max / f), so the kb term divides s back out.
  std::vector<double> inv_bscale;
  std::vector<double> xfer;            // [(block * U + src) * U + dst]
  // Pipeline-mode hand-over at the cut after `block` from src to dst, fitted on pipeline rows
  // (calib_pipeline.cpp): extra ms of the receiving stage (in) and of the sending stage (out).
  std::vector<double> hand_in, hand_out;  // [(block * U + src) * U + dst], 0 = none
  std::array<double, kMaxUnits> ka{}, kb{};        // pipeline correction: ka + kb * f_max / f
  std::array<double, kMaxUnits> sw_scale{};        // switch-mode scale per unit
  double sw_block_ms = 0;                          // switch-mode sync overhead per block
  std::array<double, kMaxUnits> power_scale{};     // per-model, per-unit correction of the per-layer block powers
  std::array<TimeCoef, kMaxUnits> input{};         // input stage a + b / f
  std::array<std::array<TimeCoef, kMaxUnits>, kMaxUnits> segment{};  // [unit][host]: a + c / f_host_eff
  double base_mw = 0;
  std::array<std::vector<double>, kMaxUnits> idle_mw, dyn_mw;
  std::array<int, kMaxUnits> host{};
  std::array<std::array<std::vector<double>, kMaxUnits>, kMaxUnits> drive_mw;  // [accelerator][host][host OPP]

  double f_own(int u, int opp) const noexcept { return opp_ghz(platform, u, opp); }
  double x_power(int u, int opp) const noexcept {  // f[GHz] * V^2: dynamic power shape
    const auto& ud = platform.units[static_cast<size_t>(u)];
    if (ud.opps.empty()) return 0;
    opp = std::clamp(opp, 0, ud.max_opp());
    const double v = ud.opps[static_cast<size_t>(opp)].voltage_uv * 1e-6;
    return f_own(u, opp) * v * v;
  }
  double raw_time(int b, int u, int opp, int hu, int hopp) const noexcept {
    const size_t i = static_cast<size_t>(b * U + u);
    if (kind[i] == kNone) return kUnavailableMs;
    const auto& ud = platform.units[static_cast<size_t>(u)];
    const auto k = ud.kind;
    const int hh = hu < 0 ? host[static_cast<size_t>(u)] : hu;
    const size_t ih = i * static_cast<size_t>(U) + static_cast<size_t>(std::max(0, hh));
    const TimeCoef& c = k != UnitKind::kCpu && hh >= 0 && has_host_coef[ih] ? tcoef_host[ih] : tcoef[i];
    double t = c.a;
    if (ud.has_dvfs()) t += c.b / f_own(u, opp);
    if (k != UnitKind::kCpu) t += c.c / host_eff_ghz(platform, sim, hh, hopp);
    return std::max(t, 1e-3);
  }
  // Relative slowness 1/f scaled to 1 at the unit's top OPP (NPU: of the host).
  double rel_slow(int u, int opp, int hu, int hopp) const noexcept {
    const auto& ud = platform.units[static_cast<size_t>(u)];
    if (!ud.has_dvfs()) {
      const int h = hu < 0 ? host[static_cast<size_t>(u)] : hu;
      const double top = host_eff_ghz(platform, sim, host[static_cast<size_t>(u)], 1000);
      return top / host_eff_ghz(platform, sim, h, hopp);
    }
    return f_own(u, 1000) / f_own(u, opp);
  }
};

}  // namespace hetsched::env
