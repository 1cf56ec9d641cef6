// The calibrated cost model: how long a block takes on a unit at given frequencies, what a
// transfer between units costs, and what the board draws. Everything the simulator's dynamics
// (env/sim), the oracle and the static predictor (hetsched predict / validate) need, and
// nothing else. Fitted parameters come from the platform file's "sim" section and from
// env/platforms/<platform>.costs.json (derived from ../shared/calibration by
// `hetsched calibrate`; each file names its sources).
//
// Units: ms for times, mW for power, mJ for energy. Unit indices are platform unit order.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "policies/config.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

using policies::Config;
using policies::kMaxUnits;
using policies::ModelDesc;
using policies::PlatformDesc;

class CostModel {
 public:
  struct Options {
    std::string data_dir;   // repo root holding env/platforms, env/models
    bool allow_analytic = true;  // predict unprofiled (model, unit) pairs from op-level features
    std::string costs_path;      // fitted-cost file; "" = <data_dir>/env/platforms/<platform>.costs.json
  };

  static Result<CostModel> create(const PlatformDesc& platform, const ModelDesc& model, const Options& options);

  const PlatformDesc& platform() const noexcept;
  const ModelDesc& model() const noexcept;

  // Hot-path queries: noexcept, no allocation. opp / host_opp are OPP indices of the unit and
  // of its host cluster (host_opp ignored for CPU units; opp ignored for units without DVFS).
  double block_time_ms(int block, int unit, int opp, int host_opp) const noexcept;
  // Same with an explicit host cluster (unit index) for G/N blocks; the 4-argument form assumes
  // the unit's default host (the fastest CPU cluster in its "hosts", B on the RK3399Pro).
  double block_time_ms(int block, int unit, int opp, int host_unit, int host_opp) const noexcept;
  // Whole-board power while this block runs alone on an otherwise idle board (what the
  // per-layer campaigns measure): idle + the unit's (and host's) dynamic power.
  double block_power_mw(int block, int unit, int opp, int host_opp) const noexcept;
  double block_power_mw(int block, int unit, int opp, int host_unit, int host_opp) const noexcept;
  // Time to hand block `block`'s output from unit src to unit dst (0 when src == dst).
  double transfer_ms(int block, int src_unit, int dst_unit) const noexcept;
  // Pipeline mode only: the hand-over of the cut after `block` between two concurrently running
  // stages, beyond transfer_ms, fitted on measured pipeline rows (0 where none was fitted).
  // handoff_in_ms is added to the receiving stage (it may be negative, a correction of the
  // separately measured transfer_ms; transfer_ms + handoff_in_ms >= 0); handoff_out_ms (>= 0)
  // to the sending stage (it writes its output for the next unit before taking a new frame).
  double handoff_in_ms(int block, int src_unit, int dst_unit) const noexcept;
  double handoff_out_ms(int block, int src_unit, int dst_unit) const noexcept;
  // Both hand-overs of a stage [first, end) on `unit` between prev_unit and next_unit (-1 = none).
  double stage_handoff_ms(int first, int end, int prev_unit, int unit, int next_unit) const noexcept;
  // Board power with every unit idle at these OPPs (opp per unit), at die temperature temp_c.
  double idle_power_mw(const std::array<std::int8_t, kMaxUnits>& opp, double temp_c) const noexcept;
  // Extra power of unit `unit` running at OPP `opp` with utilisation util in [0,1] (all its cores busy = 1).
  double dynamic_power_mw(int unit, int opp, double util) const noexcept;
  // Extra power of the host CPU cluster while it drives accelerator `unit` (GPU kernel enqueue,
  // NPU calls) at the host's OPP, per unit of the accelerator's utilisation (0 for CPU units and
  // where none was fitted). Board power adds it like dynamic_power_mw of the accelerator.
  double host_drive_mw(int unit, int host_unit, int host_opp) const noexcept;
  // Temperature-dependent leakage added to idle at temp_c (0 at the calibration temperature).
  double leakage_power_mw(double temp_c) const noexcept;
  // Time a DVFS change of a unit from OPP a to OPP b takes (measured transition delay).
  double dvfs_delay_ms(int unit, int from_opp, int to_opp) const noexcept;
  // Input stage of one frame (image read + preprocessing) on the CPU cluster running it.
  double input_ms(int unit, int opp) const noexcept;
  // Serial (switch-mode) runs: the block's time when blocks run one after another with a
  // synchronisation after each (no pipeline overlap); calibrated on the eval_switch_* runs.
  double switch_block_ms(int block, int unit, int opp, int host_unit, int host_opp) const noexcept;
  // Fixed cost paid once per contiguous segment (pipeline stage / serial run of blocks) on an
  // accelerator: the NPU invocation (fill input tensors, run, get outputs), driven by the host
  // cluster, so it scales with the host frequency. CPU units: a constant pipeline-stage hand-off
  // (input queue + tensor hand-over; host arguments ignored, 0 unless fitted); serial runs
  // (predict_switch, the simulator's switch mode) charge segment_ms only for G/N.
  double segment_ms(int unit, int host_unit, int host_opp) const noexcept;
  // Default host cluster (unit index) of a GPU/NPU unit; -1 for CPU units.
  int default_host(int unit) const noexcept;
  // True when (block, unit) was profiled (measured); false when predicted from op features.
  bool profiled(int block, int unit) const noexcept;

  CostModel(CostModel&&) noexcept;
  CostModel& operator=(CostModel&&) noexcept;
  ~CostModel();

 private:
  struct Impl;
  explicit CostModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Static (steady-state, no dynamics) prediction of a configuration.
struct Prediction {
  double latency_ms = 0;   // one frame through the whole pipeline (switch: the serial run)
  double fps = 0;          // pipeline: 1000 / slowest stage (incl. transfers); switch: 1000 / latency
  double power_mw = 0;     // average whole-board power
  double energy_mj = 0;    // energy per frame = power_mw / fps
};
// Per-unit sums of one frame in pipeline mode: the one accounting behind predict_pipeline, the
// calibration's pipeline fits and the agent's per-candidate costs (env/policy_runner).
struct PipelineSums {
  std::array<double, kMaxUnits> busy_ms{};   // per unit: its stages (blocks, transfers, hand-overs, input, segments)
  std::array<double, kMaxUnits> wait_ms{};   // part of busy_ms a receiving stage waits for a hand-over (no dynamic power)
  std::array<double, kMaxUnits> drive_mw{};  // host-driving power of each accelerator at full utilisation
  double latency_ms = 0;                     // one frame through every stage
};
// Every unit letter of config must be on the platform (predict_pipeline checks it first).
PipelineSums pipeline_sums(const CostModel& cost, const Config& config);
Result<Prediction> predict_pipeline(const CostModel& cost, const Config& config);
Result<Prediction> predict_switch(const CostModel& cost, const Config& config);

}  // namespace hetsched::env
