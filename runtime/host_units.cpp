#include "runtime/host_units.hpp"

#include <algorithm>

#include "runtime/linux_discovery.hpp"

namespace hetsched::runtime {

Result<std::vector<HostUnit>> host_units(const std::string& sysfs_root) {
  const std::vector<int> allowed = affinity_cpus();
  auto ok_core = [&](int c) { return allowed.empty() || std::find(allowed.begin(), allowed.end(), c) != allowed.end(); };
  std::vector<HostUnit> units;
  auto topo = discover_linux(sysfs_root, nullptr);
  if (topo.ok()) {
    for (const LinuxUnit& u : topo->units) {
      if (u.cpu_ids.empty()) continue;  // GPU/NPU: no built-in executor
      HostUnit h;
      for (int c : u.cpu_ids)
        if (ok_core(c)) h.cpu_ids.push_back(c);
      if (h.cpu_ids.empty()) continue;
      h.name = "cpu" + std::to_string(h.cpu_ids.front());
      units.push_back(std::move(h));
    }
  }
  if (units.empty())
    for (int c : allowed) units.push_back({"cpu" + std::to_string(c), {c}});
  if (units.empty())
    return Error(StatusCode::kNotFound, "host units: no CPU found under " + sysfs_root + "/devices/system/cpu nor in the affinity mask");
  return units;
}

}  // namespace hetsched::runtime
