// Joint pipeline fit (step 4a of `hetsched calibrate`): per model, the period of a pipeline is
// the largest per-unit busy time, so every measured FPS constrains the bottleneck unit:
//     1000 / fps = max_u [ ka_u * S_u + kb_u * S_u * rel_u + X_u ]
// S_u = the unit's profiled (or op-level) block times at the row's OPPs, rel_u = f_max / f
// (NPU: of its host), X_u = transfers into the unit's stages. Models with many rows (GoogleNet:
// ~26 000 fit rows) also get per-block NPU times t_b = a_b + c_b / f_host because no per-layer
// NPU profile exists for them. The max() is handled by Gauss-Newton with re-assignment: fix the
// predicted bottleneck of every row, solve the (linear) least squares in relative error, repeat.
// A ridge pulls every parameter towards its prior (1, 0, or the op-level value) so a unit that
// is never the bottleneck keeps its prior. Densely measured models also get the hand-over at
// each cut per (src, dst) (in: receiving stage, out: sending stage) and per-host NPU blocks.
#include <algorithm>
#include <cmath>
#include <map>

#include <Eigen/Dense>

#include "env/calib_data.hpp"
#include "env/calib_system.hpp"
#include "env/cost_params.hpp"

namespace hetsched::env {

using nlohmann::json;
using policies::PlatformDesc;
using policies::UnitKind;

namespace {

struct JRow {
  double y = 0;                                    // measured period (ms)
  std::vector<std::pair<int, double>> f[policies::kMaxUnits];  // features per unit (param index, value)
  double x[policies::kMaxUnits] = {};              // fixed part per unit (transfers)
  bool used[policies::kMaxUnits] = {};
};

}  // namespace

Status fit_pipeline_joint(const PlatformDesc& p, const SimParams& sim, const std::vector<PipelineRow>& rows,
                          const CalibOptions& o, const std::string& raw_costs, json* costs, std::string* log) {
  CostModelCache cache(p, o.data_dir, raw_costs);
  const int U = p.num_units();
  std::map<std::string, std::vector<const PipelineRow*>> by_model;  // canonical model name
  for (const auto& r : rows) {
    if (held_back(pipeline_key(r))) continue;
    auto cm = cache.get(r.model);
    if (cm.ok()) by_model[(*cm)->model().name].push_back(&r);
  }
  for (auto& [name, rs] : by_model) {
    auto cm = cache.get(name);
    if (!cm.ok()) continue;
    const CostModel& cost = **cm;
    const int NB = cost.model().num_blocks();
    const int npu = [&] {
      for (int u = 0; u < U; ++u)
        if (p.units[static_cast<size_t>(u)].kind == UnitKind::kNpu) return u;
      return -1;
    }();
    const bool per_block = npu >= 0 && rs.size() >= 500;
    // Per (accelerator, host cluster) segment overhead (a, c) at [SEG + 2(u*U + h), +1]: the
    // driver thread's cost differs between hosting clusters by more than their capacity ratio.
    const int SEG = 2 * U;
    // Per-block NPU (a, c) per hosting cluster h at [BLK + 2(b U + h), + 1]: the NPU's time
    // depends on its host's frequency differently per host (measured rows: a single shared
    // a + c / f_host_eff over-predicts B-hosted rows at low B OPPs by ~15 %).
    const int BLK = SEG + 2 * U * U;
    const int SCL = BLK + (per_block ? 2 * NB * U : 0);  // per (unit, block) time scale at [SCL + u*NB + b]
    std::vector<bool> seg_seen(static_cast<size_t>(U * U), false);
    std::vector<bool> npu_host_seen(static_cast<size_t>(U), false);
    // Many rows: hand-over at each cut per (src, dst) pair, in (receiving stage) at
    // [HIN + (cut * U + src) * U + dst] and out (sending stage) at [HOUT + ...]. Why: the
    // measured transfers (transfers_layer_boundary.csv) time a copy between idle units; in a
    // running pipeline the sender also waits until the receiver takes the tensor, and the cost
    // depends on the tensor at the cut and on both units (cache/driver paths), which the
    // per-layout residuals show (docs/validation.md).
    const int HIN = SCL + (per_block ? U * NB : 0);
    const int HOUT = HIN + (per_block ? NB * U * U : 0);
    const int nparam = HOUT + (per_block ? NB * U * U : 0);
    std::vector<double> lo(static_cast<size_t>(nparam), 0.0);  // lower bounds of the hand-over terms
    std::vector<bool> hand_seen(static_cast<size_t>(NB * U * U), false);
    Eigen::VectorXd prior = Eigen::VectorXd::Zero(nparam);
    for (int u = 0; u < U; ++u) prior(2 * u) = 1.0;
    for (int i = SCL; i < nparam; ++i) prior(i) = 1.0;
    std::vector<JRow> J;
    for (const PipelineRow* r : rs) {
      auto c = pipeline_config(p, cost.model(), r->order, r->gpu_host, r->npu_host, r->f_little_khz, r->f_big_khz, r->f_gpu_hz);
      if (!c.ok()) continue;
      JRow j;
      j.y = 1000.0 / r->fps;
      for (int b = 0; b < NB; ++b) {
        const int u = p.unit_index(c->unit[static_cast<size_t>(b)]);
        const auto k = p.units[static_cast<size_t>(u)].kind;
        const int h = k == UnitKind::kGpu ? p.unit_index(c->gpu_host) : k == UnitKind::kNpu ? p.unit_index(c->npu_host) : -1;
        const int opp = c->freq_idx[static_cast<size_t>(u)], hopp = h >= 0 ? c->freq_idx[static_cast<size_t>(h)] : 0;
        const double t = cost.block_time_ms(b, u, opp, h, hopp);
        if (b > 0) j.x[u] += cost.transfer_ms(b - 1, p.unit_index(c->unit[static_cast<size_t>(b - 1)]), u);
        if (per_block && b > 0 && c->unit[static_cast<size_t>(b - 1)] != c->unit[static_cast<size_t>(b)]) {
          const int pu = p.unit_index(c->unit[static_cast<size_t>(b - 1)]);
          const int k = ((b - 1) * U + pu) * U + u;
          j.f[u].push_back({HIN + k, 1.0});
          j.f[pu].push_back({HOUT + k, 1.0});
          lo[static_cast<size_t>(HIN + k)] = -cost.transfer_ms(b - 1, pu, u);  // in + transfer >= 0
          hand_seen[static_cast<size_t>(k)] = true;
        }
        if (b == 0) j.x[u] += h >= 0 ? cost.input_ms(h, hopp) : cost.input_ms(u, opp);
        j.used[u] = true;
        if (k != UnitKind::kCpu && (b == 0 || c->unit[static_cast<size_t>(b - 1)] != c->unit[static_cast<size_t>(b)])) {
          j.f[u].push_back({SEG + 2 * (u * U + h), 1.0});
          j.f[u].push_back({SEG + 2 * (u * U + h) + 1, 1.0 / host_eff_ghz(p, sim, h, hopp)});
          seg_seen[static_cast<size_t>(u * U + h)] = true;
        }
        // CPU stage hand-off (densely measured models only): a constant per CPU stage, see
        // segment_ms() in cost_model.hpp.
        if (per_block && k == UnitKind::kCpu && (b == 0 || c->unit[static_cast<size_t>(b - 1)] != c->unit[static_cast<size_t>(b)]))
          j.f[u].push_back({SEG + 2 * (u * U + u), 1.0});
        if (per_block && u == npu) {
          const double inv = 1.0 / host_eff_ghz(p, sim, h, hopp);
          j.f[u].push_back({BLK + 2 * (b * U + h), 1.0});
          j.f[u].push_back({BLK + 2 * (b * U + h) + 1, inv});
          npu_host_seen[static_cast<size_t>(h)] = true;
          continue;
        }
        const double rel = k == UnitKind::kNpu
                               ? host_eff_ghz(p, sim, cost.default_host(u), 1000) / host_eff_ghz(p, sim, h, hopp)
                               : opp_ghz(p, u, 1000) / opp_ghz(p, u, opp);
        // Many rows: one scale per (unit, block) replaces the unit's ka (the coarse groups of the
        // per-layer table were split over blocks by work, which these rows can correct).
        j.f[u].push_back({per_block ? SCL + u * NB + b : 2 * u, t});
        j.f[u].push_back({2 * u + 1, t * rel});
      }
      J.push_back(std::move(j));
    }
    if (per_block) {
      // Prior of the per-block NPU times: the op-level prediction at two host OPPs -> (a, c).
      const int h = cost.default_host(npu);
      const int top = p.units[static_cast<size_t>(h)].max_opp();
      const double i1 = 1.0 / host_eff_ghz(p, sim, h, top), i0 = 1.0 / host_eff_ghz(p, sim, h, 0);
      for (int b = 0; b < NB; ++b) {
        const double t1 = cost.block_time_ms(b, npu, 0, h, top), t0 = cost.block_time_ms(b, npu, 0, h, 0);
        const double cc = (t0 - t1) / (i0 - i1);
        for (int hh = 0; hh < U; ++hh) {
          prior(BLK + 2 * (b * U + hh)) = std::max(0.0, t1 - cc * i1);
          prior(BLK + 2 * (b * U + hh) + 1) = std::max(0.0, cc);
        }
      }
    }
    // Objective: the FPS MAPE that validate reports, sum_rows |y - P| / P with P = max over the
    // used units' busy times (relative FPS error = |1000/P - 1000/y| / (1000/y) = |y - P| / P).
    // The old fixed-step iteration (th = (th + solution) / 2, 30 times) diverged on GoogleNet
    // (10.6 % -> 25.8 % period MAPE) because a step changes which unit is each row's bottleneck;
    // Levenberg-Marquardt with an acceptance test only ever lowers the objective.
    auto unit_t = [&](const JRow& j, int u, const Eigen::VectorXd& v) {
      double t = j.x[u];
      for (auto [i, f] : j.f[u]) t += v(i) * f;
      return t;
    };
    auto objective = [&](const Eigen::VectorXd& v, double* mape_out) {
      double sum = 0, m = 0;
      for (const JRow& j : J) {
        double bt = -1;
        for (int u = 0; u < U; ++u)
          if (j.used[u]) bt = std::max(bt, unit_t(j, u, v));
        // FPS error (what validate targets): |1000/bt - 1000/y| / (1000/y) = |y - bt| / bt.
        const double e = (j.y - bt) / std::max(bt, 1e-9);
        sum += std::fabs(e);
        m += std::fabs(e);
      }
      if (mape_out) *mape_out = 100.0 * m / std::max<size_t>(1, J.size());
      return sum;
    };
    auto clamp_params = [&](Eigen::VectorXd* nt) {
      // ka > 0, kb >= 0: a lower clock can never make a block faster (monotone in frequency).
      for (int u = 0; u < U; ++u) (*nt)(2 * u) = std::max(0.05, (*nt)(2 * u)), (*nt)(2 * u + 1) = std::max(0.0, (*nt)(2 * u + 1));
      for (int i = SEG; i < SCL; ++i) (*nt)(i) = std::max(0.0, (*nt)(i));  // times are non-negative
      for (int i = SCL; i < HIN; ++i) (*nt)(i) = std::clamp((*nt)(i), 0.5, 2.0);  // a correction, not a re-profile
      for (int i = HIN; i < nparam; ++i) (*nt)(i) = std::max(lo[static_cast<size_t>(i)], (*nt)(i));
    };
    Eigen::VectorXd th = prior, best_th = prior;
    double mape = 0, best_mape = 1e300;
    double obj = objective(th, &mape);
    best_mape = mape;
    std::string trace = std::to_string(static_cast<int>(mape * 10) / 10.0).substr(0, 4) + " ";
    double mu = 1e-2;
    for (int iter = 0; iter < 150; ++iter) {
      Eigen::MatrixXd A = Eigen::MatrixXd::Zero(nparam, nparam);
      Eigen::VectorXd bv = Eigen::VectorXd::Zero(nparam);
      for (const JRow& j : J) {
        int best = -1;
        double bt = -1;
        for (int u = 0; u < U; ++u) {
          if (!j.used[u]) continue;
          const double t = unit_t(j, u, th);
          if (t > bt) bt = t, best = u;
        }
        // IRLS for the L1 objective (FPS MAPE): weight 1 / |relative error| (floored at 1 %).
        const double w = 1.0 / (bt * bt * std::max(0.01, std::fabs(bt - j.y) / bt));
        for (auto [i, vi] : j.f[best]) {
          bv(i) += w * vi * (j.y - j.x[best]);
          for (auto [k, vk] : j.f[best]) A(i, k) += w * vi * vk;
        }
      }
      const double lambda = 1e-3 * std::max(1.0, static_cast<double>(J.size()) / 100.0) * 1e-2;
      for (int i = 0; i < nparam; ++i) {
        const double scale = std::max(A(i, i), 1e-12);
        A(i, i) += lambda * scale + 1e-9;
        bv(i) += (lambda * scale + 1e-9) * prior(i);
      }
      // Levenberg-Marquardt: damp towards the current iterate (mu * diag); the bottleneck
      // assignment changes along a step, so a step is kept only if the objective drops,
      // otherwise mu grows tenfold and the step is retried; stop when no mu helps.
      bool moved = false;
      for (int attempt = 0; attempt < 8 && !moved; ++attempt) {
        Eigen::MatrixXd Am = A;
        Eigen::VectorXd bm = bv;
        for (int i = 0; i < nparam; ++i) {
          const double d = mu * std::max(A(i, i), 1e-12);
          Am(i, i) += d;
          bm(i) += d * th(i);
        }
        Eigen::VectorXd nt = Am.ldlt().solve(bm);
        clamp_params(&nt);
        double m = 0;
        const double o2 = objective(nt, &m);
        if (o2 < obj * (1 - 1e-6)) th = nt, obj = o2, mape = m, moved = true;
        else mu *= 10;
      }
      if (moved) mu = std::max(1e-4, mu / 3);
      trace += std::to_string(static_cast<int>(mape * 10) / 10.0).substr(0, 4) + " ";
      if (mape < best_mape) best_mape = mape, best_th = th;
      if (!moved) break;
    }
    th = best_th;
    mape = best_mape;
    json& mj = (*costs)["models"][cost.model().name];
    for (int u = 0; u < U; ++u) {
      bool seen = false;
      for (const JRow& j : J) seen = seen || j.used[u];
      if (!seen || (per_block && u == npu)) continue;
      const std::string L(1, p.units[static_cast<size_t>(u)].letter);
      if (per_block) {
        mj["pipeline_correction"][L] = json::array({1.0, th(2 * u + 1)});
        std::vector<double> sc(static_cast<size_t>(NB));
        for (int b = 0; b < NB; ++b) sc[static_cast<size_t>(b)] = th(SCL + u * NB + b);
        mj["block_scale"][L] = sc;
      } else {
        mj["pipeline_correction"][L] = json::array({th(2 * u), th(2 * u + 1)});
      }
    }
    if (per_block) {
      // "time" = the default host's values (or any measured host's); "time_by_host" = every measured host.
      int ref = cost.default_host(npu);
      if (!npu_host_seen[static_cast<size_t>(ref)])
        for (int hh = 0; hh < U; ++hh)
          if (npu_host_seen[static_cast<size_t>(hh)]) ref = hh;
      json t = json::array(), pw = json::array(), by_host = json::object();
      const json& opw = (*costs)["op_model"]["units"][std::string(1, p.units[static_cast<size_t>(npu)].letter)]["power"];
      for (int b = 0; b < NB; ++b) {
        t.push_back(json::array({th(BLK + 2 * (b * U + ref)), 0.0, th(BLK + 2 * (b * U + ref) + 1)}));
        pw.push_back(opw);
      }
      for (int hh = 0; hh < U; ++hh) {
        if (!npu_host_seen[static_cast<size_t>(hh)]) continue;
        json th_h = json::array();
        for (int b = 0; b < NB; ++b) th_h.push_back(json::array({th(BLK + 2 * (b * U + hh)), 0.0, th(BLK + 2 * (b * U + hh) + 1)}));
        by_host[std::string(1, p.units[static_cast<size_t>(hh)].letter)] = th_h;
      }
      mj["pipeline_correction"][std::string(1, p.units[static_cast<size_t>(npu)].letter)] = json::array({1.0, 0.0});
      mj["units"][std::string(1, p.units[static_cast<size_t>(npu)].letter)] = {
          {"time", t}, {"time_by_host", by_host}, {"power", pw}, {"derived_from", "pipeline fit rows (no per-layer NPU profile of this model)"}};
    }
    if (per_block) {
      json rows_h = json::array();
      for (int k = 0; k < NB * U * U; ++k) {
        if (!hand_seen[static_cast<size_t>(k)]) continue;
        const int b = k / (U * U), su = k / U % U, du = k % U;
        rows_h.push_back(json::array({b, std::string(1, p.units[static_cast<size_t>(su)].letter),
                                      std::string(1, p.units[static_cast<size_t>(du)].letter), th(HIN + k), th(HOUT + k)}));
      }
      mj["handoff_ms"] = rows_h;
    }
    for (int u = 0; u < U && per_block; ++u)
      if (p.units[static_cast<size_t>(u)].kind == UnitKind::kCpu)
        mj["segment_ms"][std::string(1, p.units[static_cast<size_t>(u)].letter)] = json::array({th(SEG + 2 * (u * U + u)), 0.0, 0.0});
    for (int u = 0; u < U; ++u) {
      if (p.units[static_cast<size_t>(u)].kind == UnitKind::kCpu) continue;
      bool seen = false;
      for (const JRow& j : J) seen = seen || j.used[u];
      if (!seen) continue;
      const std::string L(1, p.units[static_cast<size_t>(u)].letter);
      // Default host's values (or any seen host's) stand for hosts never measured.
      int ref = cost.default_host(u);
      if (!seg_seen[static_cast<size_t>(u * U + ref)])
        for (int h = 0; h < U; ++h)
          if (seg_seen[static_cast<size_t>(u * U + h)]) ref = h;
      const int ri = SEG + 2 * (u * U + ref);
      mj["segment_ms"][L] = json::array({th(ri), 0.0, th(ri + 1)});
      for (int h = 0; h < U; ++h)
        if (seg_seen[static_cast<size_t>(u * U + h)])
          mj["segment_ms_by_host"][L][std::string(1, p.units[static_cast<size_t>(h)].letter)] =
              json::array({th(SEG + 2 * (u * U + h)), 0.0, th(SEG + 2 * (u * U + h) + 1)});
      auto& d = (*costs)["segment_ms_default"][L];
      const double n = static_cast<double>(J.size());
      if (d.is_null()) d = json::array({0.0, 0.0, 0.0, 0.0});
      d[0] = d[0].get<double>() + n * th(ri);
      d[2] = d[2].get<double>() + n * th(ri + 1);
      d[3] = d[3].get<double>() + n;
    }
    if (log) *log += name + ": joint pipeline fit on " + std::to_string(J.size()) + " rows, FPS MAPE " + std::to_string(mape) + " % (iterations: " + trace + ")\n";
  }
  // Row-weighted mean over models -> default for models without pipeline rows.
  if (costs->contains("segment_ms_default"))
    for (auto& [L, d] : (*costs)["segment_ms_default"].items())
      d = json::array({d[0].get<double>() / d[3].get<double>(), 0.0, d[2].get<double>() / d[3].get<double>()});
  return Status::Ok();
}

}  // namespace hetsched::env
