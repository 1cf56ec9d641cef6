#include "agent/export.hpp"

#include <sstream>

namespace hetsched::agent {

std::map<std::string, std::string> training_metadata(const Dqn& dqn, std::map<std::string, std::string> extras) {
  const DqnOptions& o = dqn.options();
  std::string hidden;
  for (int h : o.hidden_sizes) hidden += (hidden.empty() ? "" : ",") + std::to_string(h);
  std::ostringstream target;
  if (o.target_sync_every > 0)
    target << "hard every " << o.target_sync_every << " updates";
  else
    target << "polyak tau " << o.polyak_tau;
  std::ostringstream gamma;
  gamma << o.gamma;
  // Learner facts win over caller extras with the same key: the file must not misreport them.
  extras["learner"] = o.double_dqn ? "double-dqn" : "dqn";
  extras["seed"] = std::to_string(o.seed);
  extras["updates"] = std::to_string(dqn.updates());
  extras["gamma"] = gamma.str();
  extras["batch_size"] = std::to_string(o.batch_size);
  extras["hidden_sizes"] = hidden;
  extras["hidden_activation"] = policies::activation_name(o.hidden_activation);
  extras["target"] = target.str();
  return extras;
}

Status save_dqn_policy(const std::string& path, const Dqn& dqn, const policies::PolicySchema& schema,
                       std::map<std::string, std::string> extras) {
  return policies::save_policy_file(path, dqn.online(), schema, training_metadata(dqn, std::move(extras)));
}

}  // namespace hetsched::agent
