// The simulator's dynamics: a discrete-event simulation of frames flowing through the
// pipeline stages of a configuration on a heterogeneous SoC, with bounded queues, DVFS
// transition delays, reconfiguration drain/refill, scenario events, a thermal RC network and
// a step_wise throttling governor. One step() = one decision period. Model and formulas:
// docs/simulator.md.
//
// Lifecycle: create() (validates options, allocates everything) → reset(scenario, seed)
// (may allocate: precomputes the scenario timeline) → apply()/step() on the hot path
// (noexcept, allocation-free; apply() allocates only to report an error).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "env/conditions.hpp"
#include "env/metrics.hpp"
#include "env/observation.hpp"
#include "env/scenario.hpp"
#include "env/sim_costs.hpp"
#include "env/sim_rng.hpp"
#include "env/thermal.hpp"
#include "policies/config.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

struct SimOptions {
  int queue_capacity = 2;          // frames that may wait in front of each stage (input queue too), 1..8
  double time_cov = 0.02;          // coefficient of variation of every stage service time (lognormal)
  double power_cov = 0.014;        // coefficient of variation of each period's measured board energy
  int thermal_tick_ms = 0;         // RC/governor tick; 0 = shortest passive polling interval, capped at the period
  double reconfig_setup_ms = 20;   // fixed graph re-setup cost of a split/placement change (assumption, see docs)
  bool start_warm = true;          // start at the idle steady-state temperature instead of ambient
};

// Everything the simulator knows about one period, hidden conditions included (for info/tests).
struct PeriodTruth {
  PeriodSample sample;             // what the metrics accumulator consumed
  PeriodVerdict verdict;
  Conditions conditions;           // at the end of the period (thermal caps and die temperature filled)
  std::int64_t frames_in = 0;      // cumulative: frames that entered the system (arrived or pulled)
  std::int64_t frames_done = 0;    // cumulative: delivered
  std::int64_t frames_dropped = 0; // cumulative
  int frames_in_system = 0;        // queued + in service now
  bool dvfs_changed = false;       // a requested-frequency change was applied in the period
};

class Simulator {
 public:
  static Result<Simulator> create(std::shared_ptr<const SimCosts> costs, const ThermalParams& thermal,
                                  const SimOptions& options);

  // Restarts time at 0 with this scenario (validated against the platform) and RNG seed.
  // The pipeline is empty and idle until the first apply().
  Status reset(const Scenario& scenario, std::uint64_t seed);
  // Requests a configuration. Same as current: no-op. Only OPP indices differ: DVFS transitions.
  // Split/placement differs: drain, re-setup, refill (counted in reconfigs).
  Status apply(const policies::Config& config) noexcept;
  // Advances one decision period. Returns the sensed observation of that period.
  const Observation& step() noexcept;

  bool done() const noexcept { return period_index_ >= num_periods_; }
  const Observation& observation() const noexcept { return obs_; }
  const PeriodTruth& truth() const noexcept { return truth_; }
  const Conditions& conditions() const noexcept { return cond_; }
  // Incremented whenever the hidden conditions change other than die temperature (scenario
  // event or thermal cap): a cheap "re-plan now" signal for oracle policies.
  std::uint64_t conditions_version() const noexcept { return cond_version_; }
  const MetricsAccumulator& metrics() const noexcept { return acc_; }
  const policies::PlatformDesc& platform() const noexcept { return costs_->platform(); }
  const Scenario& scenario() const noexcept { return scenario_; }
  double now_s() const noexcept { return static_cast<double>(t_ns_) * 1e-9; }
  double die_temp_c() const noexcept { return net_.die_c(); }
  int num_stages() const noexcept { return num_stages_; }

 private:
  static constexpr std::int64_t kNever = INT64_MAX;
  static constexpr int kQueueMax = 8;
  struct Stage {
    std::uint8_t mask = 0;          // units occupied while serving
    std::uint8_t need = 0;          // units that must be online (incl. host)
    int unit = 0, host = -1, first = 0, end = 0;
    double base_ms = 0;             // noise-free service time at current OPPs and conditions
    double active_mw = 0;           // power above idle while serving
    std::array<float, kMaxUnits> share{};  // fraction of service time on each unit
    // Runtime.
    bool busy = false;
    std::int64_t done_ns = kNever, start_ns = 0, frame_t0_ns = 0, acc_from_ns = 0;
    std::array<std::int64_t, kQueueMax> q{};  // arrival times of waiting frames
    int q_head = 0, q_len = 0;
    bool reserved = false;          // the previous stage is serving a frame headed here
    // Period statistics.
    double svc_sum_ms = 0;
    int svc_n = 0;
    double busy_ns_tick = 0;
  };

  Simulator() = default;
  void build_stages(const policies::Config& c) noexcept;
  void set_requested(const policies::Config& c) noexcept;
  void recompute_stages() noexcept;
  void refresh_conditions(bool scenario_changed) noexcept;
  void update_dvfs_targets(std::int64_t t) noexcept;
  void try_start(std::int64_t t) noexcept;
  void finish_stage(int s, std::int64_t t) noexcept;
  void on_tick(std::int64_t t) noexcept;
  void accrue_busy(std::int64_t t) noexcept;
  void push_q(Stage& st, std::int64_t arrival) noexcept;
  std::int64_t pop_q(Stage& st) noexcept;
  bool pipeline_empty() const noexcept;
  double board_power_mw() const noexcept;

  std::shared_ptr<const SimCosts> costs_;
  SimOptions opt_;
  ThermalParams thermal_params_;
  ThermalNetwork net_;
  StepWiseGovernor gov_;
  Scenario scenario_;
  std::vector<double> change_s_;
  std::vector<std::int64_t> change_ns_;
  size_t next_change_ = 0;
  NoiseSource rng_;
  int num_units_ = 0, num_zones_ = 0;

  // Configuration.
  bool have_config_ = false, draining_ = false, setup_pending_ = false;
  policies::Config config_{}, pending_{};
  int num_stages_ = 0;
  std::array<Stage, kMaxStages> st_{};
  std::array<int, kMaxUnits> req_opp_{}, act_opp_{}, to_opp_{};
  std::array<std::int64_t, kMaxUnits> dvfs_done_ns_{};
  std::array<double, kMaxUnits> dyn1_mw_{};  // dynamic power of the unit fully busy at act_opp
  std::int64_t setup_done_ns_ = kNever;
  std::uint8_t busy_mask_ = 0;

  // Time and source.
  std::int64_t t_ns_ = 0, period_ns_ = 0, tick_ns_ = 0, next_tick_ns_ = 0;
  double arrival_period_ns_ = 0, next_arrival_f_ = 0;
  std::int64_t next_arrival_ns_ = kNever;
  int period_index_ = 0, num_periods_ = 0;

  // Conditions and accounting.
  Conditions scen_cond_{}, cond_{};
  bool pinned_ = false;            // a die_temp_c event holds the die (pin_c_) instead of the RC network
  double pin_c_ = 0;
  std::uint64_t cond_version_ = 0;
  std::int64_t last_acc_ns_ = 0;
  double period_energy_mj_ = 0, period_throttled_s_ = 0;
  MetricsAccumulator acc_;
  PeriodTruth truth_;
  Observation obs_;
  std::int32_t p_frames_ = 0, p_dropped_ = 0, p_reconfigs_ = 0;
  double p_first_s_ = 0, p_last_s_ = 0, p_max_lat_ms_ = 0, p_lat_sum_ms_ = 0;
  bool p_dvfs_ = false;
  std::array<double, kMaxUnits> p_util_s_{};  // busy unit-seconds in the period
};

}  // namespace hetsched::env
