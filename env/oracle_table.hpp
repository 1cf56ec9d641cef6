// The oracle's cost table: everything the exact search needs, flattened into arrays so one
// query touches no CostModel code in its inner loops and allocates nothing.
//
//   time prefix  P[u, opp, host, host_opp][j] = sum of block_time_ms(b, u, opp, host_opp), b < j
//                (so a stage [i, j) costs slowdown_u * (P[j] - P[i]) in O(1));
//   stage power  D[u, opp, host, host_opp]    = dynamic power (mW) of the stage's unit at full
//                utilisation (dynamic_power_mw(u, opp, 1), + host_drive_mw(u, host, host_opp) for
//                G/N); a stage busy t ms per frame adds
//                D * t / 1000 mJ per frame (utilisation t * fps / 1000, energy = power / fps);
//   fixed        F[key] = segment_ms (per stage, accelerators' segment overhead), plus
//                I[key] = input_ms (the frame's input, on the host for G/N) for the first stage;
//                not scaled by slowdown (the simulator's stage_overhead_ms);
//   transfers    X[b, src, dst]               = transfer_ms(b, src, dst) + handoff_in_ms(b, src, dst),
//                added to the receiving stage (it pays the hand-off of its input, as
//                predict_pipeline and the simulator do);
//   hand-over    O[b, src, dst]               = handoff_out_ms(b, src, dst), added to the sending
//                stage (so a stage's time depends on the next stage's unit); W[b, src, dst] =
//                handoff_in_ms, the part of X the receiver waits (its energy is D (t - W));
//   base power   B(opp vector, conditions)    = idle (with leakage at the die temperature) + every
//                unit's background load at full rate; a callback because it depends on every
//                unit's OPP and on the die temperature;
//   unit power   W[u, opp]                    = dynamic power of unit u fully busy: background load
//                bg_u draws W bg_u (1 - util_u), so a stage's own time *removes* W bg_u t / 1000
//                mJ per frame from the base (and an accelerator stage removes W_h bg_h t / cores_h
//                on its host, whose driver thread holds one core; the simulator's accounting).
//
// The production table is built from a CostModel (oracle_table.cpp); tests fill it by hand
// (random costs) to prove the search exact against brute force on the same numbers.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "env/conditions.hpp"
#include "env/cost_model.hpp"
#include "policies/config.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

// OPP index per platform unit as CostModel::idle_power_mw takes it (-1 for units without DVFS).
using OppVector = std::array<std::int8_t, kMaxUnits>;
// Whole-board power that does not depend on the placement: idle at these OPPs, leakage at the
// die temperature, background load. Must be noexcept-safe and allocation-free.
using BasePowerFn = std::function<double(const OppVector& opp, const Conditions& cond)>;

struct OracleUnit {
  char letter = '?';
  bool accel = false;          // GPU/NPU: needs a host CPU cluster (its OPP changes the times)
  bool npu = false;            // accel hosted by Config::npu_host (else Config::gpu_host)
  int num_opps = 1;            // >= 1; a unit without DVFS has one pseudo-OPP (index 0, reported -1)
  bool dvfs = false;           // false: freq_idx -1 in the Config
  std::uint32_t host_mask = 0; // accel: bit h set when unit h may host it (CPU units only)
  int cores = 1;               // a hosted accelerator's driver holds 1 / cores of its host
};

struct OracleTable {
  int num_blocks = 0;
  int num_units = 0;
  int max_opps = 1;                           // max num_opps over units (key stride)
  std::array<OracleUnit, kMaxUnits> units{};
  std::vector<double> time_prefix;            // [key][num_blocks + 1], key = key_of(...)
  std::vector<double> stage_power_mw;         // [key]
  std::vector<double> stage_fixed_ms;         // [key]: per-stage overhead
  std::vector<double> first_fixed_ms;         // [key]: extra when the stage is the first (input)
  std::vector<double> transfer;               // [(block * num_units + src) * num_units + dst]
  std::vector<double> handoff_out;            // same index: the sender's hand-over (>= 0)
  std::vector<double> handoff_wait;           // same index: part of transfer[] the receiver waits
                                              // (no dynamic power: its stage adds D * (t - wait))
  std::vector<std::uint8_t> has_out;          // [src * num_units + dst]: any handoff_out > 0
  std::vector<double> unit_power_mw;          // [unit * max_opps + opp]: W, fully busy
  BasePowerFn base_power;

  // Allocates the arrays (zeroed) for this shape; then fill them with the setters.
  Status resize(int blocks, const std::array<OracleUnit, kMaxUnits>& unit_desc, int units_count);

  // Host is ignored (use 0) for CPU units; host_opp likewise.
  int key_of(int unit, int opp, int host, int host_opp) const noexcept {
    return ((unit * max_opps + opp) * num_units + host) * max_opps + host_opp;
  }
  int num_keys() const noexcept { return num_units * max_opps * num_units * max_opps; }
  const double* prefix(int key) const noexcept {
    return time_prefix.data() + static_cast<size_t>(key) * static_cast<size_t>(num_blocks + 1);
  }
  double xfer(int block, int src, int dst) const noexcept {
    return transfer[(static_cast<size_t>(block) * num_units + src) * num_units + dst];
  }
  double xout(int block, int src, int dst) const noexcept {
    return handoff_out[(static_cast<size_t>(block) * num_units + src) * num_units + dst];
  }
  // Sets the per-block times of one key and rebuilds its prefix sums.
  void set_block_times(int key, const double* block_ms) noexcept;
  void set_transfer(int block, int src, int dst, double ms) noexcept {
    transfer[(static_cast<size_t>(block) * num_units + src) * num_units + dst] = ms;
  }
  double xwait(int block, int src, int dst) const noexcept {
    return handoff_wait[(static_cast<size_t>(block) * num_units + src) * num_units + dst];
  }
  void set_handoff_wait(int block, int src, int dst, double ms) noexcept {
    handoff_wait[(static_cast<size_t>(block) * num_units + src) * num_units + dst] = ms;
  }
  void set_handoff_out(int block, int src, int dst, double ms) noexcept {
    handoff_out[(static_cast<size_t>(block) * num_units + src) * num_units + dst] = ms;
    if (ms != 0) has_out[static_cast<size_t>(src * num_units + dst)] = 1;
  }
};

// Builds the table from a calibrated CostModel (every block, unit, OPP, host and host OPP).
Result<OracleTable> build_oracle_table(const CostModel& cost);

// What a configuration achieves under these conditions, with the accounting of the simulator
// (and of predict_pipeline at nominal conditions):
//   stage time t_s = slowdown_u * sum of its block times + fixed overhead + (first stage: input,
//                    else the transfer into the stage) + (not last: hand-over to the next stage);
//   fps = target_fps when every t_s <= 1000 / target_fps, else 1000 / max t_s;
//   util_u = fps / 1000 * (t_u + sum of t_a / cores_u over accelerators a hosted by u);
//   power = idle(OPPs, die) + sum_s D_s (t_s - wait_s) fps / 1000 + sum_u W_u bg_u max(0, 1 - util_u);
//   energy per frame (mJ) = power / fps.
// The search uses the same formula without the max(0, .) (linear in the stage times); the two
// differ only when a host is over-subscribed by its own stage plus a driver thread.
struct OracleEval {
  bool valid = false;          // false: the config breaks a rule under these conditions
  bool meets_fps = false;      // every stage fits 1000 / target_fps (true when target is 0)
  double latency_ms = 0;       // sum of stage times
  double bottleneck_ms = 0;    // slowest stage
  double fps = 0;
  double power_mw = 0;
  double energy_mj = 0;
  double linear_energy_mj = 0; // the same without the max(0, .) of the background term
};
OracleEval evaluate_config(const OracleTable& table, const Conditions& cond, const policies::Config& config) noexcept;

// Combos of OPP indices: mixed-radix over units (digit u in [0, num_opps_u)).
inline OppVector opp_vector_for_base(const OracleTable& t, const std::array<int, kMaxUnits>& digits) noexcept {
  OppVector v{};
  v.fill(-1);
  for (int u = 0; u < t.num_units; ++u)
    v[static_cast<size_t>(u)] = t.units[static_cast<size_t>(u)].dvfs ? static_cast<std::int8_t>(digits[static_cast<size_t>(u)]) : -1;
  return v;
}

}  // namespace hetsched::env
