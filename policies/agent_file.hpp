// The trained agent from a policy file (`hetsched train` output), built in ONE place for every
// user: env (eval, train, the simulator's runs), runtime (RuntimeOptions::policy_file, replay,
// pushed policies). A file stores its candidate configurations, their predicted costs and the
// accuracy budget in its metadata; from those and the platform/model we rebuild the action space
// and the observation encoder, and the schema string they produce must equal the file's — so a
// file trained for another platform, model, candidate set or encoder version is refused with the
// field that differs, and a file accepted by one tool is accepted by all.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policies/action_space.hpp"
#include "policies/baselines.hpp"
#include "policies/config.hpp"
#include "policies/model.hpp"
#include "policies/obs_encoder.hpp"
#include "policies/platform.hpp"
#include "policies/policy_file.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

// The agent's pieces for a candidate list: action space (with the model's accuracy table from
// data_dir/policies, budget min_map, per-candidate predicted costs), encoder and the schema
// binding all of them.
struct AgentParts {
  std::shared_ptr<const ActionSpace> space;
  ObsEncoder encoder;
  PolicySchema schema;
};
Result<AgentParts> make_agent_parts(const PlatformDesc& platform, const ModelDesc& model, const std::string& data_dir,
                                    const std::vector<Config>& candidates, double min_map = 0,
                                    const std::vector<CandidateCost>& costs = {});

// "idle;busy,dyn;busy,dyn...|..." (one entry per candidate, num_units busy/dyn pairs) as
// written to the policy file's "candidate_costs" metadata.
Result<std::vector<CandidateCost>> parse_candidate_costs(const std::string& text, int num_units, std::size_t expected);

struct LoadedAgent {
  std::unique_ptr<Controller> controller;
  std::uint64_t checksum = 0;  // the policy's weights checksum (Policy::checksum)
  std::string name;            // "trained:<file name>"
  std::shared_ptr<const ActionSpace> space;  // the file's action space (masks for stream checks / learners)
};
// `source` names the file in errors.
Result<LoadedAgent> agent_from_policy_file(const PolicyFile& file, const PlatformDesc& platform, const ModelDesc& model,
                                           const std::string& data_dir, const std::string& source,
                                           const AgentOptions& options = {});
// Reads `path` (checksum verified) and builds the agent.
Result<LoadedAgent> load_agent_file(const std::string& path, const PlatformDesc& platform, const ModelDesc& model,
                                    const std::string& data_dir, const AgentOptions& options = {});

}  // namespace hetsched::policies
