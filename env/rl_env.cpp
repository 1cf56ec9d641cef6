#include "env/rl_env.hpp"

#include <algorithm>

namespace hetsched::env {

double compute_reward(const Observation& o, const PeriodTruth& truth, const RewardOptions& w) noexcept {
  double miss = 0;
  // FPS shortfall is measured against the QoS threshold (0.95·target, env/metrics.hpp), so
  // measurement noise around an exactly met target costs nothing.
  if (o.target_fps > 0) miss += std::max(0.0, 1.0 - o.fps / (MetricsAccumulator::kFpsTolerance * o.target_fps));
  if (o.max_latency_target_ms > 0 && o.frames > 0) miss += std::max(0.0, o.max_latency_ms / o.max_latency_target_ms - 1.0);
  if (o.power_budget_mw > 0) miss += std::max(0.0, o.power_mw / o.power_budget_mw - 1.0);
  double r = -w.w_qos * miss;
  if (o.target_fps <= 0) r += w.w_fps * o.fps / w.fps_ref;
  r -= w.w_energy * (o.power_mw / std::max(o.fps, 1.0)) / w.energy_ref_mj;
  r -= w.w_throttle * (o.period_s > 0 ? truth.sample.throttled_s / o.period_s : 0);
  r -= w.w_reconfig * truth.sample.reconfigs;
  r -= w.w_dvfs * (truth.dvfs_changed ? 1 : 0);
  return r;
}

Result<RlEnv> RlEnv::create(std::shared_ptr<const SimCosts> costs, const ThermalParams& thermal, const SimOptions& sim,
                            const RewardOptions& reward) {
  if (!(reward.fps_ref > 0) || !(reward.energy_ref_mj > 0))
    return Error(StatusCode::kInvalidArgument, "RewardOptions: fps_ref and energy_ref_mj must be > 0");
  auto s = Simulator::create(std::move(costs), thermal, sim);
  if (!s.ok()) return s.status();
  RlEnv env(std::move(s.value()));
  env.w_ = reward;
  return env;
}

Status RlEnv::reset(std::uint64_t seed, const Scenario& scenario) {
  res_ = StepResult{};
  return sim_.reset(scenario, seed);
}

const StepResult& RlEnv::step(const policies::Config& action) noexcept {
  const bool valid = sim_.apply(action).ok();
  res_.obs = sim_.step();
  const PeriodTruth& t = sim_.truth();
  res_.reward = compute_reward(res_.obs, t, w_) - (valid ? 0.0 : w_.w_qos);
  res_.done = sim_.done();
  res_.info.conditions = t.conditions;
  res_.info.verdict = t.verdict;
  res_.info.metrics = sim_.metrics().result();
  return res_;
}

// ---------------------------------------------------------------------------------------------
Result<std::unique_ptr<BatchedEnv>> BatchedEnv::create(int n, int threads, std::shared_ptr<const SimCosts> costs,
                                                       const ThermalParams& thermal, const SimOptions& sim,
                                                       const RewardOptions& reward) {
  if (n < 1 || n > 1 << 20) return Error(StatusCode::kInvalidArgument, "BatchedEnv: n must be in [1, 2^20]");
  if (threads < 0 || threads > 256) return Error(StatusCode::kInvalidArgument, "BatchedEnv: threads must be in [0, 256]");
  std::unique_ptr<BatchedEnv> b(new BatchedEnv());
  for (int i = 0; i < n; ++i) {
    auto e = RlEnv::create(costs, thermal, sim, reward);
    if (!e.ok()) return e.status();
    b->envs_.push_back(std::move(e.value()));
  }
  b->results_.resize(static_cast<size_t>(n));
  b->workers_ = std::max(1, std::min(threads, n));
  if (b->workers_ > 1)
    for (int w = 0; w < b->workers_; ++w) b->pool_.emplace_back([p = b.get(), w] { p->worker_loop(w); });
  return b;
}

BatchedEnv::~BatchedEnv() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : pool_) t.join();
}

Status BatchedEnv::reset(std::span<const std::uint64_t> seeds, const Scenario& scenario) {
  if (seeds.size() != envs_.size())
    return Error(StatusCode::kInvalidArgument, "BatchedEnv::reset: " + std::to_string(seeds.size()) + " seeds for " +
                                                   std::to_string(envs_.size()) + " envs");
  for (size_t i = 0; i < envs_.size(); ++i) HETSCHED_RETURN_IF_ERROR(envs_[i].reset(seeds[i], scenario));
  return Status::Ok();
}

// Static partition: worker w owns envs [w·n/W, (w+1)·n/W). Each env's trajectory depends only
// on its own seed and actions, so the partition (and thread count) cannot change results.
void BatchedEnv::run_slice(int w) noexcept {
  const size_t n = envs_.size(), W = static_cast<size_t>(workers_);
  for (size_t i = n * static_cast<size_t>(w) / W; i < n * (static_cast<size_t>(w) + 1) / W; ++i)
    results_[i] = envs_[i].step(actions_[i]);
}

void BatchedEnv::worker_loop(int w) {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_slice(w);
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

void BatchedEnv::step(std::span<const policies::Config> actions) noexcept {
  if (actions.size() != envs_.size()) return;  // precondition; results stay as they were
  actions_ = actions;
  if (workers_ <= 1) {
    run_slice(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    pending_ = workers_;
    ++generation_;
  }
  cv_.notify_all();
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait(lk, [&] { return pending_ == 0; });
}

}  // namespace hetsched::env
