// Runs a controller (policies/baselines.hpp: static, governors, heuristic, trained agent) or
// the clairvoyant oracle over a scenario in the simulator; shared by `hetsched eval`,
// `hetsched train` and bench_eval_agent so every figure comes from the same loop.
//
// Also the bridge from the simulator's sensed Observation to the policies' TelemetryFrame and
// MaskInput (the simulator's Observation has no "offline" flag, just as a device's RKNN call
// would simply hang: OfflineDetector infers it from a used unit with work queued in front of
// it, no service and no utilisation for a whole period, and forgets it after `forget_periods`
// so the unit is probed again), and the candidate set of the action space (the oracle's choices
// over a grid of conditions, computed once at create).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "env/cost_model.hpp"
#include "env/metrics.hpp"
#include "env/observation.hpp"
#include "env/oracle.hpp"
#include "env/scenario.hpp"
#include "env/sim_costs.hpp"
#include "env/thermal.hpp"
#include "policies/action_space.hpp"
#include "policies/agent_file.hpp"
#include "policies/baselines.hpp"
#include "policies/obs_encoder.hpp"
#include "policies/policy_file.hpp"

namespace hetsched::env {

// Everything built once per (platform, model).
struct RunnerSetup {
  policies::PlatformDesc platform;
  policies::ModelDesc model;
  std::shared_ptr<const CostModel> cost;
  std::shared_ptr<const SimCosts> costs;
  ThermalParams thermal;
  std::shared_ptr<Oracle> oracle;
  std::string data_dir;
};
Result<std::shared_ptr<RunnerSetup>> make_runner_setup(const std::string& data_dir, const std::string& platform,
                                                       const std::string& model);

// Observation → frame (units converted: ms → µs, °C → m°C).
void frame_from_observation(const Observation& o, policies::TelemetryFrame* f) noexcept;

// Probing back-off: a unit detected offline again within `retry_window` periods of being
// forgotten (the probe failed) is masked twice as long next time;
// a detection after a longer healthy spell starts again at forget_periods. Why: a flaky NPU
// outage lasts seconds, and every failed probe costs a drain, a hang and a re-split (~1 s of
// QoS violations), so probing every 5 s for a long outage cost more than it gained.
class OfflineDetector {
 public:
  explicit OfflineDetector(const policies::PlatformDesc& p, int forget_periods = 50, int retry_window = 30)
      : p_(&p), forget_(forget_periods), retry_(retry_window) {}
  void reset() noexcept {
    left_.fill(0);
    strikes_.fill(0);
    since_.fill(1 << 20);
    prev_reconf_ = false;
  }
  // Updates from the period just observed under `config`; returns the mask input (caps from
  // max_freq_khz mapped to the highest OPP index at or below it).
  const policies::MaskInput& update(const Observation& o, const policies::Config& config) noexcept;
  const policies::MaskInput& mask() const noexcept { return m_; }

 private:
  const policies::PlatformDesc* p_;
  int forget_, retry_;
  bool prev_reconf_ = false;
  std::array<int, policies::kMaxUnits> left_{}, strikes_{};
  std::array<int, policies::kMaxUnits> since_{1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20};  // periods since forgotten
  policies::MaskInput m_;
};

// The oracle's answers by conditions, kept in memory and optionally in a file
// (DIR/oracle_<platform>_<model>_<identity>.txt, one "key config" line per answer), so a
// retrain with the same cost model does not query the oracle again. The identity hashes the
// oracle's whole cost table (times, powers, transfers, base power at probe points), so any
// change of the cost model opens a new file. The oracle is deterministic, so an answer from
// the file is the answer a query would give: results do not depend on the cache's state.
class OracleCache {
 public:
  // dir "" = memory only. Never fails: an unreadable file starts empty (the reason is kept in
  // note()), an unwritable one makes flush() return the error.
  static OracleCache open(RunnerSetup& s, const std::string& dir);
  // The oracle's configuration for c (ok = false when the oracle has no answer, e.g. nothing online).
  bool lookup(const Conditions& c, Config* out, bool* ok) const;
  void store(const Conditions& c, const Config& config, bool ok);
  // Queries s.oracle on a miss and stores the answer.
  bool query(RunnerSetup& s, const Conditions& c, Config* out);
  Status flush();
  std::int64_t hits() const noexcept { return hits_; }
  std::int64_t misses() const noexcept { return misses_; }
  size_t size() const noexcept { return entries_.size(); }
  const std::string& path() const noexcept { return path_; }
  const std::string& note() const noexcept { return note_; }

 private:
  std::uint64_t key(const Conditions& c) const noexcept;
  std::uint64_t identity_ = 0;
  std::string path_, note_;
  std::map<std::uint64_t, std::string> entries_;  // key → config text ("-" = no answer)
  const policies::PlatformDesc* platform_ = nullptr;
  const policies::ModelDesc* model_ = nullptr;
  bool dirty_ = false;
  mutable std::int64_t hits_ = 0;
  std::int64_t misses_ = 0;
};

// The oracle's configurations for a grid of conditions (targets 0..30 FPS × background load,
// contention, offline accelerators, latency bounds, power budgets, thermal caps) plus the
// initial and change-point conditions of `scenarios`; the most frequently chosen first, at
// most max_candidates.
// The grid is the same for every call with the same inputs; `threads` (>= 1) oracles answer it
// in parallel, each on a fixed slice, so the result does not depend on the thread count.
Result<std::vector<policies::Config>> oracle_candidates(RunnerSetup& s, const std::vector<Scenario>& scenarios,
                                                        int max_candidates, int threads = 1, OracleCache* cache = nullptr);
// The cost model's predictions for each candidate on an idle board (ActionSpace costs).
Result<std::vector<policies::CandidateCost>> candidate_costs(const RunnerSetup& s, const std::vector<policies::Config>& c);
// Costs as stored in a policy file's metadata ("candidate_costs") and back.
std::string join_costs(const std::vector<policies::CandidateCost>& c, int num_units);
Result<std::vector<policies::CandidateCost>> parse_costs(const std::string& text, int num_units, size_t expected);
// The oracle's choice for the scenario's initial conditions (what ARM-CO-UP picks offline).
Result<policies::Config> static_best(RunnerSetup& s, const Scenario& scenario);

// A named controller: builtin names static-best, governor:performance|powersave|schedutil,
// heuristic, static:CONFIG; "oracle" is handled by run_scenario (controller == nullptr).
Result<std::unique_ptr<policies::Controller>> make_builtin(RunnerSetup& s, const std::string& name,
                                                           const Scenario& scenario);

struct RunResult {
  Metrics metrics;
  std::vector<int> recovery_periods;  // per change point: periods until QoS held again (0 = never lost)
  std::vector<std::uint8_t> violated; // per period (counted periods only; 1 = QoS violated)
};

// controller == nullptr: the oracle (re-plans before the first period and whenever the hidden
// conditions change). The controller starts from static_best(scenario) (applied before the first
// period), which is also the safe configuration of the runtime controller's guard, mirrored here
// (policy_runner.cpp LoopGuard) so the metrics equal a run through runtime::Controller.
Result<RunResult> run_scenario(RunnerSetup& s, const Scenario& scenario, std::uint64_t seed,
                               policies::Controller* controller);

// The agent's pieces for a candidate list (policies/agent_file.hpp builds them, for env and
// runtime alike): action space, encoder and the policy-file schema binding them.
using AgentParts = policies::AgentParts;
// costs: one per candidate (candidate_costs), or empty for an agent without predictions.
Result<AgentParts> make_agent_parts(RunnerSetup& s, const std::vector<policies::Config>& candidates, double min_map = 0,
                                    const std::vector<policies::CandidateCost>& costs = {});
// Candidates as stored in a policy file's metadata ("candidates": configs joined by '|').
std::string join_candidates(const std::vector<policies::Config>& c, const policies::PlatformDesc& p);
// Loads a policy file trained for this platform/model (schema, sizes, checksum checked).
Result<std::unique_ptr<policies::Controller>> load_trained(RunnerSetup& s, const std::string& path,
                                                           const policies::AgentOptions& options = {});
// policies/trained/<platform>_<model>.policy under the data dir.
std::string shipped_policy_path(const RunnerSetup& s);
// A model's default scenario suite (training and bench_eval_agent): DATA/env/scenarios/<model>
// when that directory exists, else DATA/env/scenarios. Why per model: the shipped suite's
// targets are GoogLeNet-sized (10-20 FPS); resnet50 delivers at most ~6.7 FPS on rockpi_n10, so
// every policy, the oracle included, violated QoS 100 % of the time there and the comparison
// said nothing. env/scenarios/resnet50/ holds the same scenarios with targets scaled to the
// model (its README). Held-out scenarios are in <suite>/heldout (never trained on).
// model: the canonical name (ModelDesc::name).
std::string default_scenario_dir(const std::string& data_dir, const std::string& model);

// Periods after change point index i (period granularity) until the first period that meets QoS.
std::vector<int> recovery_periods(const Scenario& scenario, const std::vector<std::uint8_t>& violated_per_period);

}  // namespace hetsched::env
