// Steps 4-5 of `hetsched calibrate` (see env/calib_fit.hpp): whole-inference corrections
// and the board power model, fitted only on rows that are not held back.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <Eigen/Dense>

#include "env/calib_data.hpp"
#include "env/calib_fit.hpp"
#include "env/calib_system.hpp"
#include "env/cost_model.hpp"
#include "env/cost_params.hpp"

namespace hetsched::env {

using nlohmann::json;
using policies::Config;
using policies::PlatformDesc;
using policies::UnitKind;

CostModelCache::CostModelCache(const PlatformDesc& p, std::string data_dir, std::string costs_path)
    : p_(p), data_dir_(std::move(data_dir)), costs_path_(std::move(costs_path)) {}

Result<const CostModel*> CostModelCache::get(const std::string& model_name) {
  auto it = cache_.find(model_name);
  if (it != cache_.end()) return it->second.get();
  auto m = policies::load_model_by_name(data_dir_, model_name);
  if (!m.ok()) return m.status();
  CostModel::Options o;
  o.data_dir = data_dir_;
  o.costs_path = costs_path_;
  auto c = CostModel::create(p_, *m, o);
  if (!c.ok()) return c.status();
  auto ptr = std::make_unique<CostModel>(std::move(*c));
  const CostModel* raw = ptr.get();
  cache_[model_name] = std::move(ptr);
  return raw;
}

namespace {

Status write_json(const std::string& path, const json& j) {
  std::ofstream out(path);
  if (!out) return Error(StatusCode::kIoError, path + ": cannot write");
  out << j.dump(1) << "\n";
  return out ? Status::Ok() : Error(StatusCode::kIoError, path + ": write failed");
}

double rel_slow(const PlatformDesc& p, const SimParams& s, const Config& c, int u) {
  const auto& ud = p.units[static_cast<size_t>(u)];
  if (ud.kind == UnitKind::kNpu) {
    const int h = p.unit_index(c.npu_host);
    return host_eff_ghz(p, s, default_host(p, s, u), 1000) / host_eff_ghz(p, s, h, c.freq_idx[static_cast<size_t>(h)]);
  }
  return opp_ghz(p, u, 1000) / opp_ghz(p, u, c.freq_idx[static_cast<size_t>(u)]);
}

// Fits y = ka + kb * x (kb = 0 when x does not vary).
std::pair<double, double> line_fit(const std::vector<std::pair<double, double>>& v) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto [x, y] : v) sx += x, sy += y, sxx += x * x, sxy += x * y;
  const double n = static_cast<double>(v.size());
  const double den = n * sxx - sx * sx;
  if (n < 2 || den < 1e-9 * n * n) return {sy / std::max(1.0, n), 0.0};
  const double kb = (n * sxy - sx * sy) / den;
  if (kb < 0) return {sy / n, 0.0};  // monotone in frequency: never faster at a lower clock
  return {(sy - kb * sx) / n, kb};
}

// Visits every switch-mode row of the fit split that the cost model can evaluate.
template <typename Fn>
void for_each_fit_switch_row(const PlatformDesc& p, const CalibOptions& o, const std::string& costs_path,
                             const std::vector<SwitchRow>& rows, Fn&& fn) {
  CostModelCache cache(p, o.data_dir, costs_path);
  for (const auto& r : rows) {
    if (held_back(switch_key(r))) continue;
    auto cm = cache.get(r.model);
    if (!cm.ok()) continue;
    auto c = switch_config(p, (*cm)->model(), r.order, r.freq, r.host);
    if (!c.ok()) continue;
    auto pred = predict_switch(**cm, *c);
    if (!pred.ok()) continue;
    fn(r, **cm, *c, *pred);
  }
}

// Where block bl of a switch-mode config runs: unit, host (-1 for CPUs) and the two OPP indices.
struct BlockPlace { int u, h, opp, hopp; };
BlockPlace block_place(const PlatformDesc& p, const Config& c, int bl) {
  const auto b = static_cast<size_t>(bl);
  const int u = p.unit_index(c.unit[b]);
  const auto k = p.units[static_cast<size_t>(u)].kind;
  const int h = k == UnitKind::kGpu ? p.unit_index(c.gpu_host) : k == UnitKind::kNpu ? p.unit_index(c.npu_host) : -1;
  const int opp = k == UnitKind::kNpu ? 0 : c.block_freq[b];
  const int hopp = k == UnitKind::kGpu ? c.block_host_freq[b] : c.block_freq[b];
  return {u, h, opp, hopp};
}

}  // namespace

Status fit_system(const PlatformDesc& p, const CalibOptions& o, json* costs) {
  auto simr = load_sim_params(p);
  if (!simr.ok()) return simr.status();
  const SimParams& sim = *simr;
  auto prow = read_pipeline_rows(o.calib_dir, p.name);
  if (!prow.ok()) return prow.status();
  auto srow = read_switch_rows(o.calib_dir, p.name);
  if (!srow.ok()) return srow.status();
  if (prow->empty()) {
    // No whole-inference measurements (khadas_vim3): power from the EM priors, no corrections.
    (*costs)["power"] = power_from_priors(p, sim);
    return Status::Ok();
  }
  const std::string tmp = (std::filesystem::temp_directory_path() / ("hetsched_calib_" + p.name + ".json")).string();
  (*costs)["power"] = {{"base_mw", sim.prior_idle_mw}, {"idle_mw", json::object()}, {"dyn_mw", json::object()}};
  HETSCHED_RETURN_IF_ERROR(write_json(tmp, *costs));

  // Step 4a: pipeline correction from single-unit rows: measured period / sum of profiled block times.
  std::map<std::string, std::map<char, std::vector<std::pair<double, double>>>> ratios;  // model -> unit -> (rel, r)
  {
    CostModelCache cache(p, o.data_dir, tmp);
    for (const auto& r : *prow) {
      if (held_back(pipeline_key(r))) continue;
      auto cm = cache.get(r.model);
      if (!cm.ok()) continue;
      auto c = pipeline_config(p, (*cm)->model(), r.order, r.gpu_host, r.npu_host, r.f_little_khz, r.f_big_khz, r.f_gpu_hz);
      if (!c.ok()) continue;
      const std::string o2 = c->order();
      if (o2.find_first_not_of(o2[0]) != std::string::npos) continue;
      const int u = p.unit_index(o2[0]);
      if (!(*cm)->profiled(0, u)) continue;
      const auto busy = pipeline_sums(**cm, *c).busy_ms;
      ratios[(*cm)->model().name][o2[0]].push_back({rel_slow(p, sim, *c, u), 1000.0 / r.fps / busy[static_cast<size_t>(u)]});
    }
  }
  // Per-model corrections (and per-block NPU times where no NPU profile exists) come from the
  // joint fit over all fit rows; the single-unit ratios pooled over models are the default for
  // models without pipeline measurements.
  std::map<char, std::vector<std::pair<double, double>>> pooled;
  for (auto& [model, units] : ratios)
    for (auto& [u, v] : units) pooled[u].insert(pooled[u].end(), v.begin(), v.end());
  std::string log;
  HETSCHED_RETURN_IF_ERROR(fit_pipeline_joint(p, sim, *prow, o, tmp, costs, &log));
  (*costs)["pipeline_fit_log"] = log;
  for (auto& [u, v] : pooled) {
    const auto [ka, kb] = line_fit(v);
    (*costs)["pipeline_correction_default"][std::string(1, u)] = json::array({ka, kb});
  }
  HETSCHED_RETURN_IF_ERROR(write_json(tmp, *costs));

  // Step 4b: board power = base + idle_u[opp_u] + sum_u util_u * dyn_u[opp_u] (linear least squares).
  // Plus host-driving power: an accelerator busy a fraction util of the period keeps a driver
  // thread of its host cluster busy too, drawing drive_mw[acc][host][host OPP] * util; the
  // accelerator's own dyn_mw cannot carry it because the host's OPP varies independently
  // (the NPU has one OPP: its dyn_mw alone would charge the same at every host frequency).
  std::vector<int> col_idle(static_cast<size_t>(p.num_units())), col_dyn(static_cast<size_t>(p.num_units()));
  int ncol = 1;
  for (int u = 0; u < p.num_units(); ++u) {
    const int n = std::max(1, static_cast<int>(p.units[static_cast<size_t>(u)].opps.size()));
    col_idle[static_cast<size_t>(u)] = ncol;
    ncol += n - 1;  // idle at OPP 0 is folded into base
    col_dyn[static_cast<size_t>(u)] = ncol;
    ncol += n;
  }
  std::vector<std::vector<int>> col_drive(static_cast<size_t>(p.num_units()), std::vector<int>(static_cast<size_t>(p.num_units()), -1));
  for (int u = 0; u < p.num_units(); ++u) {
    if (p.units[static_cast<size_t>(u)].kind == UnitKind::kCpu) continue;
    for (char hl : p.units[static_cast<size_t>(u)].hosts) {
      const int h = p.unit_index(hl);
      if (h < 0) continue;
      col_drive[static_cast<size_t>(u)][static_cast<size_t>(h)] = ncol;
      ncol += std::max(1, static_cast<int>(p.units[static_cast<size_t>(h)].opps.size()));
    }
  }
  std::vector<std::vector<std::pair<int, double>>> X;
  std::vector<double> y;
  {
    CostModelCache cache(p, o.data_dir, tmp);
    for (const auto& r : *prow) {
      if (held_back(pipeline_key(r)) || !(r.power_mw > 0)) continue;  // NaN: not measured pipelined
      auto cm = cache.get(r.model);
      if (!cm.ok()) continue;
      auto c = pipeline_config(p, (*cm)->model(), r.order, r.gpu_host, r.npu_host, r.f_little_khz, r.f_big_khz, r.f_gpu_hz);
      if (!c.ok()) continue;
      const PipelineSums sums = pipeline_sums(**cm, *c);
      auto busy = sums.busy_ms;
      const auto& wait = sums.wait_ms;
      const double period = *std::max_element(busy.begin(), busy.end());
      // Dynamic power only while a unit works: the hand-over wait of a receiving stage is idle.
      for (size_t u = 0; u < busy.size(); ++u) busy[u] -= wait[u];
      if (!(period > 0) || period > 1e8) continue;
      std::vector<std::pair<int, double>> row{{0, 1.0}};
      for (int u = 0; u < p.num_units(); ++u) {
        const int opp = std::max<int>(0, c->freq_idx[static_cast<size_t>(u)]);
        if (opp > 0) row.push_back({col_idle[static_cast<size_t>(u)] + opp - 1, 1.0});
        if (busy[static_cast<size_t>(u)] > 0) {
          row.push_back({col_dyn[static_cast<size_t>(u)] + (p.units[static_cast<size_t>(u)].has_dvfs() ? opp : 0),
                         busy[static_cast<size_t>(u)] / period});
          const auto k = p.units[static_cast<size_t>(u)].kind;
          const int h = k == UnitKind::kGpu ? p.unit_index(c->gpu_host) : k == UnitKind::kNpu ? p.unit_index(c->npu_host) : -1;
          const int dc = h >= 0 ? col_drive[static_cast<size_t>(u)][static_cast<size_t>(h)] : -1;
          if (dc >= 0) row.push_back({dc + std::max<int>(0, c->freq_idx[static_cast<size_t>(h)]), busy[static_cast<size_t>(u)] / period});
        }
      }
      X.push_back(std::move(row));
      y.push_back(r.power_mw);
    }
  }
  if (X.size() < static_cast<size_t>(ncol)) {
    // Too few pipelined power measurements for the per-OPP model (khadas_vim3 has none): keep
    // the EM priors (docs/platforms.md) and go on to the switch-mode fits.
    (*costs)["power"] = power_from_priors(p, sim);
    (*costs)["power"]["fit_rows"] = X.size();
  } else {
    // Non-negative (dynamic and idle increments cannot be negative); rows weighted by 1/y
    // because validation judges relative error.
    Eigen::MatrixXd A = Eigen::MatrixXd::Zero(static_cast<int>(X.size()), ncol);
    Eigen::VectorXd yv(static_cast<int>(X.size()));
    for (size_t i = 0; i < X.size(); ++i) {
      for (auto [ci, vi] : X[i]) A(static_cast<int>(i), ci) = vi / y[i];
      yv(static_cast<int>(i)) = 1.0;
    }
    // validate judges the power MAPE (L1 in relative error): iteratively reweighted least squares,
    // row weight 1 / sqrt(max(|relative residual|, 0.5 %)) on the row-scaled system, from the L2 start.
    Eigen::VectorXd wsol = lsq(A, yv, true, 1e-9);
    for (int it = 0; it < 8; ++it) {
      const Eigen::VectorXd r = A * wsol - yv;
      Eigen::VectorXd sw(r.size());
      for (int i = 0; i < r.size(); ++i) sw(i) = 1.0 / std::sqrt(std::max(std::fabs(r(i)), 0.005));
      wsol = lsq(sw.asDiagonal() * A, sw.asDiagonal() * yv, true, 1e-9);
    }
    json pw = {{"base_mw", wsol(0)}, {"idle_mw", json::object()}, {"dyn_mw", json::object()},
               {"fit_rows", X.size()}, {"model", "base + idle_u[opp_u] + sum_u util_u * dyn_u[opp_u] + sum_acc util_acc * drive_acc[host][opp_host]"}};
    for (int u = 0; u < p.num_units(); ++u) {
      const int n = std::max(1, static_cast<int>(p.units[static_cast<size_t>(u)].opps.size()));
      const std::string L(1, p.units[static_cast<size_t>(u)].letter);
      std::vector<double> idle(static_cast<size_t>(n), 0.0), dyn(static_cast<size_t>(n), 0.0);
      for (int k = 1; k < n; ++k) idle[static_cast<size_t>(k)] = wsol(col_idle[static_cast<size_t>(u)] + k - 1);
      for (int k = 0; k < n; ++k) dyn[static_cast<size_t>(k)] = wsol(col_dyn[static_cast<size_t>(u)] + k);
      pw["idle_mw"][L] = idle;
      pw["dyn_mw"][L] = dyn;
      for (int h = 0; h < p.num_units(); ++h) {
        const int dc = col_drive[static_cast<size_t>(u)][static_cast<size_t>(h)];
        if (dc < 0) continue;
        const int nh = std::max(1, static_cast<int>(p.units[static_cast<size_t>(h)].opps.size()));
        std::vector<double> d(static_cast<size_t>(nh));
        for (int k = 0; k < nh; ++k) d[static_cast<size_t>(k)] = wsol(dc + k);
        pw["drive_mw"][L][std::string(1, p.units[static_cast<size_t>(h)].letter)] = d;
      }
    }
    (*costs)["power"] = pw;
  }
  HETSCHED_RETURN_IF_ERROR(write_json(tmp, *costs));

  // Step 5: switch mode, per model (the serial campaigns differ per network) plus a pooled
  // default: measured - (input + transfers + DVFS + segments) = sum_u scale_u * S_u + per_block * NB,
  // non-negative least squares in relative error; then a per-model power scale eta of the
  // per-layer block powers: minimise sum ((eta * E_pred - E_meas) / E_meas)^2.
  {
    const int U = p.num_units();
    // x: per-unit block time sums, block count, NPU segment count, sum of 1/f_host_eff over them.
    struct SRow { std::string model; std::vector<double> x; double y, meas, seg_pred; };
    int npu = -1;
    for (int u = 0; u < U; ++u)
      if (p.units[static_cast<size_t>(u)].kind == UnitKind::kNpu) npu = u;
    std::vector<SRow> rows;
    for_each_fit_switch_row(p, o, tmp, *srow, [&](const SwitchRow& r, const CostModel& cm, const Config& c,
                                                  const Prediction& pred) {
        std::vector<double> x(static_cast<size_t>(U + 3), 0.0);
        double s_all = 0, seg = 0;
        for (int bl = 0; bl < c.num_blocks; ++bl) {
          const auto [u, h, opp, hopp] = block_place(p, c, bl);
          const double t = cm.switch_block_ms(bl, u, opp, h, hopp);
          x[static_cast<size_t>(u)] += t;
          s_all += t;
          if (u == npu && (bl == 0 || c.unit[static_cast<size_t>(bl - 1)] != c.unit[static_cast<size_t>(bl)])) {
            x[static_cast<size_t>(U + 1)] += 1;
            x[static_cast<size_t>(U + 2)] += 1.0 / host_eff_ghz(p, sim, h, hopp);
            seg += cm.segment_ms(u, h, hopp);
          }
        }
        x[static_cast<size_t>(U)] = c.num_blocks;
        rows.push_back({cm.model().name, x, r.total_ms - (pred.latency_ms - s_all), r.total_ms, seg});
    });
    auto fit = [&](const std::string& model) -> json {
      std::vector<const SRow*> sel;
      for (const auto& r : rows)
        if (model.empty() || r.model == model) sel.push_back(&r);
      // A model without pipeline rows (YOLOv3) has no fitted NPU segment overhead: fit it here.
      const bool fit_seg = !model.empty() && npu >= 0 && !(*costs)["models"][model].contains("segment_ms");
      const int ncols = fit_seg ? U + 3 : U + 1;
      Eigen::MatrixXd A2(static_cast<int>(sel.size()), ncols);
      Eigen::VectorXd y2(static_cast<int>(sel.size()));
      for (size_t i = 0; i < sel.size(); ++i) {
        for (int k = 0; k < ncols; ++k) A2(static_cast<int>(i), k) = sel[i]->x[static_cast<size_t>(k)] / sel[i]->meas;
        y2(static_cast<int>(i)) = (sel[i]->y + (fit_seg ? sel[i]->seg_pred : 0.0)) / sel[i]->meas;
      }
      const Eigen::VectorXd s = lsq(A2, y2, true, 1e-6);
      json sw = {{"per_block_ms", s(U)}, {"fit_rows", sel.size()}};
      if (fit_seg && A2.col(U + 1).norm() > 1e-9)
        sw["npu_segment_ms"] = json::array({s(U + 1), 0.0, s(U + 2)});
      for (int u = 0; u < U; ++u) {
        const bool seen = A2.col(u).norm() > 1e-9;
        sw["scale"][std::string(1, p.units[static_cast<size_t>(u)].letter)] = seen && s(u) > 0.05 ? s(u) : 1.0;
      }
      return sw;
    };
    if (!rows.empty()) {
      (*costs)["switch"] = fit("");
      std::map<std::string, int> models;
      for (const auto& r : rows) ++models[r.model];
      for (auto& [m, n] : models)
        if (n >= 20) {
          (*costs)["models"][m]["switch"] = fit(m);
          json& sw = (*costs)["models"][m]["switch"];
          if (sw.contains("npu_segment_ms"))
            (*costs)["models"][m]["segment_ms"][std::string(1, p.units[static_cast<size_t>(npu)].letter)] = sw["npu_segment_ms"];
        }
      HETSCHED_RETURN_IF_ERROR(write_json(tmp, *costs));
      // Power scale per model and unit on the same fit rows: E_meas ~ sum_u eta_u E_u + E_rest,
      // E_u = sum over the unit's blocks of time x block power; NNLS in relative error.
      std::map<std::string, std::vector<std::pair<std::vector<double>, double>>> erows;  // model -> (E_u..., E_rest), E_meas
      for_each_fit_switch_row(p, o, tmp, *srow, [&](const SwitchRow& r, const CostModel& cm, const Config& c,
                                                    const Prediction& pred) {
        std::vector<double> e(static_cast<size_t>(U + 1), 0.0);
        double sum = 0;
        for (int bl = 0; bl < c.num_blocks; ++bl) {
          const auto [u, h, opp, hopp] = block_place(p, c, bl);
          const double eb = cm.switch_block_ms(bl, u, opp, h, hopp) * cm.block_power_mw(bl, u, opp, h, hopp) * 1e-3;
          e[static_cast<size_t>(u)] += eb;
          sum += eb;
        }
        e[static_cast<size_t>(U)] = pred.energy_mj - sum;
        erows[cm.model().name].push_back({e, r.energy_mj});
      });
      for (auto& [m, v] : erows) {
        if (!(*costs)["models"][m].contains("switch")) continue;
        Eigen::MatrixXd A3(static_cast<int>(v.size()), U);
        Eigen::VectorXd y3(static_cast<int>(v.size()));
        for (size_t i = 0; i < v.size(); ++i) {
          for (int u = 0; u < U; ++u) A3(static_cast<int>(i), u) = v[i].first[static_cast<size_t>(u)] / v[i].second;
          y3(static_cast<int>(i)) = 1.0 - v[i].first[static_cast<size_t>(U)] / v[i].second;
        }
        const Eigen::VectorXd eta = lsq(A3, y3, true, 1e-6);
        for (int u = 0; u < U; ++u)
          if (A3.col(u).norm() > 1e-9 && eta(u) > 0.3)
            (*costs)["models"][m]["switch"]["power_scale_by_unit"][std::string(1, p.units[static_cast<size_t>(u)].letter)] = eta(u);
      }
    }
  }
  std::filesystem::remove(tmp);
  return Status::Ok();
}

}  // namespace hetsched::env
