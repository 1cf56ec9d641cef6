// Static predictions of a configuration, written only in terms of the CostModel queries so
// the simulator's dynamics (which call the same queries tick by tick) agree with them.
#include <algorithm>
#include <array>

#include "env/cost_model.hpp"

namespace hetsched::env {

using policies::UnitKind;

namespace {

Status check(const CostModel& cost, const Config& c) {
  const auto& p = cost.platform();
  if (c.num_blocks != cost.model().num_blocks())
    return Error(StatusCode::kInvalidArgument, "config has " + std::to_string(c.num_blocks) + " blocks, model " +
                                                   cost.model().name + " has " +
                                                   std::to_string(cost.model().num_blocks()));
  for (int b = 0; b < c.num_blocks; ++b)
    if (p.unit_index(c.unit[static_cast<size_t>(b)]) < 0)
      return Error(StatusCode::kInvalidArgument, std::string("block ") + std::to_string(b) + ": unit letter '" +
                                                     c.unit[static_cast<size_t>(b)] + "' not on " + p.name);
  for (char h : {c.gpu_host, c.npu_host}) {
    const int hi = p.unit_index(h);
    if (hi < 0 || p.units[static_cast<size_t>(hi)].kind != UnitKind::kCpu)
      return Error(StatusCode::kInvalidArgument, std::string("host '") + h + "' is not a CPU cluster of " + p.name);
  }
  return Status::Ok();
}

int host_of(const CostModel& cost, const Config& c, int unit) {
  const auto& p = cost.platform();
  const auto k = p.units[static_cast<size_t>(unit)].kind;
  if (k == UnitKind::kGpu) return p.unit_index(c.gpu_host);
  if (k == UnitKind::kNpu) return p.unit_index(c.npu_host);
  return -1;
}

}  // namespace

// Pipeline: consecutive blocks on one unit form a stage; stage time = blocks (at the unit's
// OPP, host OPP for G/N) + the transfer into the stage (+ the frame's input stage for the
// first stage), + the fitted hand-overs at its cuts (in: receiving stage, out: sending stage).
// A unit serves its stages one after another, so the period is the largest per-unit busy time:
// fps = 1000 / period, latency = sum of stage times, power = idle + sum_u (dyn_u + drive_u) *
// util_u with util_u = (busy_u - wait_u) / period (a receiving stage waiting for its hand-over
// draws no dynamic power; drive_u = host-driving power of an accelerator), energy = power / fps.
PipelineSums pipeline_sums(const CostModel& cost, const Config& c) {
  const auto& p = cost.platform();
  PipelineSums s;
  auto& busy = s.busy_ms;
  auto& wait = s.wait_ms;
  for (int b = 0; b < c.num_blocks; ++b) {
    const int u = p.unit_index(c.unit[static_cast<size_t>(b)]);
    const int h = host_of(cost, c, u);
    const int opp = c.freq_idx[static_cast<size_t>(u)];
    const int hopp = h >= 0 ? c.freq_idx[static_cast<size_t>(h)] : 0;
    double t = cost.block_time_ms(b, u, opp, h, hopp);
    if (h >= 0) s.drive_mw[static_cast<size_t>(u)] = cost.host_drive_mw(u, h, hopp);
    if (b > 0) {
      // The receiving stage pays the transfer and waits for the hand-over; the sender pays its
      // own hand-over (CostModel::handoff_in_ms / handoff_out_ms).
      const int pu = p.unit_index(c.unit[static_cast<size_t>(b - 1)]);
      const double in = cost.handoff_in_ms(b - 1, pu, u), out = cost.handoff_out_ms(b - 1, pu, u);
      t += cost.transfer_ms(b - 1, pu, u) + in;
      wait[static_cast<size_t>(u)] += in;
      busy[static_cast<size_t>(pu)] += out;
      s.latency_ms += out;
    }
    // The first stage also reads and preprocesses the frame (on its host cluster for G/N).
    if (b == 0) t += h >= 0 ? cost.input_ms(h, hopp) : cost.input_ms(u, opp);
    if (b == 0 || c.unit[static_cast<size_t>(b - 1)] != c.unit[static_cast<size_t>(b)]) t += cost.segment_ms(u, h, hopp);
    busy[static_cast<size_t>(u)] += t;
    s.latency_ms += t;
  }
  return s;
}

Result<Prediction> predict_pipeline(const CostModel& cost, const Config& c) {
  HETSCHED_RETURN_IF_ERROR(check(cost, c));
  const auto& p = cost.platform();
  const PipelineSums s = pipeline_sums(cost, c);
  const auto& busy = s.busy_ms;
  const auto& wait = s.wait_ms;
  const auto& drive = s.drive_mw;
  const double latency = s.latency_ms;
  const double period = *std::max_element(busy.begin(), busy.end());
  if (!(period > 0) || period >= 1e8) return Error(StatusCode::kOutOfRange, "configuration cannot run (a block has no cost on its unit)");
  Prediction out;
  out.fps = 1000.0 / period;
  out.latency_ms = latency;
  // Steady state at the calibration temperature: idle() - leakage() removes the thermal term.
  out.power_mw = cost.idle_power_mw(c.freq_idx, 25.0) - cost.leakage_power_mw(25.0);
  for (int u = 0; u < p.num_units(); ++u)
    if (busy[static_cast<size_t>(u)] > 0) {
      const double util = (busy[static_cast<size_t>(u)] - wait[static_cast<size_t>(u)]) / period;
      out.power_mw += cost.dynamic_power_mw(u, c.freq_idx[static_cast<size_t>(u)], util) + drive[static_cast<size_t>(u)] * util;
    }
  out.energy_mj = out.power_mw / out.fps;
  return out;
}

// Switch mode: blocks run serially, each at its own OPP (G: plus its host's OPP); a DVFS
// transition is paid whenever a unit's (or a G/N host's) OPP differs from the one it was last
// set to. Energy = sum of block time x block power (+ input stage and waits at idle + host power).
Result<Prediction> predict_switch(const CostModel& cost, const Config& c) {
  HETSCHED_RETURN_IF_ERROR(check(cost, c));
  const auto& p = cost.platform();
  std::array<int, kMaxUnits> cur;
  cur.fill(-1);
  std::array<std::int8_t, kMaxUnits> idle_opp{};
  const double idle = cost.idle_power_mw(idle_opp, 25.0) - cost.leakage_power_mw(25.0);
  double t_total = 0, e_total = 0;  // ms, mJ
  auto set_opp = [&](int u, int opp) {
    if (u < 0 || !p.units[static_cast<size_t>(u)].has_dvfs()) return;
    if (cur[static_cast<size_t>(u)] >= 0 && cur[static_cast<size_t>(u)] != opp) {
      const double d = cost.dvfs_delay_ms(u, cur[static_cast<size_t>(u)], opp);
      t_total += d;
      e_total += d * idle * 1e-3;
    }
    cur[static_cast<size_t>(u)] = opp;
  };
  for (int b = 0; b < c.num_blocks; ++b) {
    const int u = p.unit_index(c.unit[static_cast<size_t>(b)]);
    const auto kind = p.units[static_cast<size_t>(u)].kind;
    const int h = host_of(cost, c, u);
    int opp = c.per_block_freq ? c.block_freq[static_cast<size_t>(b)] : c.freq_idx[static_cast<size_t>(u)];
    int hopp = 0;
    if (kind == UnitKind::kGpu)
      hopp = c.per_block_freq ? c.block_host_freq[static_cast<size_t>(b)] : c.freq_idx[static_cast<size_t>(h)];
    if (kind == UnitKind::kNpu) {
      hopp = c.per_block_freq ? c.block_freq[static_cast<size_t>(b)] : c.freq_idx[static_cast<size_t>(h)];
      opp = 0;
    }
    if (b == 0) {
      // The frame is read and preprocessed on the CPU cluster that drives the first block.
      const int iu = kind == UnitKind::kCpu ? u : h;
      const int iopp = kind == UnitKind::kCpu ? opp : hopp;
      const double ti = cost.input_ms(iu, iopp);
      t_total += ti;
      e_total += ti * (idle + cost.dynamic_power_mw(iu, iopp, 1.0)) * 1e-3;
    }
    set_opp(u, opp);
    if (h >= 0) set_opp(h, hopp);
    if (b > 0) {
      const double tx = cost.transfer_ms(b - 1, p.unit_index(c.unit[static_cast<size_t>(b - 1)]), u);
      t_total += tx;
      e_total += tx * idle * 1e-3;
    }
    // Accelerator invocation per contiguous segment; the CPU stage hand-off that segment_ms
    // returns for CPUs is a pipeline-queue cost with no counterpart in a serial run.
    if (h >= 0 && (b == 0 || c.unit[static_cast<size_t>(b - 1)] != c.unit[static_cast<size_t>(b)])) {
      const double ts = cost.segment_ms(u, h, hopp);
      t_total += ts;
      e_total += ts * cost.block_power_mw(b, u, opp, h, hopp) * 1e-3;
    }
    const double tb = cost.switch_block_ms(b, u, opp, h, hopp);
    if (tb >= 1e8) return Error(StatusCode::kOutOfRange, "block " + std::to_string(b) + " has no cost on its unit");
    t_total += tb;
    e_total += tb * cost.block_power_mw(b, u, opp, h, hopp) * 1e-3;
  }
  Prediction out;
  out.latency_ms = t_total;
  out.fps = 1000.0 / t_total;
  out.energy_mj = e_total;
  out.power_mw = e_total / t_total * 1e3;
  return out;
}

}  // namespace hetsched::env
