// Platform "sim" section parsing and the op-level feature vector (see env/cost_params.hpp).
#include "env/cost_params.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

namespace hetsched::env {

using policies::OpType;
using policies::PlatformDesc;
using policies::UnitKind;

const char* op_feature_name(int i) noexcept {
  static const char* kNames[kNumOpFeatures] = {
      "conv_gmac",      "dwconv_gmac", "pwconv_gmac", "fc_gmac", "pool_gop", "lrn_gop",        "eltwise_gop", "layers",
      "out_mb",         "weights_mb",  "gemm_conv_gmac", "wino_gmac", "gemm_pw_gmac", "gemv_mb", "act_mb", "conv_weights_mb", "input_conv_gmac", "tasks", "wino_tiled_gmac"};
  return (i >= 0 && i < kNumOpFeatures) ? kNames[i] : "?";
}

bool op_feature_in_set(int i, OpFeatureSet set) noexcept {
  if (i < 0 || i >= kNumOpFeatures) return false;
  if (set == OpFeatureSet::kLegacy) return i < 10;
  // GPU: legacy without out_mb (the size of the group's last output depends on where the
  // profiling campaign cut, not on the work) plus the image-input conv and the per-task cost.
  if (set == OpFeatureSet::kGpu) return (i < 10 && i != 8) || i == 16 || i == 17;
  // ARM-CL set: the class-free features (dwconv, pool, lrn, eltwise, layers) plus 10..15, with
  // the Winograd MACs counted as whole output tiles (18) instead of as MACs (11).
  return i == 1 || (i >= 4 && i <= 7) || i == 10 || (i >= 12 && i <= 15) || i == 18;
}

std::array<double, kNumOpFeatures> block_features(const policies::ModelDesc& m, int first_block, int end_block) {
  std::array<double, kNumOpFeatures> f{};
  for (int b = first_block; b < end_block; ++b) {
    const auto& bd = m.blocks[static_cast<size_t>(b)];
    for (int li = bd.first_layer; li < bd.end_layer; ++li) {
      const auto& l = m.layers[static_cast<size_t>(li)];
      const double gmac = l.macs * 1e-9, gop = l.elem_ops * 1e-9;
      switch (l.op) {
        case OpType::kConv: f[0] += gmac; break;
        case OpType::kDepthwiseConv: f[1] += gmac; break;
        case OpType::kPointwiseConv: f[2] += gmac; break;
        case OpType::kFullyConnected: f[3] += gmac; break;
        case OpType::kMaxPool:
        case OpType::kAvgPool: f[4] += gop; break;
        case OpType::kLrn: f[5] += gop; break;
        default: f[6] += gop; break;
      }
      // Fused activations count as element-wise work on top of the MACs.
      if (l.op == OpType::kConv || l.op == OpType::kDepthwiseConv || l.op == OpType::kPointwiseConv ||
          l.op == OpType::kFullyConnected)
        f[6] += gop;
      f[7] += 1;
      f[9] += static_cast<double>(l.param_bytes) * 1e-6;
      // ARM-CL classes (features 10..15). Matrix-vector layers (FC, or a conv on a 1x1 map = a
      // classifier) read every weight once per frame and use it once: their time is weight
      // bytes / DRAM bandwidth, not MACs / GEMM throughput (AlexNet FC6+FC7: 218 MB per frame,
      // measured ~5 GB/s on B, L and G alike).
      const double out_el = static_cast<double>(l.out.elements());
      const bool gemv = (l.op == OpType::kFullyConnected || l.op == OpType::kConv || l.op == OpType::kPointwiseConv) &&
                        l.out.h * l.out.w == 1;
      // Input channels per group from the MAC count: MACs = out elements x k^2 x C_in/groups.
      const double cin_g = out_el > 0 ? l.macs / (out_el * l.kernel * l.kernel) : 0;
      if (gemv) f[13] += static_cast<double>(l.param_bytes) * 1e-6;
      else if (l.op == OpType::kConv && l.kernel == 3 && l.stride == 1 && cin_g > 4) {
        // ARM-CL runs 3x3 stride-1 convolutions with Winograd (2.25-4x fewer multiplies than the
        // MAC count), except on the image input (C_in <= 4: im2col GEMM with K = 27): YOLOv3's
        // 3x3/s1 convs reach 24 GMAC/s on B, its 3x3/s2 ones 8-11, its 1x1 ones 9.
        f[11] += gmac;
        // Winograd computes whole output tiles (NEWinogradConvolutionLayer: 4x4 tiles for maps
        // > 4 in both dimensions, else 2x2), so a map that is not a multiple of the tile pays for
        // the padding: AlexNet's 13x13 convs do 16x16 = 1.51x their MACs, 14x14 maps 1.31x.
        const int tile = l.out.h > 4 && l.out.w > 4 ? 4 : 2;
        const double th = std::ceil(l.out.h / static_cast<double>(tile)) * tile;
        const double tw = std::ceil(l.out.w / static_cast<double>(tile)) * tile;
        f[18] += gmac * th * tw / (static_cast<double>(l.out.h) * l.out.w);
      }
      else if (l.op == OpType::kConv) f[10] += gmac;
      else if (l.op == OpType::kPointwiseConv) f[12] += gmac;
      // The image-input conv is slow per MAC on every unit (K = C_in k^2 = 27..363 is a poor
      // GEMM shape): on the Mali the conv1 groups of AlexNet, GoogleNet and ResNet50 take
      // 14-23 ms for ~0.1 G-MAC (GoogleNet: ~2.8x the per-MAC time of its next conv group).
      if (l.op == OpType::kConv && cin_g <= 4) f[16] += gmac;
      if (!gemv) f[15] += static_cast<double>(l.param_bytes) * 1e-6;
      f[14] += out_el * 4e-6;  // fp32 activations written (and read back by the next layer)
    }
  }
  f[17] = 1;  // one task per evaluated range (see cost_params.hpp)
  f[8] = static_cast<double>(m.blocks[static_cast<size_t>(end_block - 1)].output_bytes) * 1e-6;
  return f;
}

double opp_ghz(const PlatformDesc& p, int unit, int opp) noexcept {
  const auto& u = p.units[static_cast<size_t>(unit)];
  if (u.opps.empty()) return 1.0;
  opp = std::clamp(opp, 0, u.max_opp());
  return static_cast<double>(u.opps[static_cast<size_t>(opp)].freq_khz) * 1e-6;
}

int default_host(const PlatformDesc& p, const SimParams& s, int unit) noexcept {
  int best = -1;
  double best_speed = -1;
  for (char h : p.units[static_cast<size_t>(unit)].hosts) {
    const int hi = p.unit_index(h);
    if (hi < 0) continue;
    const double speed = std::max(1.0, s.capacity[static_cast<size_t>(hi)]) * opp_ghz(p, hi, 1000);
    if (speed > best_speed) best_speed = speed, best = hi;
  }
  return best;
}

double host_eff_ghz(const PlatformDesc& p, const SimParams& s, int host_unit, int host_opp) noexcept {
  if (host_unit < 0) return 1.0;
  double cap_max = 0;
  for (int i = 0; i < p.num_units(); ++i) cap_max = std::max(cap_max, s.capacity[static_cast<size_t>(i)]);
  const double cap = s.capacity[static_cast<size_t>(host_unit)];
  const double ratio = (cap_max > 0 && cap > 0) ? cap / cap_max : 1.0;
  return opp_ghz(p, host_unit, host_opp) * ratio;
}

Result<SimParams> load_sim_params(const PlatformDesc& p) {
  using nlohmann::json;
  SimParams s;
  std::ifstream in(p.source_path);
  if (!in) return Error(StatusCode::kNotFound, p.source_path + ": cannot open platform file");
  json j;
  try {
    j = json::parse(in);
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, p.source_path + ": invalid JSON: " + e.what());
  }
  const std::string where = p.source_path + ": sim";
  if (!j.contains("sim")) return s;  // all defaults (e.g. the host platform)
  const json& sim = j["sim"];
  auto num = [&](const json& o, const char* key, double lo, double hi, double* out) -> Status {
    if (!o.contains(key)) return Status::Ok();
    if (!o[key].is_number()) return Error(StatusCode::kCorrupt, where + "." + key + ": must be a number");
    const double v = o[key].get<double>();
    if (!(v >= lo && v <= hi))
      return Error(StatusCode::kCorrupt, where + "." + key + ": " + std::to_string(v) + " out of range [" +
                                             std::to_string(lo) + ", " + std::to_string(hi) + "]");
    *out = v;
    return Status::Ok();
  };
  try {
    HETSCHED_RETURN_IF_ERROR(num(sim, "calibration_temp_c", -20, 120, &s.calibration_temp_c));
    if (sim.contains("leakage")) {
      HETSCHED_RETURN_IF_ERROR(num(sim["leakage"], "mw_at_calibration_temp", 0, 20000, &s.leak_mw_at_cal));
      HETSCHED_RETURN_IF_ERROR(num(sim["leakage"], "doubling_c", 1, 200, &s.leak_doubling_c));
    }
    if (sim.contains("capacity_dmips_mhz")) {
      for (auto it = sim["capacity_dmips_mhz"].begin(); it != sim["capacity_dmips_mhz"].end(); ++it) {
        const int u = it.key().size() == 1 ? p.unit_index(it.key()[0]) : -1;
        if (u < 0) return Error(StatusCode::kCorrupt, where + ".capacity_dmips_mhz." + it.key() + ": unknown unit letter");
        s.capacity[static_cast<size_t>(u)] = it.value().get<double>();
      }
    }
    if (sim.contains("power_prior")) {
      const json& pp = sim["power_prior"];
      HETSCHED_RETURN_IF_ERROR(num(pp, "board_idle_mw", 0, 100000, &s.prior_idle_mw));
      HETSCHED_RETURN_IF_ERROR(num(pp, "npu_active_mw", 0, 100000, &s.prior_npu_mw));
      if (pp.contains("dpc_uw_per_mhz_v2")) {
        for (auto it = pp["dpc_uw_per_mhz_v2"].begin(); it != pp["dpc_uw_per_mhz_v2"].end(); ++it) {
          const int u = it.key().size() == 1 ? p.unit_index(it.key()[0]) : -1;
          if (u < 0)
            return Error(StatusCode::kCorrupt, where + ".power_prior.dpc_uw_per_mhz_v2." + it.key() + ": unknown unit letter");
          s.prior_dpc[static_cast<size_t>(u)] = it.value().get<double>();
        }
      }
    }
    if (sim.contains("transfer_prior")) {
      HETSCHED_RETURN_IF_ERROR(num(sim["transfer_prior"], "fixed_ms", 0, 1000, &s.transfer_fixed_ms));
      HETSCHED_RETURN_IF_ERROR(num(sim["transfer_prior"], "mb_per_s", 1, 1e6, &s.transfer_mb_per_s));
    }
    if (sim.contains("dvfs_delay_uniform_ns")) {
      // No per-pair measurement: one delay for raising and one for lowering the frequency.
      double up = 0, down = 0;
      HETSCHED_RETURN_IF_ERROR(num(sim["dvfs_delay_uniform_ns"], "up", 0, 1e9, &up));
      HETSCHED_RETURN_IF_ERROR(num(sim["dvfs_delay_uniform_ns"], "down", 0, 1e9, &down));
      for (int u = 0; u < p.num_units(); ++u) {
        const size_t n = p.units[static_cast<size_t>(u)].opps.size();
        auto& m = s.dvfs_delay_ms[static_cast<size_t>(u)];
        m.assign(n * n, 0.0);
        for (size_t a = 0; a < n; ++a)
          for (size_t b = 0; b < n; ++b) m[a * n + b] = a == b ? 0.0 : (b > a ? up : down) * 1e-6;
      }
    }
    if (sim.contains("dvfs_delay_ns")) {
      for (auto it = sim["dvfs_delay_ns"].begin(); it != sim["dvfs_delay_ns"].end(); ++it) {
        const std::string f = where + ".dvfs_delay_ns." + it.key();
        const int u = it.key().size() == 1 ? p.unit_index(it.key()[0]) : -1;
        if (u < 0) return Error(StatusCode::kCorrupt, f + ": unknown unit letter");
        const size_t n = p.units[static_cast<size_t>(u)].opps.size();
        if (!it.value().is_array() || it.value().size() != n)
          return Error(StatusCode::kCorrupt, f + ": must be a " + std::to_string(n) + "x" + std::to_string(n) +
                                                 " matrix (one row per OPP)");
        auto& m = s.dvfs_delay_ms[static_cast<size_t>(u)];
        m.assign(n * n, 0.0);
        for (size_t a = 0; a < n; ++a) {
          const json& row = it.value()[a];
          if (!row.is_array() || row.size() != n)
            return Error(StatusCode::kCorrupt, f + "[" + std::to_string(a) + "]: must have " + std::to_string(n) + " entries");
          for (size_t b = 0; b < n; ++b) {
            if (!row[b].is_number() || row[b].get<double>() < 0)
              return Error(StatusCode::kCorrupt, f + "[" + std::to_string(a) + "][" + std::to_string(b) +
                                                     "]: must be a non-negative number of ns");
            m[a * n + b] = row[b].get<double>() * 1e-6;  // ns -> ms
          }
        }
      }
    }
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, where + ": " + e.what());
  }
  return s;
}

}  // namespace hetsched::env
