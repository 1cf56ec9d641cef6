// PolicyLearner: a policy that keeps learning while it runs, as the runtime sees it.
//
// The runtime (the embedded library) must build without agent/, yet its adaptive mode offers
// online learning. So the runtime knows only this interface: it takes the learner's first
// controller, lets the learner publish improved controllers through a callback (the runtime
// hands them to Controller::propose_policy, adopted at the next decision), and stops it before
// the controller goes away. agent/online_runtime.hpp implements it with Double DQN; the caller
// (tools/, or an embedding application that links hetsched_agent) passes its factory in
// RuntimeOptions::online_learner.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "policies/baselines.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "policies/policy_file.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

class PolicyLearner {
 public:
  virtual ~PolicyLearner() = default;
  // The first controller (it feeds this learner). Called once, before start().
  virtual std::unique_ptr<Controller> take_controller() = 0;
  // Starts learning; each improved controller is passed to `publish` (from the learner's thread).
  virtual void start(std::function<void(std::unique_ptr<Controller>)> publish) = 0;
  // Stops learning (idempotent); `publish` is not called afterwards.
  virtual void stop() noexcept = 0;
  // Gradient updates so far (telemetry).
  virtual std::uint64_t updates() const noexcept = 0;
};

// Builds a learner warm-started from a policy file (`source` names it in errors).
using PolicyLearnerFactory = std::function<Result<std::unique_ptr<PolicyLearner>>(
    const PolicyFile& file, const std::string& source, const PlatformDesc& platform, const ModelDesc& model,
    const std::string& data_dir)>;

}  // namespace hetsched::policies
