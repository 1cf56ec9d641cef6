// CostModel: binds one platform and one model to the fitted parameters of
// env/platforms/<platform>.costs.json (format and derivation: docs/platforms.md, `hetsched
// calibrate`). Everything is resolved per (block, unit) at create() so the queries are table
// lookups plus a few flops.
#include "env/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "env/cost_impl.hpp"
#include "env/cost_params.hpp"

namespace hetsched::env {

using nlohmann::json;


CostModel::CostModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CostModel::CostModel(CostModel&&) noexcept = default;
CostModel& CostModel::operator=(CostModel&&) noexcept = default;
CostModel::~CostModel() = default;

const PlatformDesc& CostModel::platform() const noexcept { return impl_->platform; }
const ModelDesc& CostModel::model() const noexcept { return impl_->model; }

namespace {

Status coef3(const json& v, const std::string& where, TimeCoef* out) {
  if (!v.is_array() || v.size() != 3 || !v[0].is_number() || !v[1].is_number() || !v[2].is_number())
    return Error(StatusCode::kCorrupt, where + ": must be [a, b, c] numbers");
  *out = {v[0].get<double>(), v[1].get<double>(), v[2].get<double>()};
  return Status::Ok();
}

// Blocks [first, end) of group g for a grouping with `groups` groups (identity when groups == blocks).
bool group_range(const ModelDesc& m, int groups, int g, int* first, int* end) {
  if (groups == m.num_blocks()) {
    *first = g, *end = g + 1;
    return true;
  }
  const policies::Grouping* gr = m.grouping_with(groups);
  if (gr == nullptr || static_cast<int>(gr->end.size()) != groups) return false;
  *first = g == 0 ? 0 : gr->end[static_cast<size_t>(g - 1)];
  *end = gr->end[static_cast<size_t>(g)];
  return true;
}

// Share of a group's time given to each fine block: by MACs plus element work (a group
// measured as one block is split by the work its blocks do; a block with no MACs still gets
// its element-wise share so it never costs 0).
double block_weight(const ModelDesc& m, int b) {
  const auto& bd = m.blocks[static_cast<size_t>(b)];
  return bd.macs + 4.0 * bd.elem_ops + 1e5;
}

}  // namespace

Result<CostModel> CostModel::create(const PlatformDesc& platform, const ModelDesc& model, const Options& options) {
  auto impl = std::make_unique<Impl>();
  Impl& I = *impl;
  I.platform = platform;
  I.model = model;
  auto sim = load_sim_params(platform);
  if (!sim.ok()) return sim.status();
  I.sim = *sim;
  I.U = platform.num_units();
  I.NB = model.num_blocks();
  if (I.NB <= 0 || I.NB > policies::kMaxBlocks)
    return Error(StatusCode::kInvalidArgument, "model '" + model.name + "': " + std::to_string(I.NB) + " blocks");
  for (int u = 0; u < I.U; ++u) I.host[static_cast<size_t>(u)] = env::default_host(platform, I.sim, u);

  const std::string path = !options.costs_path.empty()
                               ? options.costs_path
                               : options.data_dir + "/env/platforms/" + platform.name + ".costs.json";
  std::ifstream in(path);
  if (!in)
    return Error(StatusCode::kNotFound, path + ": no fitted costs for platform '" + platform.name +
                                            "' (run `hetsched calibrate --platform " + platform.name + "`)");
  json j;
  try {
    j = json::parse(in);
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, path + ": invalid JSON: " + e.what());
  }
  const size_t NBU = static_cast<size_t>(I.NB * I.U);
  I.tcoef.assign(NBU, {});
  I.pcoef.assign(NBU, {});
  I.kind.assign(NBU, kNone);
  I.inv_bscale.assign(NBU, 1.0);
  I.tcoef_host.assign(NBU * static_cast<size_t>(I.U), {});
  I.has_host_coef.assign(NBU * static_cast<size_t>(I.U), 0);
  I.xfer.assign(NBU * static_cast<size_t>(I.U), -1.0);
  I.hand_in.assign(NBU * static_cast<size_t>(I.U), 0.0);
  I.hand_out.assign(NBU * static_cast<size_t>(I.U), 0.0);
  try {
    // Power (whole board): base + per-unit idle per OPP + per-unit dynamic per OPP at util 1.
    const json& pw = j.at("power");
    I.base_mw = pw.at("base_mw").get<double>();
    for (int u = 0; u < I.U; ++u) {
      const std::string L(1, platform.units[static_cast<size_t>(u)].letter);
      const size_t n = std::max<size_t>(1, platform.units[static_cast<size_t>(u)].opps.size());
      I.idle_mw[static_cast<size_t>(u)].assign(n, 0.0);
      I.dyn_mw[static_cast<size_t>(u)].assign(n, 0.0);
      for (const char* key : {"idle_mw", "dyn_mw"}) {
        auto& dst = key[0] == 'i' ? I.idle_mw[static_cast<size_t>(u)] : I.dyn_mw[static_cast<size_t>(u)];
        if (!pw.at(key).contains(L)) continue;
        const json& arr = pw.at(key).at(L);
        if (!arr.is_array() || arr.size() != n)
          return Error(StatusCode::kCorrupt, path + ": power." + key + "." + L + ": needs " + std::to_string(n) +
                                                 " values (one per OPP)");
        for (size_t k = 0; k < n; ++k) dst[k] = arr[k].get<double>();
      }
      // Host-driving power of an accelerator per hosting cluster and its OPP (optional).
      if (pw.contains("drive_mw") && pw["drive_mw"].contains(L)) {
        for (auto& [H, arr] : pw["drive_mw"][L].items()) {
          const int h = H.size() == 1 ? platform.unit_index(H[0]) : -1;
          const size_t nh = h < 0 ? 0 : std::max<size_t>(1, platform.units[static_cast<size_t>(h)].opps.size());
          if (h < 0 || !arr.is_array() || arr.size() != nh)
            return Error(StatusCode::kCorrupt, path + ": power.drive_mw." + L + "." + H + ": needs one value per OPP of a known host unit");
          auto& dst = I.drive_mw[static_cast<size_t>(u)][static_cast<size_t>(h)];
          dst.assign(nh, 0.0);
          for (size_t k = 0; k < nh; ++k) dst[k] = arr[k].get<double>();
        }
      }
      I.ka[static_cast<size_t>(u)] = 1.0;
      I.sw_scale[static_cast<size_t>(u)] = 1.0;
      I.power_scale[static_cast<size_t>(u)] = 1.0;
    }
    // Input stage: this model's own fit, else the per-million-input-elements default.
    const double mel = static_cast<double>(model.input.elements()) * 1e-6;
    for (int u = 0; u < I.U; ++u) {
      const std::string L(1, platform.units[static_cast<size_t>(u)].letter);
      TimeCoef& ic = I.input[static_cast<size_t>(u)];
      if (j.contains("models") && j["models"].contains(model.name) && j["models"][model.name].contains("input_ms") &&
          j["models"][model.name]["input_ms"].contains(L)) {
        HETSCHED_RETURN_IF_ERROR(coef3(j["models"][model.name]["input_ms"][L], path + ": models." + model.name + ".input_ms." + L, &ic));
      } else if (j.contains("input_ms_per_melement") && j["input_ms_per_melement"].contains(L)) {
        HETSCHED_RETURN_IF_ERROR(coef3(j["input_ms_per_melement"][L], path + ": input_ms_per_melement." + L, &ic));
        ic = {ic.a * mel, ic.b * mel, 0};
      }
    }
    if (j.contains("switch")) {
      I.sw_block_ms = j["switch"].value("per_block_ms", 0.0);
      for (int u = 0; u < I.U; ++u) {
        const std::string L(1, platform.units[static_cast<size_t>(u)].letter);
        if (j["switch"].contains("scale") && j["switch"]["scale"].contains(L))
          I.sw_scale[static_cast<size_t>(u)] = j["switch"]["scale"][L].get<double>();
      }
    }
    // Accelerator segment overhead: this model's fit, else the platform default.
    for (int u = 0; u < I.U; ++u) {
      const std::string L(1, platform.units[static_cast<size_t>(u)].letter);
      const json* src = nullptr;
      if (j.contains("models") && j["models"].contains(model.name) && j["models"][model.name].contains("segment_ms") &&
          j["models"][model.name]["segment_ms"].contains(L))
        src = &j["models"][model.name]["segment_ms"][L];
      else if (j.contains("segment_ms_default") && j["segment_ms_default"].contains(L))
        src = &j["segment_ms_default"][L];
      TimeCoef sc;
      if (src) HETSCHED_RETURN_IF_ERROR(coef3(*src, path + ": segment_ms." + L, &sc));
      for (int h = 0; h < I.U; ++h) {
        I.segment[static_cast<size_t>(u)][static_cast<size_t>(h)] = sc;
        const std::string H(1, platform.units[static_cast<size_t>(h)].letter);
        if (j.contains("models") && j["models"].contains(model.name) && j["models"][model.name].contains("segment_ms_by_host") &&
            j["models"][model.name]["segment_ms_by_host"].contains(L) && j["models"][model.name]["segment_ms_by_host"][L].contains(H))
          HETSCHED_RETURN_IF_ERROR(coef3(j["models"][model.name]["segment_ms_by_host"][L][H],
                                         path + ": models." + model.name + ".segment_ms_by_host." + L + "." + H,
                                         &I.segment[static_cast<size_t>(u)][static_cast<size_t>(h)]));
      }
    }
    auto load_corr = [&](const json& c) {
      for (int u = 0; u < I.U; ++u) {
        const std::string L(1, platform.units[static_cast<size_t>(u)].letter);
        if (c.contains(L)) {
          I.ka[static_cast<size_t>(u)] = c[L].at(0).get<double>();
          I.kb[static_cast<size_t>(u)] = c[L].at(1).get<double>();
        }
      }
    };
    if (j.contains("pipeline_correction_default")) load_corr(j["pipeline_correction_default"]);

    // Profiled blocks of this model.
    const json* mj = nullptr;
    if (j.contains("models") && j["models"].contains(model.name)) mj = &j["models"][model.name];
    if (mj != nullptr) {
      if (mj->contains("pipeline_correction")) load_corr((*mj)["pipeline_correction"]);
      if (mj->contains("switch")) {
        const json& sw = (*mj)["switch"];
        I.sw_block_ms = sw.value("per_block_ms", I.sw_block_ms);
        if (sw.contains("power_scale_by_unit"))
          for (auto& [L, v] : sw["power_scale_by_unit"].items()) {
            const int u = L.size() == 1 ? platform.unit_index(L[0]) : -1;
            if (u >= 0) I.power_scale[static_cast<size_t>(u)] = v.get<double>();
          }
        for (int u = 0; u < I.U; ++u) {
          const std::string L(1, platform.units[static_cast<size_t>(u)].letter);
          if (sw.contains("scale") && sw["scale"].contains(L)) I.sw_scale[static_cast<size_t>(u)] = sw["scale"][L].get<double>();
        }
      }
      const json& units = mj->at("units");
      for (auto it = units.begin(); it != units.end(); ++it) {
        const std::string where = path + ": models." + model.name + ".units." + it.key();
        const int u = it.key().size() == 1 ? platform.unit_index(it.key()[0]) : -1;
        if (u < 0) return Error(StatusCode::kCorrupt, where + ": unknown unit letter for " + platform.name);
        const json& t = it.value().at("time");
        const json& p = it.value().at("power");
        const int groups = static_cast<int>(t.size());
        if (p.size() != t.size()) return Error(StatusCode::kCorrupt, where + ": time and power differ in length");
        for (int g = 0; g < groups; ++g) {
          int first = 0, end = 0;
          if (!group_range(model, groups, g, &first, &end))
            return Error(StatusCode::kCorrupt, where + ": " + std::to_string(groups) + " groups match no grouping of " +
                                                   model.name);
          TimeCoef tc, pc;
          HETSCHED_RETURN_IF_ERROR(coef3(t[static_cast<size_t>(g)], where + ".time[" + std::to_string(g) + "]", &tc));
          HETSCHED_RETURN_IF_ERROR(coef3(p[static_cast<size_t>(g)], where + ".power[" + std::to_string(g) + "]", &pc));
          double wsum = 0;
          for (int b = first; b < end; ++b) wsum += block_weight(model, b);
          for (int b = first; b < end; ++b) {
            const double share = block_weight(model, b) / wsum;
            const size_t i = static_cast<size_t>(b * I.U + u);
            I.tcoef[i] = {tc.a * share, tc.b * share, tc.c * share};
            I.pcoef[i] = pc;  // power is intensive: every part of the group draws the group's power
            I.kind[i] = kProfiled;
          }
        }
      }
      // Per-host block times of an accelerator (fitted on pipeline rows, calib_pipeline.cpp):
      // units.<L>.time_by_host.<H> = one [a, b, c] per block of the model.
      if (mj->contains("units"))
        for (auto& [L, uj] : (*mj)["units"].items()) {
          const int u = L.size() == 1 ? platform.unit_index(L[0]) : -1;
          if (u < 0 || !uj.contains("time_by_host")) continue;
          for (auto& [H, arr] : uj["time_by_host"].items()) {
            const int h = H.size() == 1 ? platform.unit_index(H[0]) : -1;
            const std::string where = path + ": models." + model.name + ".units." + L + ".time_by_host." + H;
            if (h < 0 || !arr.is_array() || static_cast<int>(arr.size()) != I.NB)
              return Error(StatusCode::kCorrupt, where + ": needs " + std::to_string(I.NB) + " [a, b, c] for a known host unit");
            for (int b = 0; b < I.NB; ++b) {
              const size_t ih = static_cast<size_t>((b * I.U + u) * I.U + h);
              HETSCHED_RETURN_IF_ERROR(coef3(arr[static_cast<size_t>(b)], where + "[" + std::to_string(b) + "]", &I.tcoef_host[ih]));
              I.has_host_coef[ih] = 1;
            }
          }
        }
      // Per-block time scale fitted on many pipeline rows (calib_pipeline.cpp).
      if (mj->contains("block_scale")) {
        for (auto& [L, arr] : (*mj)["block_scale"].items()) {
          const int u = L.size() == 1 ? platform.unit_index(L[0]) : -1;
          if (u < 0 || !arr.is_array() || static_cast<int>(arr.size()) != I.NB)
            return Error(StatusCode::kCorrupt, path + ": models." + model.name + ".block_scale." + L + ": needs " +
                                                   std::to_string(I.NB) + " values for a known unit");
          for (int b = 0; b < I.NB; ++b) {
            TimeCoef& tc = I.tcoef[static_cast<size_t>(b * I.U + u)];
            const double k = arr[static_cast<size_t>(b)].get<double>();
            if (!(k > 0))
              return Error(StatusCode::kCorrupt, path + ": models." + model.name + ".block_scale." + L + "[" +
                                                     std::to_string(b) + "] must be > 0");
            tc = {tc.a * k, tc.b * k, tc.c * k};
            I.inv_bscale[static_cast<size_t>(b * I.U + u)] = 1.0 / k;
          }
        }
      }
      if (mj->contains("transfers")) {
        const json& tr = (*mj)["transfers"];
        const int groups = tr.at("groups").get<int>();
        for (const json& row : tr.at("rows")) {
          const int g = row.at(0).get<int>();
          const std::string s = row.at(1).get<std::string>(), d = row.at(2).get<std::string>();
          const int su = s.size() == 1 ? platform.unit_index(s[0]) : -1;
          const int du = d.size() == 1 ? platform.unit_index(d[0]) : -1;
          int first = 0, end = 0;
          if (su < 0 || du < 0 || g < 0 || g >= groups || !group_range(model, groups, g, &first, &end)) continue;
          I.xfer[static_cast<size_t>(((end - 1) * I.U + su) * I.U + du)] = row.at(3).get<double>();
        }
      }
      // Pipeline hand-over per cut and unit pair: rows [block, src, dst, in_ms, out_ms] in the
      // model's own (finest) block indices.
      if (mj->contains("handoff_ms")) {
        for (const json& row : (*mj)["handoff_ms"]) {
          const int b = row.at(0).get<int>();
          const std::string s = row.at(1).get<std::string>(), d = row.at(2).get<std::string>();
          const int su = s.size() == 1 ? platform.unit_index(s[0]) : -1;
          const int du = d.size() == 1 ? platform.unit_index(d[0]) : -1;
          const double in_ms = row.at(3).get<double>(), out_ms = row.at(4).get<double>();
          if (su < 0 || du < 0 || su == du || b < 0 || b + 1 >= I.NB || !std::isfinite(in_ms) || !std::isfinite(out_ms) || out_ms < 0)
            return Error(StatusCode::kCorrupt, path + ": models." + model.name + ".handoff_ms: bad row " + row.dump() +
                                                   " (needs [block < " + std::to_string(I.NB - 1) +
                                                   ", src, dst (distinct unit letters), in_ms, out_ms >= 0])");
          I.hand_in[static_cast<size_t>((b * I.U + su) * I.U + du)] = in_ms;
          I.hand_out[static_cast<size_t>((b * I.U + su) * I.U + du)] = out_ms;
        }
      }
    }

    // Unprofiled (block, unit): op-level features x per-unit efficiencies (fitted on the other models).
    const json* om = j.contains("op_model") ? &j["op_model"] : nullptr;
    for (int u = 0; u < I.U; ++u) {
      const std::string L(1, platform.units[static_cast<size_t>(u)].letter);
      if (!options.allow_analytic || om == nullptr || !om->at("units").contains(L)) continue;
      const json& w = om->at("units").at(L);
      // Power of an analytic block: the unit's median profiled block power.
      TimeCoef pmed;
      if (w.contains("power")) HETSCHED_RETURN_IF_ERROR(coef3(w["power"], path + ": op_model.units." + L + ".power", &pmed));
      for (int b = 0; b < I.NB; ++b) {
        const size_t i = static_cast<size_t>(b * I.U + u);
        if (I.kind[i] != kNone) continue;
        const auto f = block_features(model, b, b + 1);
        double c[3] = {0, 0, 0};
        const char* keys[3] = {"a", "b", "c"};
        for (int k = 0; k < 3; ++k) {
          const json& arr = w.at(keys[k]);
          for (int q = 0; q < kNumOpFeatures && q < static_cast<int>(arr.size()); ++q) c[k] += f[static_cast<size_t>(q)] * arr[static_cast<size_t>(q)].get<double>();
          c[k] = std::max(0.0, c[k]);
        }
        I.tcoef[i] = {c[0], c[1], c[2]};
        I.pcoef[i] = pmed;
        I.kind[i] = kAnalytic;
      }
    }
    // Transfer fallback: fixed + bytes / bandwidth of the tensors live across the cut.
    double fixed = I.sim.transfer_fixed_ms, ms_per_mb = 1000.0 / I.sim.transfer_mb_per_s;
    if (j.contains("transfer_fit")) {
      fixed = j["transfer_fit"].value("fixed_ms", fixed);
      ms_per_mb = j["transfer_fit"].value("ms_per_mb", ms_per_mb);
    }
    for (int b = 0; b < I.NB; ++b) {
      const auto& bd = model.blocks[static_cast<size_t>(b)];
      const double mb = static_cast<double>(bd.cut_bytes > 0 ? bd.cut_bytes : bd.output_bytes) * 1e-6;
      for (int s = 0; s < I.U; ++s)
        for (int d = 0; d < I.U; ++d) {
          double& x = I.xfer[static_cast<size_t>((b * I.U + s) * I.U + d)];
          if (s == d) x = 0;
          else if (x < 0) x = fixed + ms_per_mb * mb;
        }
    }
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, path + ": " + e.what());
  }
  return CostModel(std::move(impl));
}

}  // namespace hetsched::env
