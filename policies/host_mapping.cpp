// Host unit <-> platform unit mapping and Config <-> runtime split (see host_mapping.hpp).
#include "policies/host_mapping.hpp"

#include <cerrno>
#include <cstdlib>

namespace hetsched::policies {

char host_unit_letter(int index) noexcept {
  return (index >= 0 && index < kMaxUnits) ? static_cast<char>('A' + index) : '?';
}

std::string host_unit_name(int first_cpu) { return "cpu" + std::to_string(first_cpu); }

Result<std::string> host_split_from_config(const Config& config, const PlatformDesc& platform, const ModelDesc& model) {
  if (config.num_blocks != model.num_blocks() || config.num_blocks <= 0 || config.num_blocks > kMaxBlocks)
    return Error(StatusCode::kInvalidArgument, "config has " + std::to_string(config.num_blocks) + " blocks, model " +
                                                   model.name + " has " + std::to_string(model.num_blocks()));
  std::string out;
  int run = 0;
  for (int b = 0; b < config.num_blocks; ++b) {
    const char l = config.unit[static_cast<size_t>(b)];
    const int u = platform.unit_index(l);
    if (u < 0 || platform.units[static_cast<size_t>(u)].kind != UnitKind::kCpu)
      return Error(StatusCode::kInvalidArgument, "block " + std::to_string(b) + ": unit '" + std::string(1, l) +
                                                     "' is not a CPU unit of platform " + platform.name);
    ++run;
    const bool last = b + 1 == config.num_blocks || config.unit[static_cast<size_t>(b + 1)] != l;
    if (last) {
      out += (out.empty() ? "" : ",") + platform.units[static_cast<size_t>(u)].name + ":" + std::to_string(run);
      run = 0;
    }
  }
  return out;
}

Result<Config> config_from_host_split(const std::string& split, const PlatformDesc& platform, const ModelDesc& model) {
  const int nb = model.num_blocks();
  if (nb <= 0 || nb > kMaxBlocks)
    return Error(StatusCode::kInvalidArgument, "model " + model.name + ": " + std::to_string(nb) + " blocks");
  Config c;
  c.num_blocks = nb;
  int next = 0, item = 0, first_cpu = -1;
  for (int u = 0; u < platform.num_units(); ++u)
    if (first_cpu < 0 && platform.units[static_cast<size_t>(u)].kind == UnitKind::kCpu) first_cpu = u;
  if (first_cpu < 0) return Error(StatusCode::kInvalidArgument, "platform " + platform.name + " has no CPU unit");
  size_t start = 0;
  while (start <= split.size()) {
    size_t end = split.find(',', start);
    if (end == std::string::npos) end = split.size();
    const std::string it = split.substr(start, end - start);
    const std::string where = "split item " + std::to_string(item) + " '" + it + "'";
    const size_t colon = it.find(':');
    if (colon == std::string::npos || colon == 0)
      return Error(StatusCode::kInvalidArgument, where + ": expected UNIT:BLOCKS, e.g. cpu0:20");
    const std::string name = it.substr(0, colon), count = it.substr(colon + 1);
    int u = -1;
    for (int k = 0; k < platform.num_units(); ++k)
      if (platform.units[static_cast<size_t>(k)].name == name) u = k;
    if (u < 0 || platform.units[static_cast<size_t>(u)].kind != UnitKind::kCpu) {
      std::string names;
      for (const auto& ud : platform.units)
        if (ud.kind == UnitKind::kCpu) names += (names.empty() ? "" : ", ") + ud.name;
      return Error(StatusCode::kInvalidArgument, where + ": unknown unit '" + name + "' (CPU units: " + names + ")");
    }
    char* endp = nullptr;
    errno = 0;
    const long n = std::strtol(count.c_str(), &endp, 10);
    if (count.empty() || *endp != '\0' || errno != 0 || n < 1 || n > nb - next)
      return Error(StatusCode::kInvalidArgument, where + ": block count '" + count + "' must be an integer in [1, " +
                                                     std::to_string(nb - next) + "] (blocks left of " + std::to_string(nb) + ")");
    for (long k = 0; k < n; ++k) c.unit[static_cast<size_t>(next++)] = platform.units[static_cast<size_t>(u)].letter;
    ++item;
    start = end + 1;
  }
  if (next != nb)
    return Error(StatusCode::kInvalidArgument, "split '" + split + "': " + std::to_string(next) + " blocks, model " +
                                                   model.name + " has " + std::to_string(nb));
  c.gpu_host = c.npu_host = platform.units[static_cast<size_t>(first_cpu)].letter;
  c.freq_idx.fill(-1);
  for (int u = 0; u < platform.num_units() && u < kMaxUnits; ++u)
    c.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(platform.units[static_cast<size_t>(u)].max_opp());
  HETSCHED_RETURN_IF_ERROR(validate_config(c, platform, model));
  return c;
}

}  // namespace hetsched::policies
