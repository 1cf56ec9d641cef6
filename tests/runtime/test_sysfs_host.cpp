// Discovery and sensing against the real /sys and /proc of the machine running the tests.
// Asserted generally (any Linux box passes); on this 2-core VM without cpufreq it also checks
// the exact fallback: units cpu0 and cpu1, frequency unavailable.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "runtime/linux_platform.hpp"

namespace hetsched::runtime {
namespace {

TEST(SysfsHost, DiscoversThisMachine) {
  if (!is_dir("/sys/devices/system/cpu")) GTEST_SKIP() << "no sysfs mounted";
  RealClock clock;
  LinuxOptions o;
  o.clock = &clock;
  o.enable_actuation = false;  // never change the host's settings from a test
  auto p = LinuxPlatform::create(o);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  LinuxPlatform& plat = **p;
  ASSERT_GE(plat.num_units(), 1);
  std::set<int> seen;
  int cpu_units = 0;
  for (const LinuxUnit& u : plat.units()) {
    if (u.kind != policies::UnitKind::kCpu) continue;
    ++cpu_units;
    ASSERT_GE(u.cpu_ids.size(), 1u) << u.name;
    EXPECT_EQ(u.name, "cpu" + std::to_string(u.cpu_ids.front()));
    for (int c : u.cpu_ids) EXPECT_TRUE(seen.insert(c).second) << "cpu" << c << " in two units";
    if (u.freq_if == FreqInterface::kCpufreq) {
      EXPECT_GT(u.hw_max_khz, 0) << u.name;
      EXPECT_TRUE(std::is_sorted(u.opps_khz.begin(), u.opps_khz.end()));
    }
  }
  EXPECT_GE(cpu_units, 1);

  SensorReadings r;
  plat.read(&r);
  EXPECT_GT(r.t_ns, 0);
  EXPECT_EQ(r.num_units, plat.num_units());
  const bool has_cpufreq = plat.topology().has_cpufreq;
  for (int i = 0; i < plat.num_units(); ++i) {
    if (plat.units()[i].freq_if == FreqInterface::kNone) {
      EXPECT_EQ(r.units[i].freq_khz.error, ReadError::kUnavailable);
      EXPECT_EQ(plat.control(i), FreqControl::kNone);
    } else if (r.units[i].freq_khz.ok()) {
      EXPECT_GT(r.units[i].freq_khz.value, 0);
    }
  }
  for (int z = 0; z < r.num_zones; ++z)
    if (r.temp_mc[z].ok()) {
      EXPECT_GE(r.temp_mc[z].value, o.temp_min_mc);
      EXPECT_LE(r.temp_mc[z].value, o.temp_max_mc);
    }

  // Load over a short busy interval: at least one CPU unit reads a valid 0..1000 value.
  if (plat.has_load()) {
    const long tick_ns = 1'000'000'000L / sysconf(_SC_CLK_TCK);
    const std::int64_t until = clock.now_ns() + 3 * tick_ns;
    volatile unsigned spin = 0;
    while (clock.now_ns() < until) spin = spin + 1;
    plat.read(&r);
    EXPECT_EQ(r.proc_stat, ReadError::kNone);
    int valid = 0;
    for (int i = 0; i < plat.num_units(); ++i) {
      const Reading& u = r.units[i].util_permille;
      if (plat.units()[i].cpu_ids.empty() || !u.ok()) continue;
      ++valid;
      EXPECT_GE(u.value, 0);
      EXPECT_LE(u.value, 1000);
    }
    EXPECT_GE(valid, 1);
  }

  if (!has_cpufreq) {
    // This VM: no cpufreq -> one unit per online CPU, named after it, frequency unavailable.
    EXPECT_EQ(plat.control_status(0).code(), StatusCode::kUnavailable);
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    EXPECT_EQ(cpu_units, online);
    if (online == 2 && cpu_units == 2) {
      EXPECT_EQ(plat.units()[0].cpu_ids, std::vector<int>{0});
      EXPECT_EQ(plat.units()[0].name, "cpu0");
      EXPECT_EQ(plat.units()[1].name, "cpu1");
    }
  }
}

}  // namespace
}  // namespace hetsched::runtime
