#include "runtime/agent_policy.hpp"

#include <cstdlib>
#include <vector>

#include "policies/action_space.hpp"
#include "policies/obs_encoder.hpp"
#include "policies/policy.hpp"

namespace hetsched::runtime {

Result<AgentPolicy> agent_from_policy_file(const policies::PolicyFile& f, const policies::PlatformDesc& platform,
                                           const policies::ModelDesc& model, const std::string& data_dir,
                                           const std::string& source) {
  auto it = f.metadata.find("candidates");
  if (it == f.metadata.end())
    return Error(StatusCode::kCorrupt, source + ": metadata has no \"candidates\" (not a hetsched train policy)");
  if (f.schema.platform != platform.name || f.schema.model != model.name)
    return Error(StatusCode::kInvalidArgument, source + ": trained for " + f.schema.platform + "/" + f.schema.model +
                                                   ", this run is " + platform.name + "/" + model.name);
  std::vector<policies::Config> cands;
  const std::string& text = it->second;
  for (size_t a = 0; a <= text.size();) {
    size_t b = text.find('|', a);
    if (b == std::string::npos) b = text.size();
    auto c = policies::parse_config(text.substr(a, b - a), platform, model);
    if (!c.ok())
      return Error(StatusCode::kInvalidArgument, source + ": candidate '" + text.substr(a, b - a) + "' on " + platform.name +
                                                     "/" + model.name + ": " + c.status().message());
    cands.push_back(*c);
    a = b + 1;
  }
  policies::ActionSpaceOptions ao;
  ao.candidates = cands;
  auto acc = policies::load_accuracy_table(data_dir, model.name);
  if (!acc.ok()) return Error(acc.status().code(), source + ": " + acc.status().message());
  ao.accuracy = *acc;
  if (auto m = f.metadata.find("min_map"); m != f.metadata.end()) ao.min_map = std::atof(m->second.c_str());
  auto space = policies::ActionSpace::create(platform, model, ao);
  if (!space.ok()) return Error(space.status().code(), source + ": " + space.status().message());
  auto enc = policies::ObsEncoder::create(platform, space->num_candidates());
  if (!enc.ok()) return Error(enc.status().code(), source + ": " + enc.status().message());
  auto shared = std::make_shared<const policies::ActionSpace>(std::move(space.value()));
  const policies::PolicySchema expect{platform.name, model.name, shared->schema() + "; " + enc->schema(), policies::kObsSchemaVersion};
  HETSCHED_RETURN_IF_ERROR(policies::check_schema(f, expect, source, enc->size(), shared->size()));
  AgentPolicy out;
  out.name = "trained:" + source.substr(source.find_last_of('/') + 1);
  auto pol = std::make_unique<policies::MlpPolicy>(f.mlp, out.name);
  out.checksum = pol->checksum();
  auto ctl = policies::make_agent(shared, *enc, std::move(pol));
  if (!ctl.ok()) return Error(ctl.status().code(), source + ": " + ctl.status().message());
  out.controller = std::move(ctl.value());
  return out;
}

Result<AgentPolicy> load_agent_policy(const std::string& path, const policies::PlatformDesc& platform,
                                      const policies::ModelDesc& model, const std::string& data_dir) {
  auto f = policies::read_policy_file(path);
  if (!f.ok()) return f.status();
  return agent_from_policy_file(*f, platform, model, data_dir, path);
}

}  // namespace hetsched::runtime
