// The exact oracle: for the conditions at one instant, the pipeline-mode configuration that
// minimises energy per frame while meeting target_fps (and max_latency_ms / power_budget_mw
// when set); when nothing meets them, the configuration with the highest FPS (ties: least
// energy). Exhaustive over stage orders, GPU/NPU hosts and OPP indices, with a Pareto-label
// dynamic program over the split points. Math and measured times: docs/oracle.md.
//
// Lifecycle: create() builds the cost table and every buffer (re-create only when the cost
// model changes); query() is noexcept and allocation-free, callable every decision period.
// query() uses the oracle's own buffers: one Oracle per thread.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "env/conditions.hpp"
#include "env/cost_model.hpp"
#include "env/oracle_table.hpp"
#include "policies/config.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

struct OracleResult {
  policies::Config config;     // pipeline mode (per_block_freq = false)
  bool feasible = false;       // meets target_fps, max_latency_ms and power_budget_mw
  bool exact = true;           // false only if a DP cell overflowed Options::max_labels_per_cell
  double fps = 0;              // delivered: target_fps when met, else the config's max fps
  double latency_ms = 0;       // sum of stage times (incl. transfers)
  double bottleneck_ms = 0;    // slowest stage
  double power_mw = 0;         // average whole-board power
  double energy_mj = 0;        // per frame
  std::int64_t leaves = 0;     // (order, hosts, OPPs) combinations whose last stage was solved
};

class Oracle {
 public:
  struct Options {
    int max_labels_per_cell = 1024;          // Pareto labels kept per DP cell; more = result flagged inexact
    std::int64_t max_base_entries = 1 << 21; // 2^units x OPP combinations in the base-power table (memory cap)
  };

  // Takes the table by value (the caller may drop it). The table's base_power callback may
  // point into a CostModel, which must then outlive the Oracle.
  static Result<Oracle> create(OracleTable table, const Options& options);
  static Result<Oracle> create(const CostModel& cost, const Options& options);

  // The best configuration for these conditions. Errors only for malformed conditions
  // (non-finite or negative fields, bg_util outside [0,1]) or when no unit is online.
  Status query(const Conditions& cond, OracleResult* out) noexcept;

  const OracleTable& table() const noexcept { return t_; }

 private:
  enum class Mode : std::uint8_t { kEnergy, kBottleneck };
  // Hosts whose utilisation can pass 1 (own stage + accelerator drivers) while they carry
  // background load: their displaced background power saturates, tracked exactly as a label
  // dimension. At most one per accelerator; 3 covers every platform with <= 6 units we ship.
  static constexpr int kMaxTracked = 3;
  struct Label {
    double S;     // sum of stage_power * stage_time (mW*ms = uJ)
    double T;     // slowest stage so far (ms)
    double L;     // sum of stage times (ms)
    int from_i;   // this stage starts at block from_i
    int from_idx; // label index in the previous level's cell from_i
    std::array<double, kMaxTracked> X;  // busy ms per frame of each tracked host (own stage + drivers)
  };
  struct Order {
    std::array<std::int8_t, kMaxUnits> unit{};
    int len = 0;
  };

  Oracle() = default;
  Status prepare(const Options& options);
  void compute_base(const Conditions& cond) noexcept;
  void compute_stage_power(const Conditions& cond) noexcept;
  void search(Mode mode, bool keep_incumbent) noexcept;
  void choose_tracked() noexcept;
  void grow(int s, int u, std::uint32_t mask) noexcept;
  void with_opps(int s, int u, std::uint32_t mask) noexcept;
  bool in_order(int v, int upto) const noexcept;
  struct StageAdj {
    double D = 0;       // mW per ms of stage time
    double D_wait = 0;  // mW per ms of hand-over wait (the stage power it does not draw)
    int own_slot = -1;  // tracked slot of the stage's unit
    int host_slot = -1; // tracked slot of its host
    double host_coef = 0;
  };
  StageAdj stage_adj(int u, int key) const noexcept;
  Label extend(const Label& prev, const StageAdj& a, double t, double wait, int i, int q) const noexcept;
  double stage_limit() const noexcept;
  void build_level(int s, int key, int next_unit) noexcept;
  void leaf(int key) noexcept;
  bool insert(int s, int j, const Label& l) noexcept;
  bool dominates(const Label& a, const Label& b) const noexcept;
  double bound(const Label& l) const noexcept;
  void record(int key_last, int i, int idx, double objective) noexcept;
  void finish(const Conditions& cond, OracleResult* out) noexcept;

  OracleTable t_;
  Options opt_;
  std::array<int, kMaxUnits> stride_{};          // mixed radix of OPP combinations
  int combos_ = 1;
  std::vector<double> base_;                     // [mask][combo with non-mask digits 0]: min base power
  std::vector<int> base_arg_;                    // the full combo attaining it
  std::vector<double> eff_;                      // [key]: D' for this query (mW)
  std::array<std::vector<Label>, kMaxUnits> pool_;
  std::array<std::vector<int>, kMaxUnits> off_, cap_, cnt_;

  // Per-query state.
  const Conditions* cond_ = nullptr;
  std::array<int, kMaxUnits> cap_opp_{};
  std::array<int, kMaxUnits> cur_{};             // OPP digit per unit, -1 = not chosen yet
  std::array<int, kMaxUnits> host_of_{};         // host unit of each accelerator in the order
  Order ord_;                                    // the order being grown (trie path)
  std::uint32_t mask_ = 0;
  Mode mode_ = Mode::kEnergy;
  double F_ = 0, t_lim_ = 0, l_max_ = 0, budget_ = 0, c_budget_ = 0, base_lo_ = 0, base_hi_ = 0;
  double base_b_ = 0;   // base_lo minus what tracked hosts can give back: the bound's base
  double slack_ = 0;    // uJ: how far below 0 the hand-over waits can take later stages' sum S
  bool bounded_ = true; // later stages only add energy (no negative D')
  bool use_T_ = false, use_L_ = false, use_budget_ = false, overflow_ = false, negative_ = false;
  int n_tracked_ = 0;
  std::array<int, kMaxUnits> slot_{};            // tracked slot of a unit, -1 = not tracked
  std::array<int, kMaxTracked> tracked_{};       // unit of each slot
  double level_lb_ = 0;
  std::int64_t leaves_ = 0;
  // Best so far.
  bool have_best_ = false;
  double best_obj_ = 0;
  policies::Config best_{};
};

}  // namespace hetsched::env
