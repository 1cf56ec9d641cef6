// Per-CPU load from /proc/stat, allocation-free after open.
//
// /proc/stat lines "cpuN user nice system idle iowait irq softirq steal guest guest_nice" are
// cumulative USER_HZ ticks since boot. Utilisation over an interval is a ratio of deltas, so
// the tick unit cancels and sysconf(_SC_CLK_TCK) is not needed:
//   util = 1 - d(idle + iowait) / d(user + nice + system + idle + iowait + irq + softirq + steal)
// guest/guest_nice are not added: the kernel already counts them inside user/nice.
// A unit's utilisation sums the deltas of its cores before dividing, i.e. it is the busy
// fraction of the unit's total core-time (a 4-core cluster with one core pegged reads 250 permille).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/linux_discovery.hpp"
#include "runtime/sysfs_file.hpp"

namespace hetsched::runtime {

struct CpuTicks {
  std::uint64_t idle = 0;     // idle + iowait
  std::uint64_t total = 0;    // user + nice + system + idle + iowait + irq + softirq + steal
  ReadError state = ReadError::kUnavailable;  // kNone when the line was present and well formed
};
using CpuTickTable = std::array<CpuTicks, kMaxLinuxCpus>;

// Parses the "cpuN ..." lines of /proc/stat text into `out` (indexed by N; ids >= kMaxLinuxCpus
// are ignored). CPUs without a line stay kUnavailable (offline); a line with fewer than four
// numeric columns or non-numeric text is kNotANumber. Returns the number of well-formed lines.
// No allocation.
int parse_proc_stat(std::string_view text, CpuTickTable* out) noexcept;

// Busy fraction of `cpus` between two tables, in permille (0..1000). Errors: kNoBaseline when a
// core has no previous sample or its counters went backwards (hotplug, counter reset),
// kNotANumber when a line was malformed, kUnavailable when none of the cores is online,
// kOutOfRange when no tick elapsed (interval shorter than one USER_HZ tick).
ReadError util_permille(const CpuTickTable& prev, const CpuTickTable& cur, std::span<const int> cpus,
                        std::int64_t* out) noexcept;

// The /proc/stat fd and a read buffer, both made at open.
class ProcStatReader {
 public:
  static constexpr long kBufferBytes = 64 * 1024;  // ~80 bytes per CPU line: room for 256 CPUs and more
  // kUnavailable when <procfs_root>/stat is missing.
  static Result<ProcStatReader> open(const std::string& procfs_root);
  // Reads and parses into `out`. Returns kIo on read failure, kNotANumber when the text has no
  // "cpu" lines at all, else kNone. No allocation.
  ReadError read(CpuTickTable* out) noexcept;
  const std::string& path() const noexcept { return file_.path(); }
  const SysfsFile& file() const noexcept { return file_; }

 private:
  SysfsFile file_;
  std::vector<char> buf_;
};

}  // namespace hetsched::runtime
