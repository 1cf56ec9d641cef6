#include "runtime/host_config.hpp"

#include <set>

namespace hetsched::runtime {

policies::PlatformDesc default_host_desc(const std::vector<std::string>& unit_names, const std::vector<std::vector<int>>& cpu_ids) {
  policies::PlatformDesc p;
  p.name = "host";
  p.soc = "host";
  for (size_t u = 0; u < unit_names.size() && u < static_cast<size_t>(policies::kMaxUnits); ++u) {
    policies::UnitDesc d;
    d.letter = static_cast<char>('A' + u);
    d.name = unit_names[u];
    d.kind = policies::UnitKind::kCpu;
    d.cores = u < cpu_ids.size() ? std::max<int>(1, static_cast<int>(cpu_ids[u].size())) : 1;
    if (u < cpu_ids.size()) d.cpu_ids = cpu_ids[u];
    // One nominal OPP: platform files require one per CPU unit, and a host profile has exactly
    // one (its measured frequency); without cpufreq only the index (0) matters.
    d.opps.push_back({1'000'000, 1'000'000});
    p.units.push_back(d);
  }
  return p;
}

Status check_host_desc(const policies::PlatformDesc& p, const std::vector<std::string>& names) {
  if (p.num_units() != static_cast<int>(names.size()))
    return Error(StatusCode::kInvalidArgument, "platform '" + p.name + "' has " + std::to_string(p.num_units()) +
                                                   " units, the host pipeline " + std::to_string(names.size()));
  std::set<char> seen;
  for (size_t u = 0; u < p.units.size(); ++u) {
    const auto& d = p.units[u];
    if (d.kind != policies::UnitKind::kCpu)
      return Error(StatusCode::kInvalidArgument, "platform '" + p.name + "' units[" + std::to_string(u) + "] ('" +
                                                     std::string(1, d.letter) + "') is a " + policies::unit_kind_name(d.kind) +
                                                     "; the host pipeline runs CPU units only");
    if (!seen.insert(d.letter).second)
      return Error(StatusCode::kInvalidArgument, "platform '" + p.name + "' units[" + std::to_string(u) + "].letter '" +
                                                     std::string(1, d.letter) + "' is used twice");
  }
  return Status::Ok();
}

bool plan_from_config(const policies::Config& c, const policies::PlatformDesc& p, int num_blocks, PipelinePlan* out) noexcept {
  if (c.num_blocks != num_blocks || num_blocks < 1 || num_blocks > kMaxPipelineBlocks) return false;
  PipelinePlan plan;
  int prev = -1;
  for (int b = 0; b < num_blocks; ++b) {
    const int u = p.unit_index(c.unit[static_cast<size_t>(b)]);
    if (u < 0 || u >= kMaxPipelineUnits) return false;
    if (u != prev) {
      if (plan.num_stages == kMaxStages) return false;
      if (plan.num_stages > 0) plan.stages[static_cast<size_t>(plan.num_stages - 1)].end_block = b;
      plan.stages[static_cast<size_t>(plan.num_stages++)] = {u, b, num_blocks};
      prev = u;
    }
  }
  *out = plan;
  return true;
}

policies::Config config_from_plan(const PipelinePlan& plan, const policies::PlatformDesc& p) noexcept {
  policies::Config c{};
  c.num_blocks = std::min(plan.num_blocks(), policies::kMaxBlocks);
  for (int s = 0; s < plan.num_stages; ++s) {
    const Stage& st = plan.stages[static_cast<size_t>(s)];
    const char letter = st.unit >= 0 && st.unit < p.num_units() ? p.units[static_cast<size_t>(st.unit)].letter : '?';
    for (int b = st.first_block; b < st.end_block && b < policies::kMaxBlocks; ++b) c.unit[static_cast<size_t>(b)] = letter;
  }
  const char first = p.units.empty() ? 'B' : p.units[0].letter;
  c.gpu_host = first;
  c.npu_host = first;
  for (int u = 0; u < policies::kMaxUnits; ++u)
    c.freq_idx[static_cast<size_t>(u)] = u < p.num_units() && p.units[static_cast<size_t>(u)].has_dvfs()
                                             ? static_cast<std::int8_t>(p.units[static_cast<size_t>(u)].max_opp())
                                             : std::int8_t{-1};
  return c;
}

}  // namespace hetsched::runtime
