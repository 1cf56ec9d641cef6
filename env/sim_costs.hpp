// The cost queries the simulator's dynamics need, as a small interface: the calibrated
// CostModel in production (CostModelCosts), hand-built tables in unit tests so the event
// loop can be checked against exact arithmetic. Called only when a stage's service time or a
// unit's power must be recomputed (config, OPP or condition change) and once per thermal tick
// for idle power, never per frame.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "env/cost_model.hpp"
#include "policies/platform.hpp"

namespace hetsched::env {

class SimCosts {
 public:
  virtual ~SimCosts() = default;
  virtual const policies::PlatformDesc& platform() const noexcept = 0;
  virtual int num_blocks() const noexcept = 0;
  // host_unit: the CPU cluster driving a G/N block (-1 for CPU blocks).
  virtual double block_time_ms(int block, int unit, int opp, int host_unit, int host_opp) const noexcept = 0;
  virtual double transfer_ms(int block, int src_unit, int dst_unit) const noexcept = 0;
  // Whole-board power with every unit idle at these OPPs, including temperature-dependent leakage at temp_c.
  virtual double board_idle_mw(const std::array<std::int8_t, kMaxUnits>& opp, double temp_c) const noexcept = 0;
  virtual double dynamic_power_mw(int unit, int opp, double util) const noexcept = 0;
  virtual double dvfs_delay_ms(int unit, int from_opp, int to_opp) const noexcept = 0;
  // Fixed per-stage cost on top of its blocks and input hand-off (runtime segment set-up;
  // the first stage also reads and preprocesses the frame). 0 unless the cost model has one.
  virtual double stage_overhead_ms(int unit, int opp, int host_unit, int host_opp, bool first_stage) const noexcept {
    (void)unit, (void)opp, (void)host_unit, (void)host_opp, (void)first_stage;
    return 0;
  }
  // Pipeline hand-over of a stage [first, end) on `unit` between prev_unit and next_unit (-1 =
  // none) beyond transfer_ms: CostModel::stage_handoff_ms. *wait_ms gets the part of it the
  // unit waits for its input (handoff_in_ms: no dynamic power). 0 unless the cost model has one.
  virtual double stage_handoff_ms(int first, int end, int prev_unit, int unit, int next_unit, double* wait_ms) const noexcept {
    (void)first, (void)end, (void)prev_unit, (void)unit, (void)next_unit;
    *wait_ms = 0;
    return 0;
  }
  // Power of the host cluster driving a busy accelerator stage (CostModel::host_drive_mw).
  virtual double host_drive_mw(int unit, int host_unit, int host_opp) const noexcept {
    (void)unit, (void)host_unit, (void)host_opp;
    return 0;
  }
  // Switch mode (serial run): a block's time, its power above the idle board, and the frame's input stage.
  virtual double switch_block_ms(int block, int unit, int opp, int host_unit, int host_opp) const noexcept {
    return block_time_ms(block, unit, opp, host_unit, host_opp);
  }
  virtual double block_active_mw(int block, int unit, int opp, int host_unit, int host_opp) const noexcept {
    (void)block, (void)host_unit, (void)host_opp;
    return dynamic_power_mw(unit, opp, 1.0);
  }
  virtual double input_ms(int unit, int opp) const noexcept {
    (void)unit, (void)opp;
    return 0;
  }
};

// Adapter over the calibrated CostModel: borrowed (must outlive the adapter) or shared.
class CostModelCosts final : public SimCosts {
 public:
  explicit CostModelCosts(const CostModel& cost) noexcept : c_(cost) {}
  explicit CostModelCosts(std::shared_ptr<const CostModel> cost) noexcept : keep_(std::move(cost)), c_(*keep_) {}
  const policies::PlatformDesc& platform() const noexcept override { return c_.platform(); }
  int num_blocks() const noexcept override { return c_.model().num_blocks(); }
  double block_time_ms(int block, int unit, int opp, int host_unit, int host_opp) const noexcept override {
    return c_.block_time_ms(block, unit, opp, host_unit, host_opp);
  }
  double transfer_ms(int block, int src, int dst) const noexcept override { return c_.transfer_ms(block, src, dst); }
  double board_idle_mw(const std::array<std::int8_t, kMaxUnits>& opp, double temp_c) const noexcept override;
  double dynamic_power_mw(int unit, int opp, double util) const noexcept override {
    return c_.dynamic_power_mw(unit, opp, util);
  }
  double dvfs_delay_ms(int unit, int from, int to) const noexcept override { return c_.dvfs_delay_ms(unit, from, to); }
  // Same terms as predict_pipeline: segment_ms per stage, input_ms (on the host for G/N) for the first.
  double stage_overhead_ms(int unit, int opp, int host_unit, int host_opp, bool first_stage) const noexcept override {
    double t = c_.segment_ms(unit, host_unit, host_opp);
    if (first_stage) t += host_unit >= 0 ? c_.input_ms(host_unit, host_opp) : c_.input_ms(unit, opp);
    return t;
  }
  double stage_handoff_ms(int first, int end, int prev_unit, int unit, int next_unit, double* wait_ms) const noexcept override {
    *wait_ms = prev_unit >= 0 && first > 0 ? c_.handoff_in_ms(first - 1, prev_unit, unit) : 0.0;
    return c_.stage_handoff_ms(first, end, prev_unit, unit, next_unit);
  }
  double host_drive_mw(int unit, int host_unit, int host_opp) const noexcept override {
    return c_.host_drive_mw(unit, host_unit, host_opp);
  }
  double switch_block_ms(int block, int unit, int opp, int host_unit, int host_opp) const noexcept override {
    return c_.switch_block_ms(block, unit, opp, host_unit, host_opp);
  }
  // block_power_mw is the whole board (idle at the calibration temperature included), as
  // predict_switch uses it; subtract that idle so the simulator can add its own idle(T_die).
  double block_active_mw(int block, int unit, int opp, int host_unit, int host_opp) const noexcept override {
    std::array<std::int8_t, kMaxUnits> low{};
    const double idle_cal = c_.idle_power_mw(low, 25.0) - c_.leakage_power_mw(25.0);
    return c_.block_power_mw(block, unit, opp, host_unit, host_opp) - idle_cal;
  }
  double input_ms(int unit, int opp) const noexcept override { return c_.input_ms(unit, opp); }
  const CostModel& cost() const noexcept { return c_; }

 private:
  std::shared_ptr<const CostModel> keep_;
  const CostModel& c_;
};

}  // namespace hetsched::env
