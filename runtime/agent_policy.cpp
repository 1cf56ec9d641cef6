#include "runtime/agent_policy.hpp"

#include "policies/agent_file.hpp"

namespace hetsched::runtime {

// One construction for every tool: policies/agent_file (env::load_trained uses it too).
Result<AgentPolicy> agent_from_policy_file(const policies::PolicyFile& f, const policies::PlatformDesc& platform,
                                           const policies::ModelDesc& model, const std::string& data_dir,
                                           const std::string& source) {
  auto a = policies::agent_from_policy_file(f, platform, model, data_dir, source);
  if (!a.ok()) return a.status();
  AgentPolicy out;
  out.controller = std::move(a->controller);
  out.checksum = a->checksum;
  out.name = std::move(a->name);
  return out;
}

Result<AgentPolicy> load_agent_policy(const std::string& path, const policies::PlatformDesc& platform,
                                      const policies::ModelDesc& model, const std::string& data_dir) {
  auto f = policies::read_policy_file(path);
  if (!f.ok()) return f.status();
  return runtime::agent_from_policy_file(*f, platform, model, data_dir, path);
}

}  // namespace hetsched::runtime
