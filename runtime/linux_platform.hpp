// Linux sensing and actuation for the embedded runtime: frequencies, caps, load, temperatures
// and power of the processing units, and frequency control, over sysfs and procfs.
//
// Lifecycle (project rule): create() discovers the machine, opens every file it will ever touch
// and takes a /proc/stat baseline (may allocate, returns Result); read() is the hot path
// (pread on the cached fds into fixed arrays: no allocation, noexcept); set_freq_khz() writes one
// value (no allocation unless it fails); the destructor restores what create() changed.
//
// Missing facilities are not errors: a unit without cpufreq reads freq_khz as kUnavailable and
// set_freq_khz() returns kUnavailable; the reasons are listed in notes(). A failed write returns
// a Status naming the path and errno text and leaves the platform usable.
//
// Threads: one LinuxPlatform per sensing thread. read() keeps the /proc/stat baseline and the
// last text of every attribute inside the object, so concurrent read()/set_freq_khz() calls on
// the same object need the caller's lock.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policies/platform.hpp"
#include "runtime/linux_discovery.hpp"
#include "runtime/linux_proc_stat.hpp"
#include "runtime/sysfs_file.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

struct LinuxOptions {
  std::string sysfs_root = "/sys";      // where sysfs is mounted (tests point this at a fake tree)
  std::string procfs_root = "/proc";    // where procfs is mounted (for <root>/stat)
  const policies::PlatformDesc* platform = nullptr;  // map these units (letters) instead of discovering; read during create only
  const Clock* clock = nullptr;         // required: stamps SensorReadings::t_ns
  bool enable_actuation = true;         // false: never open anything for writing (pure sensing)
  bool take_userspace_governor = false; // switch DVFS domains to the userspace governor and write scaling_setspeed / userspace/set_freq; else clamp min=max
  bool restore_on_destroy = true;       // write back the governors, min/max limits and userspace frequency seen at create
  std::int64_t temp_min_mc = -50000;    // plausible temperature range, m°C; readings outside are kOutOfRange
  std::int64_t temp_max_mc = 150000;    // (tshut on these SoCs is 95..120 °C, so 150 °C means a broken sensor)
};

// How a unit's frequency is set.
enum class FreqControl : std::uint8_t {
  kNone,      // cannot be set (no DVFS, read-only files, actuation disabled); see control_status()
  kSetspeed,  // userspace governor: scaling_setspeed (kHz) or devfreq userspace/set_freq (Hz)
  kClamp,     // min = max = target through scaling_min/max_freq (kHz) or devfreq min/max_freq (Hz)
};
const char* freq_control_name(FreqControl c) noexcept;

struct Reading {
  std::int64_t value = 0;                    // in the unit named by the field holding it
  ReadError error = ReadError::kUnavailable;  // kNone when `value` is valid
  bool ok() const noexcept { return error == ReadError::kNone; }
};

struct UnitReadings {
  Reading freq_khz;       // scaling_cur_freq (kHz) or devfreq cur_freq (Hz / 1000)
  Reading max_freq_khz;   // scaling_max_freq / devfreq max_freq: the cap in force (thermal, QoS, our clamp)
  Reading util_permille;  // CPU: /proc/stat deltas since the previous read(); GPU/NPU: devfreq `load`
};

// Filled by read(); fixed size so the hot path never allocates.
struct SensorReadings {
  std::int64_t t_ns = 0;    // Options.clock at the start of the read
  int num_units = 0;        // valid prefix of `units` (same order as LinuxPlatform::units())
  int num_zones = 0;        // valid prefix of `temp_mc` (order of topology().zones)
  int num_power = 0;        // valid prefix of `power_uw` (order of topology().power)
  ReadError proc_stat = ReadError::kUnavailable;  // the /proc/stat read itself
  std::array<UnitReadings, kMaxLinuxUnits> units{};
  std::array<Reading, kMaxLinuxZones> temp_mc{};   // thermal_zoneN/temp, m°C
  std::array<Reading, kMaxLinuxPower> power_uw{};  // power<K>_input (uW) or in<K> mV x curr<K> mA (= uW)
};

class LinuxPlatform {
 public:
  static Result<std::unique_ptr<LinuxPlatform>> create(const LinuxOptions& options);
  ~LinuxPlatform();
  LinuxPlatform(const LinuxPlatform&) = delete;
  LinuxPlatform& operator=(const LinuxPlatform&) = delete;

  const LinuxTopology& topology() const noexcept { return topo_; }
  const std::vector<LinuxUnit>& units() const noexcept { return topo_.units; }
  int num_units() const noexcept { return static_cast<int>(topo_.units.size()); }
  // Index of the unit named `name` ("cpu0", "B", "gpu"), or -1.
  int unit_index(std::string_view name) const noexcept;
  // What is missing or degraded on this machine, one line each (discovery and create).
  const std::vector<std::string>& notes() const noexcept { return topo_.notes; }
  bool has_load() const noexcept { return proc_.file().is_open(); }

  FreqControl control(int unit) const noexcept;
  // OK when the unit can be actuated; otherwise why not (kUnavailable, kPermissionDenied ...).
  Status control_status(int unit) const;

  // Hot path: one pread per open attribute. Never allocates or throws.
  void read(SensorReadings* out) noexcept;

  // Sets one unit's frequency. freq_khz must be one of the unit's OPPs (or inside
  // [hw_min_khz, hw_max_khz] when the OPP list is unknown). Devfreq units are written in Hz.
  Status set_freq_khz(int unit, std::int64_t freq_khz);
  // Writes back the governors, limits and userspace frequencies seen at create (only where we
  // wrote something). Tries every unit; returns the first error.
  Status restore();

  // One line per invalid reading in `r` (path, unit, what was wrong, the text seen), skipping
  // sensors the machine lacks. Uses the text kept by the last read(): call it right after.
  std::vector<std::string> describe_errors(const SensorReadings& r) const;

 private:
  struct UnitIo;
  struct ZoneIo;
  struct PowerIo;
  LinuxPlatform();
  Status open_unit(const LinuxOptions& o, int i);
  Status resolve_control(const LinuxOptions& o, int i);
  Status write_limits(int i, std::int64_t lo_raw, std::int64_t hi_raw);

  LinuxOptions opt_;
  LinuxTopology topo_;
  std::vector<UnitIo> units_;
  std::vector<ZoneIo> zones_;
  std::vector<PowerIo> power_;
  ProcStatReader proc_;
  std::unique_ptr<CpuTickTable[]> ticks_;  // two tables: previous and current, swapped each read
  int prev_ = 0;
};

}  // namespace hetsched::runtime
