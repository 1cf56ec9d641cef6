// Online learning for the runtime (policies::PolicyLearner): the trained agent keeps learning
// from the periods it runs. Lives in agent/ so the embedded library builds without agent/; the
// runtime sees only policies/learner.hpp, and tools/ (run --online) passes the factory below.
//
// Why a learner thread and hot-swap instead of learning inside decide(): a minibatch update is
// slow work (schedutil rule: off the hot path), and a policy that changes its weights while it
// decides would make decisions unreproducible from the records. So:
//   controller thread  LearningController wraps the agent: decide() delegates, then copies
//                      (observation, action, the period's frame) into a bounded slot ring
//                      (try_lock; a full ring or a busy learner drops the sample and counts it);
//   learner thread     consecutive periods -> transitions (obs, action, reward of the next
//                      period's frame, next obs); Double DQN (agent/dqn.hpp) warm-started from the
//                      policy file's network; every publish_every_updates updates it builds a new
//                      agent from the current weights (same schema, policies/agent_file.hpp) and
//                      publishes it (the runtime hands it to Controller::propose_policy: adopted at the next decision,
//                      the previous one kept for rollback). Each published policy is an ordinary
//                      immutable agent, so its decisions replay bit for bit from the records.
// Reward of a period (the same shape as `hetsched train --from` / env's): shortfall against the
// FPS target (or an FPS bonus without one), latency over its bound, and a re-split penalty.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "policies/baselines.hpp"
#include "policies/learner.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "policies/policy_file.hpp"
#include "telemetry/status.hpp"

namespace hetsched::agent {

struct OnlineLearningOptions {
  int replay_capacity = 4096;          // transitions kept
  int batch_size = 16;                 // minibatch; updates start once this many transitions exist
  int updates_per_transition = 1;      // gradient steps per new transition
  int publish_every_updates = 200;     // updates between two proposed policies
  int ring_slots = 64;                 // periods buffered between the controller and the learner
  std::uint64_t seed = 1;              // replay sampling and the Dqn's own RNG
};

struct OnlineLearningStats {
  std::uint64_t periods = 0, dropped = 0, transitions = 0, updates = 0, published = 0;
};

class OnlineLearning final : public policies::PolicyLearner {
 public:
  // `file` is the starting policy (its network is the warm start). Builds the first agent; the
  // learner thread starts with start().
  static Result<std::unique_ptr<OnlineLearning>> create(const policies::PolicyFile& file, const std::string& source,
                                                        const policies::PlatformDesc& platform,
                                                        const policies::ModelDesc& model, const std::string& data_dir,
                                                        const OnlineLearningOptions& options);
  ~OnlineLearning();
  // The first controller (wrapped: it feeds this learner). Call once, before start().
  std::unique_ptr<policies::Controller> take_controller() override;
  // Starts the learner thread; improved policies go to `publish` (from that thread).
  void start(std::function<void(std::unique_ptr<policies::Controller>)> publish) override;
  // Joins the learner thread (idempotent).
  void stop() noexcept override;
  std::uint64_t updates() const noexcept override { return stats().updates; }
  OnlineLearningStats stats() const noexcept;

  struct State;  // shared with the wrapping controllers

 private:
  OnlineLearning() = default;
  std::shared_ptr<State> s_;
  std::unique_ptr<policies::Controller> first_;
  std::thread th_;
};

// The factory RuntimeOptions::online_learner takes.
policies::PolicyLearnerFactory online_learner_factory(const OnlineLearningOptions& options);

}  // namespace hetsched::agent
