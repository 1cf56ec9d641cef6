// Costs for platforms without (enough) measurements:
//  * power_from_priors: EM-style board power from the platform's "sim.power_prior" (DPC per
//    cluster: P[mW] = DPC[uW/MHz/V^2] * f[MHz] * V^2 * cores / 1000), used when no pipeline rows
//    exist to fit the board power (khadas_vim3, rk3588);
//  * calibrate_analytic: a platform whose "sim.analytic_from" names a calibrated source platform
//    and a speedup per unit (measured cross-board ratios at the top OPP, e.g. latency.md for
//    RK3588 vs RK3399). The source's op-level predictor is rescaled so that a block on the target
//    unit at its top OPP takes source-time / speedup:
//        a' = a / s,   b' = b * f'_max / (f_max * s),   c' = c / s
//    A target unit with DVFS whose source has none (RK3588 NPU vs RK3399Pro NPU) gets its whole
//    time as b' = (a / s) * f'_max, i.e. compute-bound in its own clock.
#include <cmath>
#include <fstream>

#include "env/calib_system.hpp"
#include "env/cost_params.hpp"

namespace hetsched::env {

using nlohmann::json;
using policies::PlatformDesc;
using policies::UnitKind;

json power_from_priors(const PlatformDesc& p, const SimParams& s) {
  json pw = {{"base_mw", s.prior_idle_mw}, {"idle_mw", json::object()}, {"dyn_mw", json::object()},
             {"model", "priors: base = sim.power_prior.board_idle_mw; dyn = DPC f V^2 cores (EM); NPU = npu_active_mw"}};
  for (int u = 0; u < p.num_units(); ++u) {
    const auto& ud = p.units[static_cast<size_t>(u)];
    const std::string L(1, ud.letter);
    const size_t n = std::max<size_t>(1, ud.opps.size());
    std::vector<double> idle(n, 0.0), dyn(n, 0.0);
    for (size_t k = 0; k < n; ++k) {
      if (ud.kind == UnitKind::kNpu) {
        // Scale the NPU's active power with f V^2 relative to its top OPP when it has DVFS.
        double r = 1.0;
        if (!ud.opps.empty()) {
          const auto& o = ud.opps[k];
          const auto& t = ud.opps.back();
          r = (static_cast<double>(o.freq_khz) * o.voltage_uv * o.voltage_uv) /
              (static_cast<double>(t.freq_khz) * t.voltage_uv * t.voltage_uv);
        }
        dyn[k] = s.prior_npu_mw * r;
      } else if (!ud.opps.empty()) {
        const double v = ud.opps[k].voltage_uv * 1e-6, f_mhz = static_cast<double>(ud.opps[k].freq_khz) * 1e-3;
        dyn[k] = s.prior_dpc[static_cast<size_t>(u)] * f_mhz * v * v * (ud.kind == UnitKind::kCpu ? ud.cores : 1) / 1000.0;
      }
    }
    pw["idle_mw"][L] = idle;
    pw["dyn_mw"][L] = dyn;
  }
  return pw;
}

Result<json> calibrate_analytic(const PlatformDesc& p, const CalibOptions& o, const json& analytic_from) {
  auto simr = load_sim_params(p);
  if (!simr.ok()) return simr.status();
  const std::string where = p.source_path + ": sim.analytic_from";
  std::string src_name;
  try {
    src_name = analytic_from.at("platform").get<std::string>();
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, where + ".platform: " + e.what());
  }
  auto src = policies::load_platform_by_name(o.data_dir, src_name);
  if (!src.ok()) return Error(src.status().code(), where + ".platform: " + src.status().message());
  const std::string src_costs = o.data_dir + "/env/platforms/" + src_name + ".costs.json";
  std::ifstream in(src_costs);
  if (!in) return Error(StatusCode::kNotFound, src_costs + ": calibrate '" + src_name + "' first");
  json sc;
  try {
    sc = json::parse(in);
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, src_costs + ": " + e.what());
  }
  json out;
  out["platform"] = p.name;
  out["generated_by"] = "hetsched calibrate --platform " + p.name + " (analytic, env/calib_analytic.cpp); do not edit by hand";
  out["sources"] = json::array({"env/platforms/" + src_name + ".costs.json (op-level predictor, transfers, input stage)",
                                p.name + ".json sim.analytic_from (speedups; their sources are named there)",
                                p.name + ".json sim.power_prior (EM power)"});
  out["time_model"] = sc.value("time_model", "");
  out["models"] = json::object();
  try {
    for (auto& [L, m] : analytic_from.at("units").items()) {
      const int u = L.size() == 1 ? p.unit_index(L[0]) : -1;
      const std::string from = m.at("from").get<std::string>();
      const int su = from.size() == 1 ? src->unit_index(from[0]) : -1;
      const double sp = m.at("speedup").get<double>();
      if (u < 0) return Error(StatusCode::kCorrupt, where + ".units." + L + ": unknown unit letter");
      if (su < 0) return Error(StatusCode::kCorrupt, where + ".units." + L + ".from: '" + from + "' not a unit of " + src_name);
      if (!(sp > 0)) return Error(StatusCode::kCorrupt, where + ".units." + L + ".speedup: must be > 0");
      if (!sc["op_model"]["units"].contains(from)) continue;
      const auto& tu = p.units[static_cast<size_t>(u)];
      const auto& su_d = src->units[static_cast<size_t>(su)];
      const double f_t = opp_ghz(p, u, 1000), f_s = opp_ghz(*src, su, 1000);
      json w = sc["op_model"]["units"][from];
      for (size_t q = 0; q < w["a"].size(); ++q) {
        const double a = w["a"][q].get<double>(), b = w["b"][q].get<double>(), c = w["c"][q].get<double>();
        if (tu.has_dvfs() && !su_d.has_dvfs()) {
          w["a"][q] = 0.0;
          w["b"][q] = a / sp * f_t;
        } else {
          w["a"][q] = a / sp;
          w["b"][q] = su_d.has_dvfs() ? b * f_t / (f_s * sp) : 0.0;
        }
        w["c"][q] = c / sp;
      }
      // Block power of an analytic block: idle + this unit's EM dynamic power at util 1.
      const double dpc = simr->prior_dpc[static_cast<size_t>(u)] * (tu.kind == UnitKind::kCpu ? tu.cores : 1);
      w["power"] = json::array({simr->prior_idle_mw + (tu.kind == UnitKind::kNpu ? simr->prior_npu_mw : 0.0), dpc, 0.0});
      out["op_model"]["units"][L] = w;
      out["op_model"]["features"] = sc["op_model"]["features"];
      if (sc.contains("input_ms_per_melement") && sc["input_ms_per_melement"].contains(from) && tu.kind == UnitKind::kCpu) {
        json iv = sc["input_ms_per_melement"][from];
        out["input_ms_per_melement"][L] = json::array({iv[0].get<double>() / sp, iv[1].get<double>() * f_t / (f_s * sp), 0.0});
      }
      if (sc.contains("segment_ms_default") && sc["segment_ms_default"].contains(from)) {
        json sv = sc["segment_ms_default"][from];
        out["segment_ms_default"][L] = json::array({sv[0].get<double>() / sp, 0.0, sv[2].get<double>() / sp});
      }
    }
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, where + ": " + e.what());
  }
  if (sc.contains("transfer_fit")) out["transfer_fit"] = sc["transfer_fit"];
  out["power"] = power_from_priors(p, *simr);
  return out;
}

}  // namespace hetsched::env
