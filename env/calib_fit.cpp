#include "env/calib_fit.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <Eigen/Dense>

#include "env/calib_data.hpp"
#include "env/calib_opmodel.hpp"
#include "env/calib_system.hpp"
#include "env/cost_model.hpp"
#include "env/cost_params.hpp"
#include "env/csv.hpp"

namespace hetsched::env {

using nlohmann::json;
using policies::ModelDesc;
using policies::PlatformDesc;
using policies::UnitKind;

// Least squares with optional non-negativity (drop negative coefficients and refit: a small
// active-set NNLS that is enough for <= 10 features).
Eigen::VectorXd lsq(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, bool nonneg, double ridge) {
  const int n = static_cast<int>(X.cols());
  std::vector<bool> active(static_cast<size_t>(n), true);
  Eigen::VectorXd w = Eigen::VectorXd::Zero(n);
  for (int iter = 0; iter < n + 1; ++iter) {
    std::vector<int> idx;
    for (int i = 0; i < n; ++i)
      if (active[static_cast<size_t>(i)]) idx.push_back(i);
    if (idx.empty()) break;
    Eigen::MatrixXd A(X.rows(), static_cast<int>(idx.size()));
    for (size_t k = 0; k < idx.size(); ++k) A.col(static_cast<int>(k)) = X.col(idx[k]);
    Eigen::MatrixXd AtA = A.transpose() * A;
    AtA.diagonal().array() += ridge * std::max(1.0, AtA.diagonal().maxCoeff());
    const Eigen::VectorXd s = AtA.ldlt().solve(A.transpose() * y);
    w.setZero();
    bool neg = false;
    for (size_t k = 0; k < idx.size(); ++k) {
      w(idx[k]) = s(static_cast<int>(k));
      if (nonneg && s(static_cast<int>(k)) < 0) active[static_cast<size_t>(idx[k])] = false, neg = true;
    }
    if (!neg) break;
    if (neg && iter == n) w = w.cwiseMax(0.0);
  }
  return w;
}

namespace {

double x_power(const PlatformDesc& p, int u, int opp) {
  const auto& ud = p.units[static_cast<size_t>(u)];
  if (ud.opps.empty()) return 0;
  const double v = ud.opps[static_cast<size_t>(std::clamp(opp, 0, ud.max_opp()))].voltage_uv * 1e-6;
  return opp_ghz(p, u, opp) * v * v;
}

struct Loaded {
  std::map<std::string, ModelDesc> models;  // by data name ("Alex")
  Result<const ModelDesc*> get(const std::string& data_dir, const std::string& name) {
    auto it = models.find(name);
    if (it == models.end()) {
      auto m = policies::load_model_by_name(data_dir, name);
      if (!m.ok()) return m.status();
      it = models.emplace(name, std::move(*m)).first;
    }
    return &it->second;
  }
};

// Step 1: per-(model, unit, group) samples from the per-layer tables: layers_coup.csv on the
// Rock Pi N10, layers_parapipe_*.csv on the VIM3 (max frequency only; repeated keys and
// repeated campaigns are averaged). Graphs without a model file (InceptionV3 ...) are skipped.
std::vector<std::string> profile_files(const PlatformDesc& p, const CalibOptions& o) {
  const std::string dir = o.calib_dir + "/armcoup/" + p.name + "/";
  if (std::filesystem::exists(dir + "layers_coup.csv")) return {dir + "layers_coup.csv"};
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string fn = e.path().filename().string();
    if (fn.rfind("layers_parapipe_", 0) == 0 && e.path().extension() == ".csv") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Status read_profiles(const PlatformDesc& p, const CalibOptions& o, Loaded* L, std::vector<GroupProfile>* out,
                     std::map<std::pair<std::string, char>, std::vector<std::pair<int, double>>>* inputs) {
  struct Acc { double task = 0, power = 0, run_get = NAN, fill = NAN; int n = 0, np = 0; };
  std::map<std::tuple<std::string, char, int, int, int>, Acc> acc;  // graph, unit, freq, host, layer
  std::map<std::string, int> groups;
  const auto files = profile_files(p, o);
  if (files.empty()) return Error(StatusCode::kNotFound, o.calib_dir + "/armcoup/" + p.name + ": no per-layer table");
  for (const std::string& path : files) {
    auto t = read_csv(path);
    if (!t.ok()) return t.status();
    const CsvTable& c = *t;
    const int cg = c.col("Graph"), cc = c.col("Component"), cf = c.col("Freq"), ch = c.col("Freq_Host"), cl = c.col("Layer"),
              cm = c.col("Metric"), ct = c.col("Time"), cp = c.col("Power");
    if (cg < 0 || cc < 0 || cf < 0 || ch < 0 || cl < 0 || cm < 0 || ct < 0 || cp < 0)
      return Error(StatusCode::kCorrupt, path + ": expected columns Graph,Component,Freq,Freq_Host,Layer,Metric,Time,Power");
    for (size_t i = 0; i < c.rows.size(); ++i) {
      long long f = 0, h = 0, l = 0;
      double tm = 0, pw = NAN;
      const int u = c.at(i, cc).size() == 1 ? p.unit_index(c.at(i, cc)[0]) : -1;
      if (u < 0 || !parse_int(c.at(i, cl), &l) || !parse_double(c.at(i, ct), &tm)) continue;
      // "max" (VIM3 campaigns): the unit's top OPP; its host's top OPP for G.
      if (c.at(i, cf) == "max") f = std::max(0, p.units[static_cast<size_t>(u)].max_opp());
      else if (!parse_int(c.at(i, cf), &f)) continue;
      if (c.at(i, ch) == "max") {
        h = p.units[static_cast<size_t>(u)].kind == UnitKind::kCpu ? -1 : 1000;
      } else if (!parse_int(c.at(i, ch), &h)) continue;
      parse_double(c.at(i, cp), &pw);
      const std::string& m = c.at(i, cm);
      Acc& a = acc[{c.at(i, cg), c.at(i, cc)[0], static_cast<int>(f), static_cast<int>(h), static_cast<int>(l)}];
      if (m == "task") {
        a.task += tm, ++a.n;
        if (!std::isnan(pw)) a.power += pw, ++a.np;
      } else if (m == "NPU_run_get") a.run_get = tm;
      else if (m == "NPU_fill_tensor") a.fill = tm;
      else if (m == "in" && h < 0) {  // input stage of a CPU-only run: image read + preprocessing
        (*inputs)[{c.at(i, cg), c.at(i, cc)[0]}].push_back({static_cast<int>(f), tm});
        continue;
      } else continue;
      groups[c.at(i, cg)] = std::max(groups[c.at(i, cg)], static_cast<int>(l) + 1);
    }
  }
  std::map<std::tuple<std::string, char, int>, GroupProfile> gp;
  for (const auto& [k, a] : acc) {
    const auto& [graph, unit, f, h, l] = k;
    if (a.n == 0 || p.unit_index(unit) < 0) continue;
    auto md = L->get(o.data_dir, graph);
    if (!md.ok()) continue;  // a network we have no model file for
    if (groups[graph] != (*md)->num_blocks() && (*md)->grouping_with(groups[graph]) == nullptr) continue;
    GroupProfile& g = gp[{graph, unit, l}];
    g.model = (*md)->name, g.unit = unit, g.group = l, g.groups = groups[graph];
    const auto kind = p.units[static_cast<size_t>(p.unit_index(unit))].kind;
    // NPU: the per-layer campaign invoked the NPU once per block, so its I/O overhead
    // (run_get - task + fill_tensor) is paid once per contiguous NPU segment, not per block:
    // the block keeps its task time and the overhead is fitted as segment_ms (see
    // calib_pipeline.cpp; an all-N MobileNet serial run takes 16 ms of task vs 53 ms summed).
    const double time = a.task / a.n;
    g.opp.push_back(kind == UnitKind::kNpu ? 0 : f);
    g.host_opp.push_back(h < 0 ? 0 : h);
    g.time_ms.push_back(time);
    g.power_mw.push_back(a.np ? a.power / a.np : NAN);
  }
  for (auto& [k, g] : gp) out->push_back(std::move(g));
  return Status::Ok();
}

// Features of one measured point for the time model [1, 1/f, 1/f_host_eff].
std::array<double, 3> time_feat(const PlatformDesc& p, const SimParams& s, int u, int opp, int hopp) {
  const auto kind = p.units[static_cast<size_t>(u)].kind;
  const int host = default_host(p, s, u);
  return {1.0, kind == UnitKind::kNpu ? 0.0 : 1.0 / opp_ghz(p, u, opp),
          kind == UnitKind::kCpu ? 0.0 : 1.0 / host_eff_ghz(p, s, host, hopp)};
}

json fit_group(const PlatformDesc& p, const SimParams& s, const GroupProfile& g, json* power) {
  const int u = p.unit_index(g.unit);
  const auto kind = p.units[static_cast<size_t>(u)].kind;
  const int n = static_cast<int>(g.time_ms.size());
  Eigen::MatrixXd X(n, 3), Xp(n, 3);
  Eigen::VectorXd y(n), yp(n);
  int np = 0;
  const int host = default_host(p, s, u);
  for (int i = 0; i < n; ++i) {
    const auto f = time_feat(p, s, u, g.opp[static_cast<size_t>(i)], g.host_opp[static_cast<size_t>(i)]);
    X.row(i) << f[0], f[1], f[2];
    y(i) = g.time_ms[static_cast<size_t>(i)];
    if (!std::isnan(g.power_mw[static_cast<size_t>(i)])) {
      Xp.row(np) << 1.0, x_power(p, u, g.opp[static_cast<size_t>(i)]),
          kind == UnitKind::kCpu ? 0.0 : x_power(p, host, g.host_opp[static_cast<size_t>(i)]);
      yp(np++) = g.power_mw[static_cast<size_t>(i)];
    }
  }
  Eigen::VectorXd w = lsq(X, y, true);
  // A single measured frequency (VIM3: max only) cannot separate a from b/f: assume the block
  // is compute-bound in the unit's own clock (all of it scales with 1/f; NPU: constant).
  bool one_point = true;
  for (int i = 1; i < n; ++i) one_point = one_point && (X.row(i) - X.row(0)).norm() < 1e-12;
  if (one_point && n > 0) {
    const double t = y.mean();
    w.setZero();
    if (kind == UnitKind::kNpu) w(0) = t;
    else w(1) = t / X(0, 1);
  }
  if (np >= 3) {
    const Eigen::VectorXd wp = lsq(Xp.topRows(np), yp.head(np), true, 1e-6);
    *power = json::array({wp(0), wp(1), wp(2)});
  } else {
    *power = json::array({np > 0 ? yp.head(np).mean() : 0.0, 0.0, 0.0});
  }
  return json::array({w(0), w(1), w(2)});
}

Status fit_transfers(const PlatformDesc& p, const CalibOptions& o, Loaded* L, json* models, json* out) {
  const std::string path = o.calib_dir + "/armcoup/" + p.name + "/transfers_layer_boundary.csv";
  if (!std::filesystem::exists(path)) return Status::Ok();
  auto t = read_csv(path);
  if (!t.ok()) return t.status();
  const CsvTable& c = *t;
  const int cg = c.col("Graph"), cl = c.col("Layer"), cd = c.col("Dest"), cs = c.col("Src"), ct = c.col("Time");
  if (cg < 0 || cl < 0 || cd < 0 || cs < 0 || ct < 0) return Error(StatusCode::kCorrupt, path + ": expected Graph,Layer,Dest,Src,Time");
  std::map<std::tuple<std::string, int, std::string, std::string>, std::pair<double, int>> acc;
  for (size_t i = 0; i < c.rows.size(); ++i) {
    long long l = 0;
    double tm = 0;
    if (!parse_int(c.at(i, cl), &l) || !parse_double(c.at(i, ct), &tm)) continue;
    auto& a = acc[{c.at(i, cg), static_cast<int>(l), c.at(i, cs), c.at(i, cd)}];
    a.first += tm, a.second += 1;
  }
  std::vector<std::pair<double, double>> pts;  // MB, ms
  for (const auto& [k, a] : acc) {
    const auto& [graph, layer, src, dst] = k;
    auto md = L->get(o.data_dir, graph);
    if (!md.ok()) continue;
    json& mj = (*models)[(*md)->name];
    // Group count of this model's profile (the transfers use the same grouping).
    int groups = 0;
    if (mj.contains("units"))
      for (auto& [u, v] : mj["units"].items()) groups = std::max(groups, static_cast<int>(v["time"].size()));
    if (groups == 0 || layer >= groups) continue;
    mj["transfers"]["groups"] = groups;
    mj["transfers"]["rows"].push_back(json::array({layer, src, dst, a.first / a.second}));
    int end = layer + 1;
    if (groups != (*md)->num_blocks()) end = (*md)->grouping_with(groups)->end[static_cast<size_t>(layer)];
    const auto& bd = (*md)->blocks[static_cast<size_t>(end - 1)];
    pts.push_back({static_cast<double>(bd.cut_bytes > 0 ? bd.cut_bytes : bd.output_bytes) * 1e-6, a.first / a.second});
  }
  if (pts.size() >= 2) {
    Eigen::MatrixXd X(static_cast<int>(pts.size()), 2);
    Eigen::VectorXd y(static_cast<int>(pts.size()));
    for (size_t i = 0; i < pts.size(); ++i) {
      X.row(static_cast<int>(i)) << 1.0, pts[i].first;
      y(static_cast<int>(i)) = pts[i].second;
    }
    const Eigen::VectorXd w = lsq(X, y, true);
    (*out)["transfer_fit"] = {{"fixed_ms", w(0)}, {"ms_per_mb", w(1)}, {"points", pts.size()}};
  }
  return Status::Ok();
}

}  // namespace

Result<json> calibrate(const PlatformDesc& p, const CalibOptions& o, std::vector<GroupProfile>* profiles_out) {
  {
    std::ifstream in(p.source_path);
    json pj;
    try {
      pj = json::parse(in);
    } catch (const std::exception& e) {
      return Error(StatusCode::kCorrupt, p.source_path + ": " + e.what());
    }
    if (pj.contains("sim") && pj["sim"].contains("analytic_from")) return calibrate_analytic(p, o, pj["sim"]["analytic_from"]);
  }
  auto simr = load_sim_params(p);
  if (!simr.ok()) return simr.status();
  const SimParams& sim = *simr;
  Loaded L;
  std::vector<GroupProfile> prof;
  std::map<std::pair<std::string, char>, std::vector<std::pair<int, double>>> inputs;
  HETSCHED_RETURN_IF_ERROR(read_profiles(p, o, &L, &prof, &inputs));
  const std::string dir = "armcoup/" + p.name + "/";
  json out;
  out["platform"] = p.name;
  out["generated_by"] = "hetsched calibrate --platform " + p.name + " (env/calib_fit.cpp); do not edit by hand";
  json src = json::array();
  for (const auto& f : profile_files(p, o))
    src.push_back(dir + std::filesystem::path(f).filename().string() + " (per-block task/in/NPU rows: time and power fits)");
  out["sources"] = src;
  const bool system_sets = std::filesystem::exists(o.calib_dir + "/" + dir + "pipeline_googlenet_lbgn.csv");
  for (const char* extra : {"transfers_layer_boundary.csv (transfer times, de-duplicated)",
                            "pipeline_googlenet_lbgn.csv + pipeline_single_pe_5models.csv (fit split only: pipeline correction, board power)",
                            "eval_switch_lwdvfs_*.csv + eval_switch_yolov3_npu.csv + eval_*single_pe*.csv (fit split only: switch-mode scale)"})
    if (system_sets) out["sources"].push_back(dir + extra);
  {
    // Runs measured both pipelined and serially (khadas_vim3), named one by one.
    std::vector<std::string> both;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(o.calib_dir + "/" + dir, ec)) {
      const std::string fn = e.path().filename().string();
      if ((fn.rfind("eval_profiling2_", 0) == 0 || fn.rfind("eval_parapipe_", 0) == 0) && e.path().extension() == ".csv")
        both.push_back(dir + fn + " (fit split only: pipeline correction from pipelinetime, switch-mode scale from total_time/total_e)");
    }
    std::sort(both.begin(), both.end());
    for (auto& s : both) out["sources"].push_back(s);
  }
  out["split"] = "held back (never fitted) when FNV-1a64(key) % 5 == 0; key = model|order|hosts (pipeline), model|order|host|freq (switch)";
  out["time_model"] = "t_ms = a + b / f_GHz + c / f_host_eff_GHz per group (split over fine blocks by work); power_mw = p0 + p1 f V^2 + p2 f_host V_host^2";
  // Step 1: per-group fits.
  json models = json::object();
  std::map<char, std::vector<OpSample>> op_samples;
  std::map<char, std::vector<std::array<double, 3>>> unit_power;
  for (const auto& g : prof) {
    json pw;
    const json t = fit_group(p, sim, g, &pw);
    json& mu = models[g.model]["units"][std::string(1, g.unit)];
    if (mu.is_null()) mu = {{"time", json::array()}, {"power", json::array()}};
    while (static_cast<int>(mu["time"].size()) <= g.group) mu["time"].push_back(nullptr), mu["power"].push_back(nullptr);
    mu["time"][static_cast<size_t>(g.group)] = t;
    mu["power"][static_cast<size_t>(g.group)] = pw;
    unit_power[g.unit].push_back({pw[0].get<double>(), pw[1].get<double>(), pw[2].get<double>()});
    if (g.model == o.exclude_model) continue;
    const ModelDesc* md = nullptr;
    for (auto& [k, m] : L.models)
      if (m.name == g.model) md = &m;
    int first = g.group, end = g.group + 1;
    if (g.groups != md->num_blocks()) {
      const auto* gr = md->grouping_with(g.groups);
      if (gr == nullptr) return Error(StatusCode::kCorrupt, g.model + ": no grouping with " + std::to_string(g.groups) + " groups");
      first = g.group == 0 ? 0 : gr->end[static_cast<size_t>(g.group - 1)];
      end = gr->end[static_cast<size_t>(g.group)];
    }
    op_samples[g.unit].push_back({g.model, block_features(*md, first, end), {t[0].get<double>(), t[1].get<double>(), t[2].get<double>()}});
  }
  // Step 3: op-level model per unit (env/calib_opmodel.cpp).
  json om;
  om["features"] = json::array();
  for (int i = 0; i < kNumOpFeatures; ++i) om["features"].push_back(op_feature_name(i));
  auto prior = load_op_prior(p, o.data_dir, o.exclude_model);
  if (!prior.ok()) return prior.status();
  if (!prior->empty()) out["sources"].push_back("env/platforms/" + p.name + ".op_prior.json (op-level prior, used by units profiled on one model only)");
  for (auto& [unit, samples] : op_samples) {
    const auto pit = prior->find(unit);
    json w = fit_op_unit(p.units[static_cast<size_t>(p.unit_index(unit))].kind, samples, pit == prior->end() ? nullptr : &pit->second);
    auto& pv = unit_power[unit];
    std::array<double, 3> med{};
    for (int k = 0; k < 3; ++k) {
      std::vector<double> v;
      for (auto& e : pv) v.push_back(e[static_cast<size_t>(k)]);
      std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
      med[static_cast<size_t>(k)] = v[v.size() / 2];
    }
    w["power"] = med;
    om["units"][std::string(1, unit)] = w;
  }
  out["op_model"] = om;
  // Step 2a: input stage (read + preprocess one frame) per model and CPU cluster, t = a + b / f;
  // the unit-level default is per million input elements (pooled over models) for new models.
  std::map<char, std::vector<std::array<double, 3>>> pooled_in;  // unit -> (opp, time, Melements)
  for (auto& [key, v] : inputs) {
    const auto& [graph, unit] = key;
    const int u = p.unit_index(unit);
    auto md = L.get(o.data_dir, graph);
    if (!md.ok() || u < 0) continue;
    const double mel = static_cast<double>((*md)->input.elements()) * 1e-6;
    Eigen::MatrixXd X(static_cast<int>(v.size()), 2);
    Eigen::VectorXd y(static_cast<int>(v.size()));
    for (size_t i = 0; i < v.size(); ++i) {
      X.row(static_cast<int>(i)) << 1.0, 1.0 / opp_ghz(p, u, v[i].first);
      y(static_cast<int>(i)) = v[i].second;
      pooled_in[unit].push_back({static_cast<double>(v[i].first), v[i].second / mel, 0});
    }
    const Eigen::VectorXd w = lsq(X, y, true);
    models[(*md)->name]["input_ms"][std::string(1, unit)] = json::array({w(0), w(1), 0.0});
  }
  for (auto& [unit, v] : pooled_in) {
    const int u = p.unit_index(unit);
    Eigen::MatrixXd X(static_cast<int>(v.size()), 2);
    Eigen::VectorXd y(static_cast<int>(v.size()));
    for (size_t i = 0; i < v.size(); ++i) {
      X.row(static_cast<int>(i)) << 1.0, 1.0 / opp_ghz(p, u, static_cast<int>(v[i][0]));
      y(static_cast<int>(i)) = v[i][1];
    }
    const Eigen::VectorXd w = lsq(X, y, true);
    out["input_ms_per_melement"][std::string(1, unit)] = json::array({w(0), w(1), 0.0});
  }
  // Step 2b: measured transfers at group boundaries (rows repeat 2-10x: average per key) and
  // a bytes-based fallback fitted on them: t = fixed + ms_per_mb * MB live across the cut.
  HETSCHED_RETURN_IF_ERROR(fit_transfers(p, o, &L, &models, &out));
  out["models"] = models;
  if (profiles_out) *profiles_out = prof;
  if (o.system_fits) HETSCHED_RETURN_IF_ERROR(fit_system(p, o, &out));
  return out;
}

}  // namespace hetsched::env
