// Exporting a trained learner as a policy file (policies/policy_file.hpp) with the training
// metadata filled in, so a deployed file always says how it was made.
//
// The learner adds: learner, seed, updates, gamma, batch_size, hidden_sizes, target (hard K /
// polyak tau). The caller adds what only it knows (date, scenarios, platform data sources);
// library code never reads the wall clock, so "date" must come from the caller.
#pragma once

#include <map>
#include <string>

#include "agent/dqn.hpp"
#include "policies/policy_file.hpp"
#include "telemetry/status.hpp"

namespace hetsched::agent {

std::map<std::string, std::string> training_metadata(const Dqn& dqn, std::map<std::string, std::string> extras);

// Writes dqn.online() (the greedy network) with training_metadata(dqn, extras).
Status save_dqn_policy(const std::string& path, const Dqn& dqn, const policies::PolicySchema& schema,
                       std::map<std::string, std::string> extras);

}  // namespace hetsched::agent
