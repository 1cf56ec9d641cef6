#include "policies/agent_file.hpp"

#include <cmath>
#include <cstdlib>

#include "policies/policy.hpp"

namespace hetsched::policies {

Result<AgentParts> make_agent_parts(const PlatformDesc& platform, const ModelDesc& model, const std::string& data_dir,
                                    const std::vector<Config>& candidates, double min_map,
                                    const std::vector<CandidateCost>& costs) {
  ActionSpaceOptions ao;
  ao.candidates = candidates;
  ao.costs = costs;
  auto acc = load_accuracy_table(data_dir, model.name);
  if (!acc.ok()) return acc.status();
  ao.accuracy = *acc;
  ao.min_map = min_map;
  auto space = ActionSpace::create(platform, model, ao);
  if (!space.ok()) return space.status();
  auto enc = ObsEncoder::create(*space);
  if (!enc.ok()) return enc.status();
  AgentParts a{std::make_shared<const ActionSpace>(std::move(space.value())), *enc, {}};
  a.schema = {platform.name, model.name, a.space->schema() + "; " + a.encoder.schema(), kObsSchemaVersion};
  return a;
}

Result<std::vector<CandidateCost>> parse_candidate_costs(const std::string& text, int num_units, std::size_t expected) {
  std::vector<CandidateCost> out;
  const char* p = text.c_str();
  auto num = [&](float* v, char sep) {
    char* end = nullptr;
    const double d = std::strtod(p, &end);
    if (end == p || !std::isfinite(d) || d < 0 || d > 1e9) return false;
    *v = static_cast<float>(d);
    p = end;
    if (sep && *p != sep) return false;
    if (sep) ++p;
    return true;
  };
  while (*p) {
    CandidateCost c;
    bool ok = num(&c.idle_mw, 0);
    for (int u = 0; u < num_units && ok; ++u)
      ok = *p++ == ';' && num(&c.busy_ms[static_cast<std::size_t>(u)], ',') && num(&c.dyn_mw[static_cast<std::size_t>(u)], 0);
    if (!ok || (*p && *p != '|'))
      return Error(StatusCode::kCorrupt, "candidate_costs: entry " + std::to_string(out.size()) + " is not idle;busy,dyn x " +
                                             std::to_string(num_units));
    out.push_back(c);
    if (*p == '|') ++p;
  }
  if (out.size() != expected)
    return Error(StatusCode::kCorrupt, "candidate_costs: " + std::to_string(out.size()) + " entries for " +
                                           std::to_string(expected) + " candidates");
  return out;
}

Result<LoadedAgent> agent_from_policy_file(const PolicyFile& f, const PlatformDesc& platform, const ModelDesc& model,
                                           const std::string& data_dir, const std::string& source,
                                           const AgentOptions& options) {
  auto it = f.metadata.find("candidates");
  if (it == f.metadata.end())
    return Error(StatusCode::kCorrupt, source + ": metadata has no \"candidates\" (not a hetsched train policy)");
  // Checked first: another board's candidates would otherwise fail to parse with a less useful message.
  if (f.schema.platform != platform.name || f.schema.model != model.name)
    return Error(StatusCode::kInvalidArgument, source + ": trained for " + f.schema.platform + "/" + f.schema.model +
                                                   ", this run is " + platform.name + "/" + model.name);
  std::vector<Config> cands;
  const std::string& text = it->second;
  for (std::size_t a = 0; a <= text.size();) {
    std::size_t b = text.find('|', a);
    if (b == std::string::npos) b = text.size();
    auto c = parse_config(text.substr(a, b - a), platform, model);
    if (!c.ok())
      return Error(StatusCode::kInvalidArgument, source + ": candidate '" + text.substr(a, b - a) + "' on " + platform.name +
                                                     "/" + model.name + ": " + c.status().message());
    cands.push_back(*c);
    a = b + 1;
  }
  double min_map = 0;
  if (auto m = f.metadata.find("min_map"); m != f.metadata.end()) min_map = std::atof(m->second.c_str());
  std::vector<CandidateCost> costs;
  if (auto m = f.metadata.find("candidate_costs"); m != f.metadata.end()) {
    auto c = parse_candidate_costs(m->second, platform.num_units(), cands.size());
    if (!c.ok()) return Error(c.status().code(), source + ": metadata " + c.status().message());
    costs = std::move(c.value());
  }
  auto parts = make_agent_parts(platform, model, data_dir, cands, min_map, costs);
  if (!parts.ok()) return Error(parts.status().code(), source + ": " + parts.status().message());
  HETSCHED_RETURN_IF_ERROR(check_schema(f, parts->schema, source, parts->encoder.size(), parts->space->size()));
  LoadedAgent out;
  out.name = "trained:" + source.substr(source.find_last_of('/') + 1);
  auto pol = std::make_unique<MlpPolicy>(f.mlp, out.name);
  out.checksum = pol->checksum();
  auto ctl = make_agent(parts->space, parts->encoder, std::move(pol), options);
  if (!ctl.ok()) return Error(ctl.status().code(), source + ": " + ctl.status().message());
  out.controller = std::move(ctl.value());
  out.space = parts->space;
  return out;
}

Result<LoadedAgent> load_agent_file(const std::string& path, const PlatformDesc& platform, const ModelDesc& model,
                                    const std::string& data_dir, const AgentOptions& options) {
  auto f = read_policy_file(path);
  if (!f.ok()) return f.status();
  return agent_from_policy_file(*f, platform, model, data_dir, path, options);
}

}  // namespace hetsched::policies
