// Builds the oracle's cost table from the calibrated CostModel, with the same accounting as
// predict_pipeline (env/predict.cpp) and the simulator (env/sim.cpp): see docs/oracle.md.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "env/oracle.hpp"
#include "env/oracle_table.hpp"

namespace hetsched::env {

Result<OracleTable> build_oracle_table(const CostModel& cost) {
  const PlatformDesc& plat = cost.platform();
  const ModelDesc& model = cost.model();
  std::array<OracleUnit, kMaxUnits> desc{};
  for (int u = 0; u < plat.num_units(); ++u) {
    if (u >= kMaxUnits) break;
    const policies::UnitDesc& ud = plat.units[static_cast<size_t>(u)];
    OracleUnit& o = desc[static_cast<size_t>(u)];
    o.letter = ud.letter;
    o.accel = ud.kind != policies::UnitKind::kCpu;
    o.npu = ud.kind == policies::UnitKind::kNpu;
    o.dvfs = ud.has_dvfs();
    o.num_opps = o.dvfs ? static_cast<int>(ud.opps.size()) : 1;
    o.cores = std::max(1, ud.cores);
    for (char h : ud.hosts) {
      const int hi = plat.unit_index(h);
      if (hi >= 0) o.host_mask |= 1u << hi;
    }
  }
  OracleTable t;
  HETSCHED_RETURN_IF_ERROR(t.resize(model.num_blocks(), desc, plat.num_units()));

  std::vector<double> times(static_cast<size_t>(t.num_blocks));
  for (int u = 0; u < t.num_units; ++u) {
    const OracleUnit& o = t.units[static_cast<size_t>(u)];
    for (int opp = 0; opp < o.num_opps; ++opp) {
      for (int h = 0; h < (o.accel ? t.num_units : 1); ++h) {
        if (o.accel && !(o.host_mask >> h & 1u)) continue;
        const int host_opps = o.accel ? t.units[static_cast<size_t>(h)].num_opps : 1;
        for (int hopp = 0; hopp < host_opps; ++hopp) {
          for (int b = 0; b < t.num_blocks; ++b) {
            const double ms = o.accel ? cost.block_time_ms(b, u, opp, h, hopp) : cost.block_time_ms(b, u, opp, -1, 0);
            if (!std::isfinite(ms) || ms < 0)
              return Error(StatusCode::kInternal, "oracle table: block_time_ms(block " + std::to_string(b) + ", unit " +
                                                      std::string(1, o.letter) + ", opp " + std::to_string(opp) +
                                                      ") = " + std::to_string(ms) + " is not a finite time >= 0");
            times[static_cast<size_t>(b)] = ms;
          }
          const int key = t.key_of(u, opp, h, hopp);
          t.set_block_times(key, times.data());
          t.stage_power_mw[static_cast<size_t>(key)] = cost.dynamic_power_mw(u, opp, 1.0) + (o.accel ? cost.host_drive_mw(u, h, hopp) : 0.0);
          // Per-stage overhead and the first stage's input, as predict_pipeline and the
          // simulator's stage_overhead_ms add them (input runs on the host for G/N).
          t.stage_fixed_ms[static_cast<size_t>(key)] = o.accel ? cost.segment_ms(u, h, hopp) : cost.segment_ms(u, -1, 0);
          t.first_fixed_ms[static_cast<size_t>(key)] = o.accel ? cost.input_ms(h, hopp) : cost.input_ms(u, opp);
        }
      }
    }
  }
  for (int u = 0; u < t.num_units; ++u)
    for (int opp = 0; opp < t.units[static_cast<size_t>(u)].num_opps; ++opp)
      t.unit_power_mw[static_cast<size_t>(u * t.max_opps + opp)] = cost.dynamic_power_mw(u, opp, 1.0);
  for (int b = 0; b < t.num_blocks; ++b)
    for (int s = 0; s < t.num_units; ++s)
      for (int d = 0; d < t.num_units; ++d) {
        if (s == d) continue;
        t.set_transfer(b, s, d, cost.transfer_ms(b, s, d) + cost.handoff_in_ms(b, s, d));
        t.set_handoff_out(b, s, d, cost.handoff_out_ms(b, s, d));
        t.set_handoff_wait(b, s, d, cost.handoff_in_ms(b, s, d));
      }

  // The callback keeps a pointer to the CostModel: the caller owns it and keeps it alive as
  // long as the table (Oracle::Options documents this).
  const CostModel* cm = &cost;
  const int nu = t.num_units;
  t.base_power = [cm, nu](const OppVector& opp, const Conditions& cond) {
    double p = cm->idle_power_mw(opp, cond.die_temp_c);  // includes leakage at die_temp_c
    for (int u = 0; u < nu; ++u) {
      const double bg = cond.unit[static_cast<size_t>(u)].bg_util;
      if (bg > 0) p += cm->dynamic_power_mw(u, std::max<int>(0, opp[static_cast<size_t>(u)]), bg);
    }
    return p;
  };
  return t;
}

Result<Oracle> Oracle::create(const CostModel& cost, const Options& options) {
  Result<OracleTable> t = build_oracle_table(cost);
  if (!t.ok()) return t.status();
  return create(std::move(t).value(), options);
}

}  // namespace hetsched::env
