// The trained agent from a policy file (`hetsched train` output) for a given platform and model:
// candidates from the file's metadata -> action space (with the model's accuracy table and the
// file's min_map) + observation encoder -> schema check (platform, model, action space,
// encoder, sizes, checksum) -> policies::make_agent. A thin wrapper over policies/agent_file,
// which env::load_trained uses too, so a file accepted by one is accepted by the other.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "policies/baselines.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "policies/policy_file.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

struct AgentPolicy {
  std::unique_ptr<policies::Controller> controller;
  std::uint64_t checksum = 0;         // the policy's weights checksum (Policy::checksum)
  std::string name;                   // "trained:<file name>"
};

// `source` names the file in errors. data_dir holds policies/accuracy_*.json.
Result<AgentPolicy> agent_from_policy_file(const policies::PolicyFile& file, const policies::PlatformDesc& platform,
                                           const policies::ModelDesc& model, const std::string& data_dir,
                                           const std::string& source);
// Reads `path` (checksum verified) and builds the agent. A file trained for another platform or
// model, or corrupt, is refused with an error naming the path and the mismatch.
Result<AgentPolicy> load_agent_policy(const std::string& path, const policies::PlatformDesc& platform,
                                      const policies::ModelDesc& model, const std::string& data_dir);

}  // namespace hetsched::runtime
