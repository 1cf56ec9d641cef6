// The compute units of the machine we run on: one unit per CPU cluster (cpufreq policy, else one
// per online core), named cpu<first core> ("cpu0", "cpu1" on this 2-core VM).
#pragma once

#include <string>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::runtime {

struct HostUnit {
  std::string name;          // cpu<N>
  std::vector<int> cpu_ids;  // cores of the cluster, ascending
};

// Discovers CPU units under sysfs_root (see linux_discovery.hpp); falls back to one unit per
// core of the process affinity mask when sysfs lists no CPUs. Only cores this process may run
// on are kept (a cluster outside the affinity mask is dropped).
Result<std::vector<HostUnit>> host_units(const std::string& sysfs_root = "/sys");

}  // namespace hetsched::runtime
