// The RL environment API: reset(seed, scenario) and step(action) → observation, reward, done,
// info. The action is a policies::Config (the agent's action space maps action ids to
// Configs). The observation holds only sensed values (env/observation.hpp); info carries the
// hidden Conditions and the metrics for evaluation only.
//
// Reward of one period (documented in docs/simulator.md):
//   r = -w_qos·( max(0, 1 - fps/(0.95·target_fps))     [target_fps > 0]
//               + max(0, latency/max_latency - 1)      [bound set]
//               + max(0, power/power_budget - 1) )     [budget set]
//       + w_fps·fps/fps_ref                            [target_fps = 0: as fast as possible]
//       - w_energy·(power_mw/max(fps, 1))/energy_ref_mj   (energy per frame, normalised)
//       - w_throttle·throttled_fraction - w_reconfig·reconfigs - w_dvfs·[frequencies changed]
// Meeting the targets dominates (w_qos = 10); energy per frame then decides among feasible
// configurations; churn costs are small constants that stop oscillation.
//
// BatchedEnv steps N independent environments, optionally on a thread pool; each env owns its
// RNG and is stepped by exactly one thread per call, so results are identical for any thread count.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "env/observation.hpp"
#include "env/sim.hpp"

namespace hetsched::env {

struct RewardOptions {
  double w_qos = 10;           // per unit of relative shortfall/excess
  double w_fps = 1;            // throughput bonus when target_fps = 0
  double fps_ref = 30;         // FPS that earns w_fps
  double w_energy = 1;         // per energy_ref_mj of energy per frame
  double energy_ref_mj = 500;  // typical energy per frame of a mid-size CNN on these boards
  double w_throttle = 0.5;     // per fraction of the period with a thermal cap
  double w_reconfig = 1;       // per split/placement change
  double w_dvfs = 0.05;        // per period with a requested-frequency change
};
double compute_reward(const Observation& obs, const PeriodTruth& truth, const RewardOptions& w) noexcept;

struct StepInfo {
  Conditions conditions;       // hidden state at the end of the period (evaluation only)
  PeriodVerdict verdict;       // this period's delivered FPS and QoS verdict
  Metrics metrics;             // run so far
};

struct StepResult {
  Observation obs;
  double reward = 0;
  bool done = false;
  StepInfo info;
};

class RlEnv {
 public:
  static Result<RlEnv> create(std::shared_ptr<const SimCosts> costs, const ThermalParams& thermal,
                              const SimOptions& sim, const RewardOptions& reward);
  Status reset(std::uint64_t seed, const Scenario& scenario);
  // Applies the action (a config that cannot run is kept out and penalised like a QoS miss),
  // advances one decision period. noexcept and allocation-free for valid actions.
  const StepResult& step(const policies::Config& action) noexcept;
  const StepResult& last() const noexcept { return res_; }
  const Simulator& sim() const noexcept { return sim_; }

 private:
  explicit RlEnv(Simulator sim) : sim_(std::move(sim)) {}
  Simulator sim_;
  RewardOptions w_;
  StepResult res_;
};

class BatchedEnv {
 public:
  // n environments sharing the (immutable) costs; threads = 0 or 1: step on the caller's thread.
  static Result<std::unique_ptr<BatchedEnv>> create(int n, int threads, std::shared_ptr<const SimCosts> costs,
                                                    const ThermalParams& thermal, const SimOptions& sim,
                                                    const RewardOptions& reward);
  ~BatchedEnv();
  // Env i gets seeds[i] (seeds.size() == size()).
  Status reset(std::span<const std::uint64_t> seeds, const Scenario& scenario);
  // actions.size() == size(); results land in results() (same order).
  void step(std::span<const policies::Config> actions) noexcept;
  std::span<const StepResult> results() const noexcept { return results_; }
  int size() const noexcept { return static_cast<int>(envs_.size()); }

 private:
  BatchedEnv() = default;
  void run_slice(int worker) noexcept;
  void worker_loop(int worker);
  std::vector<RlEnv> envs_;
  std::vector<StepResult> results_;
  std::span<const policies::Config> actions_;
  std::vector<std::thread> pool_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::uint64_t generation_ = 0;
  int pending_ = 0, workers_ = 1;
  bool stop_ = false;
};

}  // namespace hetsched::env
