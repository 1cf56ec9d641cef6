// Oracle cost table: construction from a CostModel and the reference evaluation of one config.
#include "env/oracle_table.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace hetsched::env {

Status OracleTable::resize(int blocks, const std::array<OracleUnit, kMaxUnits>& unit_desc, int units_count) {
  if (blocks < 1 || blocks > policies::kMaxBlocks)
    return Error(StatusCode::kInvalidArgument, "oracle table: num_blocks " + std::to_string(blocks) +
                                                   " outside [1, " + std::to_string(policies::kMaxBlocks) + "]");
  if (units_count < 1 || units_count > kMaxUnits)
    return Error(StatusCode::kInvalidArgument, "oracle table: num_units " + std::to_string(units_count) +
                                                   " outside [1, " + std::to_string(kMaxUnits) + "]");
  num_blocks = blocks;
  num_units = units_count;
  units = unit_desc;
  max_opps = 1;
  for (int u = 0; u < num_units; ++u) {
    const OracleUnit& d = units[static_cast<size_t>(u)];
    if (d.num_opps < 1 || d.num_opps > 64)
      return Error(StatusCode::kInvalidArgument, std::string("oracle table: unit ") + d.letter + " num_opps " +
                                                     std::to_string(d.num_opps) + " outside [1, 64]");
    if (!d.dvfs && d.num_opps != 1)
      return Error(StatusCode::kInvalidArgument, std::string("oracle table: unit ") + d.letter +
                                                     " has no DVFS but num_opps != 1");
    if (d.accel && d.host_mask == 0)
      return Error(StatusCode::kInvalidArgument, std::string("oracle table: accelerator ") + d.letter + " has no host");
    for (int h = 0; h < num_units; ++h)
      if ((d.host_mask >> h & 1u) && units[static_cast<size_t>(h)].accel)
        return Error(StatusCode::kInvalidArgument, std::string("oracle table: host of ") + d.letter + " is an accelerator");
    if (d.host_mask >> num_units)
      return Error(StatusCode::kInvalidArgument, std::string("oracle table: host mask of ") + d.letter + " names a unit that does not exist");
    max_opps = std::max(max_opps, d.num_opps);
  }
  time_prefix.assign(static_cast<size_t>(num_keys()) * static_cast<size_t>(num_blocks + 1), 0.0);
  stage_power_mw.assign(static_cast<size_t>(num_keys()), 0.0);
  stage_fixed_ms.assign(static_cast<size_t>(num_keys()), 0.0);
  first_fixed_ms.assign(static_cast<size_t>(num_keys()), 0.0);
  transfer.assign(static_cast<size_t>(num_blocks) * num_units * num_units, 0.0);
  handoff_out.assign(static_cast<size_t>(num_blocks) * num_units * num_units, 0.0);
  handoff_wait.assign(static_cast<size_t>(num_blocks) * num_units * num_units, 0.0);
  has_out.assign(static_cast<size_t>(num_units * num_units), 0);
  unit_power_mw.assign(static_cast<size_t>(num_units * max_opps), 0.0);
  return Status::Ok();
}

void OracleTable::set_block_times(int key, const double* block_ms) noexcept {
  double* p = time_prefix.data() + static_cast<size_t>(key) * static_cast<size_t>(num_blocks + 1);
  p[0] = 0;
  for (int b = 0; b < num_blocks; ++b) p[b + 1] = p[b] + block_ms[b];
}

OracleEval evaluate_config(const OracleTable& t, const Conditions& cond, const policies::Config& c) noexcept {
  OracleEval r;
  if (c.num_blocks != t.num_blocks || c.per_block_freq) return r;
  // Stages: maximal runs of one letter; a unit may own at most one run.
  int stage_unit[kMaxUnits];
  int stage_begin[kMaxUnits + 1];
  int k = 0;
  std::uint32_t seen = 0;
  for (int b = 0; b < t.num_blocks; ++b) {
    int u = -1;
    for (int i = 0; i < t.num_units; ++i)
      if (t.units[static_cast<size_t>(i)].letter == c.unit[static_cast<size_t>(b)]) u = i;
    if (u < 0 || !cond.unit[static_cast<size_t>(u)].online) return r;
    if (b == 0 || u != stage_unit[k - 1]) {
      if (seen >> u & 1u) return r;
      seen |= 1u << u;
      stage_unit[k] = u;
      stage_begin[k] = b;
      ++k;
    }
  }
  stage_begin[k] = t.num_blocks;
  // OPPs: in range, within the thermal cap.
  std::array<int, kMaxUnits> digit{};
  for (int u = 0; u < t.num_units; ++u) {
    const OracleUnit& o = t.units[static_cast<size_t>(u)];
    const int f = c.freq_idx[static_cast<size_t>(u)];
    if (!o.dvfs) {
      if (f != -1) return r;
      continue;
    }
    const int cap = std::clamp(cond.unit[static_cast<size_t>(u)].max_opp, 0, o.num_opps - 1);
    if (f < 0 || f > cap) return r;
    digit[static_cast<size_t>(u)] = f;
  }
  // Stage times, and each unit's busy time per frame (own stage + driver threads it hosts).
  double S = 0, L = 0, T = 0;
  std::array<double, kMaxUnits> busy{};
  for (int s = 0; s < k; ++s) {
    const int u = stage_unit[s];
    const OracleUnit& o = t.units[static_cast<size_t>(u)];
    int h = 0, hopp = 0;
    if (o.accel) {
      const char hl = o.npu ? c.npu_host : c.gpu_host;
      h = -1;
      for (int i = 0; i < t.num_units; ++i)
        if (t.units[static_cast<size_t>(i)].letter == hl) h = i;
      if (h < 0 || !(o.host_mask >> h & 1u) || !cond.unit[static_cast<size_t>(h)].online) return r;
      hopp = digit[static_cast<size_t>(h)];
    }
    const int key = t.key_of(u, digit[static_cast<size_t>(u)], h, hopp);
    const double* p = t.prefix(key);
    double ts = cond.unit[static_cast<size_t>(u)].slowdown * (p[stage_begin[s + 1]] - p[stage_begin[s]]);
    ts += t.stage_fixed_ms[static_cast<size_t>(key)] +
          (s > 0 ? t.xfer(stage_begin[s] - 1, stage_unit[s - 1], u) : t.first_fixed_ms[static_cast<size_t>(key)]) +
          (s + 1 < k ? t.xout(stage_begin[s + 1] - 1, u, stage_unit[s + 1]) : 0.0);
    const double wait = s > 0 ? t.xwait(stage_begin[s] - 1, stage_unit[s - 1], u) : 0.0;
    S += t.stage_power_mw[static_cast<size_t>(key)] * (ts - wait);
    L += ts;
    T = std::max(T, ts);
    busy[static_cast<size_t>(u)] += ts;
    if (o.accel) busy[static_cast<size_t>(h)] += ts / std::max(1, t.units[static_cast<size_t>(h)].cores);
  }
  const double F = cond.target_fps;
  r.valid = true;
  r.latency_ms = L;
  r.bottleneck_ms = T;
  r.meets_fps = F <= 0 || T <= 1000.0 / F * (1 + 1e-12);
  r.fps = (F > 0 && r.meets_fps) ? F : (T > 0 ? 1000.0 / T : 0.0);
  if (!(r.fps > 0)) return r;
  // base_power holds the background load at full rate; take back what our stages displace.
  double p = t.base_power(opp_vector_for_base(t, digit), cond) + S * r.fps / 1000.0, p_lin = p;
  for (int u = 0; u < t.num_units; ++u) {
    const double w = t.unit_power_mw[static_cast<size_t>(u * t.max_opps + digit[static_cast<size_t>(u)])] *
                     cond.unit[static_cast<size_t>(u)].bg_util;
    const double util = busy[static_cast<size_t>(u)] * r.fps / 1000.0;
    p -= w * std::min(1.0, util);
    p_lin -= w * util;
  }
  r.power_mw = p;
  r.energy_mj = p / r.fps;
  r.linear_energy_mj = p_lin / r.fps;
  return r;
}

}  // namespace hetsched::env
