// What a Linux machine offers for sensing and actuation, found by walking sysfs once at create
// time: CPU DVFS domains (cpufreq policies) or, without cpufreq, one unit per online CPU; GPU and
// NPU devfreq devices; thermal zones with their trips; hwmon power sensors (INA2xx/INA3221).
//
// Everything is rooted at a configurable directory so the same code runs on /sys and on fake
// trees built by the tests. Missing facilities are recorded in `notes` and leave the matching
// capability empty; only malformed contents (a related_cpus that is not a CPU list, a platform
// description that names an impossible sysfs path) are errors.
//
// Units: cpufreq files are kHz, devfreq files are Hz; everything stored here is freq_khz.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

// Capacity of the fixed arrays of the read path (see linux_platform.hpp). Discovery keeps at
// most this many units/zones/sensors and says so in `notes` when it drops some.
inline constexpr int kMaxLinuxUnits = 64;
inline constexpr int kMaxLinuxCpus = 256;
inline constexpr int kMaxLinuxZones = 32;
inline constexpr int kMaxLinuxPower = 8;

enum class FreqInterface : std::uint8_t {
  kNone,     // no DVFS interface: frequency is unavailable and cannot be set
  kCpufreq,  // <sysfs>/devices/system/cpu/cpufreq/policyN, values in kHz
  kDevfreq,  // <sysfs>/class/devfreq/<dev>, values in Hz
};
const char* freq_interface_name(FreqInterface f) noexcept;

struct LinuxUnit {
  std::string name;                 // "cpu0", "cpu4", "gpu", "npu" (discovered) or "L", "B", "G", "N" (platform)
  char letter = '?';                // platform letter; '?' when discovered without a PlatformDesc
  policies::UnitKind kind = policies::UnitKind::kCpu;
  std::vector<int> cpu_ids;         // CPU units: the cores (ascending); empty for GPU/NPU
  FreqInterface freq_if = FreqInterface::kNone;
  std::string freq_dir;             // absolute policy or devfreq directory; "" when freq_if == kNone
  std::vector<std::int64_t> opps_khz;  // ascending available frequencies; empty = only hw range known
  std::int64_t hw_min_khz = 0;      // cpuinfo_min_freq / lowest devfreq OPP; 0 = unknown
  std::int64_t hw_max_khz = 0;      // cpuinfo_max_freq / highest devfreq OPP; 0 = unknown
  int cpu_capacity = -1;            // cpuN/cpu_capacity of the first core (0..1024); -1 unknown
  int cluster_id = -1;              // cpuN/topology/cluster_id (else physical_package_id); -1 unknown
  std::vector<int> core_siblings;   // cpuN/topology/core_siblings_list (else the core_siblings mask) of the first core
  std::string governor;             // scaling_governor / governor at discovery; "" when none
  std::vector<std::string> governors;  // available governors
  int zone = -1;                    // index into LinuxTopology::zones (platform mapping); -1 none
};

struct LinuxTrip {
  std::int64_t temp_mc = 0;         // trip_point_K_temp
  std::int64_t hyst_mc = 0;         // trip_point_K_hyst (0 when absent)
  std::string type;                 // passive, active, hot, critical
};

struct LinuxZone {
  std::string type;                 // "cpu-thermal", "soc-thermal", "gpu-thermal" ...
  std::string dir;                  // absolute thermal_zoneN directory
  std::vector<LinuxTrip> trips;     // in sysfs (DT) order
};

struct LinuxPowerSensor {
  std::string name;                 // hwmon name, with ":<label or chK>" for multi-channel chips
  std::string dir;                  // absolute hwmonN directory holding the attributes
  std::string power_file;           // power<K>_input (uW); "" when computed from V x I
  std::string volt_file;            // in<K>_input (bus voltage, mV) when power_file is ""
  std::string curr_file;            // curr<K>_input (mA) when power_file is ""
};

struct LinuxTopology {
  std::vector<LinuxUnit> units;     // CPU units first (by first core), then GPU, then NPU
  std::vector<LinuxZone> zones;
  std::vector<LinuxPowerSensor> power;
  int board_power = -1;             // index into power of the platform's board sensor, -1 none
  bool has_cpufreq = false;         // at least one cpufreq policy exists
  bool has_devfreq = false;         // at least one GPU/NPU devfreq device was found
  std::vector<std::string> notes;   // what is missing or was dropped, one line each
};

// Walks <sysfs_root>. With `platform` == nullptr the units are discovered (cpufreq policies, else
// one per online CPU; devfreq devices whose names contain "gpu"/"npu"); otherwise the platform's
// units are mapped onto the sysfs paths its freq_sysfs/thermal_zone fields name.
Result<LinuxTopology> discover_linux(const std::string& sysfs_root, const policies::PlatformDesc* platform);

// The CPUs this process may run on (sched_getaffinity), for machines without an `online` file.
std::vector<int> affinity_cpus();

}  // namespace hetsched::runtime
