#include "env/calib_opmodel.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <Eigen/Dense>

#include "env/calib_system.hpp"
#include "policies/model.hpp"

namespace hetsched::env {

using nlohmann::json;
using policies::UnitKind;

Result<OpPrior> load_op_prior(const policies::PlatformDesc& p, const std::string& data_dir,
                              const std::string& exclude_model) {
  OpPrior out;
  const std::string path = data_dir + "/env/platforms/" + p.name + ".op_prior.json";
  if (!std::filesystem::exists(path)) return out;
  std::ifstream in(path);
  json j;
  try {
    j = json::parse(in);
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, path + ": " + e.what());
  }
  try {
    for (auto& [L, rows] : j.at("units").items()) {
      const std::string where = path + ": units." + L;
      if (L.size() != 1 || p.unit_index(L[0]) < 0) return Error(StatusCode::kCorrupt, where + ": unknown unit letter");
      if (!rows.is_array() || rows.size() < 2) return Error(StatusCode::kCorrupt, where + ": needs an array of >= 2 rows (ratios)");
      std::vector<OpPriorRow> v;
      for (size_t i = 0; i < rows.size(); ++i) {
        const json& r = rows[i];
        const std::string rw = where + "[" + std::to_string(i) + "]";
        OpPriorRow row;
        row.name = r.at("name").get<std::string>();
        const double fps = r.at("fps").get<double>();
        if (!(fps > 0) || !std::isfinite(fps)) return Error(StatusCode::kCorrupt, rw + ".fps: must be a finite number > 0");
        row.time_ms = 1000.0 / fps;
        if (r.contains("model")) {
          row.model = r["model"].get<std::string>();
          auto m = policies::load_model_by_name(data_dir, row.model);
          if (!m.ok()) return Error(StatusCode::kCorrupt, rw + ".model: " + m.status().message());
          row.model = m->name;
          row.f = block_features(*m, 0, m->num_blocks());
        } else {
          for (auto& [name, val] : r.at("features").items()) {
            int q = 0;
            while (q < kNumOpFeatures && name != op_feature_name(q)) ++q;
            if (q == kNumOpFeatures) return Error(StatusCode::kCorrupt, rw + ".features." + name + ": unknown feature");
            const double x = val.get<double>();
            if (!(x >= 0) || !std::isfinite(x)) return Error(StatusCode::kCorrupt, rw + ".features." + name + ": must be >= 0");
            row.f[static_cast<size_t>(q)] = x;
          }
        }
        if (!exclude_model.empty() && row.model == exclude_model) continue;
        v.push_back(std::move(row));
      }
      if (v.size() >= 2) out[L[0]] = std::move(v);
    }
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, path + ": " + e.what());
  }
  return out;
}

json fit_op_unit(UnitKind kind, const std::vector<OpSample>& samples, const std::vector<OpPriorRow>* prior) {
  // Feature set per unit kind (docs/simulator.md, "Op-level predictor"): CPU clusters use the
  // ARM-CL NEON kernel classes (Winograd / im2col GEMM / 1x1 / matrix-vector), which cut the
  // leave-one-model-out error of AlexNet and YOLOv3 on B and L from ~50 % to ~20 % and ~5 %.
  // The GPU uses the legacy set plus a per-task cost and the image-input conv, minus out_mb:
  // a group of the Rock Pi per-layer table is one GPU task, and its dispatch + sync (~3.5 ms at
  // the top OPPs) is most of the small late groups of AlexNet/GoogleNet/ResNet50 (rockpi_n10 LOMO:
  // 5 of 5 models within 20 % instead of 3; khadas_vim3, max-frequency campaign: still 1 of 4).
  // The NPU keeps the legacy set because its op-level prediction is the prior of the pipeline
  // fit for NPU blocks of models without an NPU profile, so it feeds the fitted costs of
  // profiled blocks, which must not move.
  const OpFeatureSet set = kind == UnitKind::kCpu   ? OpFeatureSet::kArmCl
                           : kind == UnitKind::kGpu ? OpFeatureSet::kGpu
                                                    : OpFeatureSet::kLegacy;
  std::vector<int> cols;
  for (int q = 0; q < kNumOpFeatures; ++q)
    if (op_feature_in_set(q, set)) cols.push_back(q);
  const int n = static_cast<int>(samples.size()), nc = static_cast<int>(cols.size());
  std::set<std::string> models;
  for (const auto& s : samples) models.insert(s.model);
  // The prior only where the board data cannot identify the op-class ratios: profiles of a single
  // model (each NPU fold of the LOMO check). With >= 2 models the weights are the board fit alone,
  // so the shipped NPU weights (2 models) stay what the pipeline fit was calibrated with.
  const int np = prior != nullptr && models.size() < 2 ? static_cast<int>(prior->size()) - 1 : 0;
  Eigen::MatrixXd X(n, nc);
  json w;
  w["feature_set"] = set == OpFeatureSet::kLegacy ? "legacy" : set == OpFeatureSet::kArmCl ? "armcl" : "gpu";
  for (int i = 0; i < n; ++i)
    for (int q = 0; q < nc; ++q) X(i, q) = samples[static_cast<size_t>(i)].f[static_cast<size_t>(cols[static_cast<size_t>(q)])];
  const char* keys[3] = {"a", "b", "c"};
  for (int k = 0; k < 3; ++k) {
    Eigen::VectorXd y(n);
    for (int i = 0; i < n; ++i) y(i) = samples[static_cast<size_t>(i)].t[static_cast<size_t>(k)];
    // Relative weighting: divide each row by its total time scale so small blocks count.
    Eigen::VectorXd wr(n);
    for (int i = 0; i < n; ++i) {
      const auto& s = samples[static_cast<size_t>(i)].t;
      wr(i) = 1.0 / std::max(0.05, s[0] + s[1] + s[2]);
    }
    Eigen::VectorXd sol = lsq(wr.asDiagonal() * X, wr.asDiagonal() * y, true, 1e-6);
    if (np > 0) {
      // Prior rows: for rows r0 and ri of the source, t(r0) / t(ri) = T0 / Ti is imposed on this
      // coefficient as the homogeneous row (f(r0) - T0/Ti f(ri)) . w = 0. Weight: relative error
      // of the ratio (residual / (T0/Ti * predicted t(ri)) from the board-only fit) times
      // sqrt(n), i.e. the prior counts as much as all n groups of the one profiled model. Not
      // tuned (rockpi_n10 board rows, LOMO MobileNetV1 / YOLOv3 N): 0.1x 26.6 / 41.8 %,
      // 0.3x 19.7 / 39.9 %, 1x 16.9 / 36.7 %, 3x 17.2 / 47.6 %, 10x 2.2 / 83.2 %.
      const auto& pr = *prior;
      Eigen::MatrixXd X2(n + np, nc);
      Eigen::VectorXd y2 = Eigen::VectorXd::Zero(n + np), w2(n + np);
      X2.topRows(n) = X;
      y2.head(n) = y;
      w2.head(n) = wr;
      for (int r = 0; r < np; ++r) {
        const OpPriorRow& r0 = pr[0];
        const OpPriorRow& ri = pr[static_cast<size_t>(r + 1)];
        const double ratio = r0.time_ms / ri.time_ms;
        double ti = 0, tall = 0;
        for (int q = 0; q < nc; ++q) {
          const size_t c = static_cast<size_t>(cols[static_cast<size_t>(q)]);
          X2(n + r, q) = r0.f[c] - ratio * ri.f[c];
          ti += ri.f[c] * sol(q);
        }
        for (int i = 0; i < n; ++i) tall += std::fabs(y(i));
        // A board fit that predicts ~0 for this coefficient: scale by the mean group instead.
        const double scale = ti > 1e-9 ? ratio * ti : std::max(1e-9, tall / std::max(1, n));
        w2(n + r) = std::sqrt(static_cast<double>(n)) / scale;
      }
      sol = lsq(w2.asDiagonal() * X2, w2.asDiagonal() * y2, true, 1e-6);
    }
    std::vector<double> full(kNumOpFeatures, 0.0);
    for (int q = 0; q < nc; ++q) full[static_cast<size_t>(cols[static_cast<size_t>(q)])] = sol(q);
    w[keys[k]] = full;
  }
  return w;
}

}  // namespace hetsched::env
