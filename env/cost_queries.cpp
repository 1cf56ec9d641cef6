// CostModel hot-path queries: table lookups and a few flops, noexcept, no allocation.
#include <algorithm>
#include <cmath>

#include "env/cost_impl.hpp"

namespace hetsched::env {

double CostModel::block_time_ms(int block, int unit, int opp, int host_opp) const noexcept {
  return block_time_ms(block, unit, opp, -1, host_opp);
}

double CostModel::block_time_ms(int block, int unit, int opp, int host_unit, int host_opp) const noexcept {
  const Impl& I = *impl_;
  if (block < 0 || block >= I.NB || unit < 0 || unit >= I.U) return kUnavailableMs;
  const double t = I.raw_time(block, unit, opp, host_unit, host_opp);
  if (t >= kUnavailableMs) return t;
  const size_t u = static_cast<size_t>(unit);
  // t = s * raw; pipeline time = raw * (ka * s + kb * rel) = t * (ka + kb * rel / s), the same
  // linear form calib_pipeline.cpp fits (scale s and kb enter additively, not as a product).
  const double inv_s = I.inv_bscale[static_cast<size_t>(block * I.U + unit)];
  return t * std::max(0.1, I.ka[u] + I.kb[u] * inv_s * I.rel_slow(unit, opp, host_unit, host_opp));
}

double CostModel::switch_block_ms(int block, int unit, int opp, int host_unit, int host_opp) const noexcept {
  const Impl& I = *impl_;
  if (block < 0 || block >= I.NB || unit < 0 || unit >= I.U) return kUnavailableMs;
  const double t = I.raw_time(block, unit, opp, host_unit, host_opp);
  if (t >= kUnavailableMs) return t;
  // block_scale is a pipeline-mode correction (fitted on pipeline rows only): serial runs use the
  // per-layer profile with their own per-unit scale.
  const double inv_s = I.inv_bscale[static_cast<size_t>(block * I.U + unit)];
  return t * inv_s * I.sw_scale[static_cast<size_t>(unit)] + I.sw_block_ms;
}

double CostModel::block_power_mw(int block, int unit, int opp, int host_opp) const noexcept {
  return block_power_mw(block, unit, opp, -1, host_opp);
}

double CostModel::block_power_mw(int block, int unit, int opp, int host_unit, int host_opp) const noexcept {
  const Impl& I = *impl_;
  if (block < 0 || block >= I.NB || unit < 0 || unit >= I.U) return 0;
  const TimeCoef& p = I.pcoef[static_cast<size_t>(block * I.U + unit)];
  const int h = host_unit < 0 ? I.host[static_cast<size_t>(unit)] : host_unit;
  double x_host = 0;
  if (I.platform.units[static_cast<size_t>(unit)].kind != UnitKind::kCpu && h >= 0) x_host = I.x_power(h, host_opp);
  return I.power_scale[static_cast<size_t>(unit)] * (p.a + p.b * I.x_power(unit, opp) + p.c * x_host);
}

double CostModel::transfer_ms(int block, int src_unit, int dst_unit) const noexcept {
  const Impl& I = *impl_;
  if (src_unit == dst_unit) return 0;
  if (block < 0 || block >= I.NB || src_unit < 0 || src_unit >= I.U || dst_unit < 0 || dst_unit >= I.U) return 0;
  return I.xfer[static_cast<size_t>((block * I.U + src_unit) * I.U + dst_unit)];
}

double CostModel::handoff_in_ms(int block, int src_unit, int dst_unit) const noexcept {
  const Impl& I = *impl_;
  if (src_unit == dst_unit) return 0;
  if (block < 0 || block >= I.NB || src_unit < 0 || src_unit >= I.U || dst_unit < 0 || dst_unit >= I.U) return 0;
  const size_t i = static_cast<size_t>((block * I.U + src_unit) * I.U + dst_unit);
  return std::max(I.hand_in[i], -I.xfer[i]);
}

double CostModel::handoff_out_ms(int block, int src_unit, int dst_unit) const noexcept {
  const Impl& I = *impl_;
  if (src_unit == dst_unit) return 0;
  if (block < 0 || block >= I.NB || src_unit < 0 || src_unit >= I.U || dst_unit < 0 || dst_unit >= I.U) return 0;
  return I.hand_out[static_cast<size_t>((block * I.U + src_unit) * I.U + dst_unit)];
}

double CostModel::stage_handoff_ms(int first, int end, int prev_unit, int unit, int next_unit) const noexcept {
  double t = 0;
  if (prev_unit >= 0 && first > 0) t += handoff_in_ms(first - 1, prev_unit, unit);
  if (next_unit >= 0) t += handoff_out_ms(end - 1, unit, next_unit);
  return t;
}

double CostModel::idle_power_mw(const std::array<std::int8_t, kMaxUnits>& opp, double temp_c) const noexcept {
  const Impl& I = *impl_;
  double p = I.base_mw + leakage_power_mw(temp_c);
  for (int u = 0; u < I.U; ++u) {
    const auto& v = I.idle_mw[static_cast<size_t>(u)];
    if (v.empty()) continue;
    p += v[static_cast<size_t>(std::clamp<int>(opp[static_cast<size_t>(u)], 0, static_cast<int>(v.size()) - 1))];
  }
  return p;
}

double CostModel::dynamic_power_mw(int unit, int opp, double util) const noexcept {
  const Impl& I = *impl_;
  if (unit < 0 || unit >= I.U) return 0;
  const auto& v = I.dyn_mw[static_cast<size_t>(unit)];
  if (v.empty()) return 0;
  return std::clamp(util, 0.0, 1.0) * v[static_cast<size_t>(std::clamp(opp, 0, static_cast<int>(v.size()) - 1))];
}

double CostModel::host_drive_mw(int unit, int host_unit, int host_opp) const noexcept {
  const Impl& I = *impl_;
  if (unit < 0 || unit >= I.U || host_unit < 0 || host_unit >= I.U) return 0;
  const auto& v = I.drive_mw[static_cast<size_t>(unit)][static_cast<size_t>(host_unit)];
  if (v.empty()) return 0;
  return v[static_cast<size_t>(std::clamp(host_opp, 0, static_cast<int>(v.size()) - 1))];
}

double CostModel::leakage_power_mw(double temp_c) const noexcept {
  const SimParams& s = impl_->sim;
  // Subthreshold leakage grows roughly exponentially with temperature; "doubling every
  // doubling_c degrees" is the usual rule of thumb. 0 at the calibration temperature because
  // the fitted idle power already contains the leakage at that temperature.
  return s.leak_mw_at_cal * (std::exp2((temp_c - s.calibration_temp_c) / s.leak_doubling_c) - 1.0);
}

double CostModel::dvfs_delay_ms(int unit, int from_opp, int to_opp) const noexcept {
  const Impl& I = *impl_;
  if (unit < 0 || unit >= I.U || from_opp == to_opp) return 0;
  const auto& m = I.sim.dvfs_delay_ms[static_cast<size_t>(unit)];
  const int n = static_cast<int>(I.platform.units[static_cast<size_t>(unit)].opps.size());
  if (m.empty() || n == 0) return 0;
  from_opp = std::clamp(from_opp, 0, n - 1);
  to_opp = std::clamp(to_opp, 0, n - 1);
  return m[static_cast<size_t>(from_opp * n + to_opp)];
}

bool CostModel::profiled(int block, int unit) const noexcept {
  const Impl& I = *impl_;
  if (block < 0 || block >= I.NB || unit < 0 || unit >= I.U) return false;
  return I.kind[static_cast<size_t>(block * I.U + unit)] == kProfiled;
}

double CostModel::input_ms(int unit, int opp) const noexcept {
  const Impl& I = *impl_;
  if (unit < 0 || unit >= I.U) return 0;
  const TimeCoef& c = I.input[static_cast<size_t>(unit)];
  return std::max(0.0, c.a + c.b / I.f_own(unit, opp));
}

double CostModel::segment_ms(int unit, int host_unit, int host_opp) const noexcept {
  const Impl& I = *impl_;
  if (unit < 0 || unit >= I.U) return 0;
  // CPU stage: a constant hand-off per stage (fitted only for densely measured models; 0 else).
  if (I.platform.units[static_cast<size_t>(unit)].kind == UnitKind::kCpu)
    return std::max(0.0, I.segment[static_cast<size_t>(unit)][static_cast<size_t>(unit)].a);
  const int h = host_unit < 0 || host_unit >= I.U ? I.host[static_cast<size_t>(unit)] : host_unit;
  if (h < 0) return 0;
  const TimeCoef& c = I.segment[static_cast<size_t>(unit)][static_cast<size_t>(h)];
  return std::max(0.0, c.a + c.c / host_eff_ghz(I.platform, I.sim, h, host_opp));
}

int CostModel::default_host(int unit) const noexcept {
  if (unit < 0 || unit >= impl_->U) return -1;
  return impl_->host[static_cast<size_t>(unit)];
}

}  // namespace hetsched::env
