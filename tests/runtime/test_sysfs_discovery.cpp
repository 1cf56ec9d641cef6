// Discovery of units, zones and power sensors on fake RK3399 / RK3588 / VM trees.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/linux_discovery.hpp"
#include "tests/runtime/fake_tree.hpp"

namespace hetsched::runtime {
namespace {

using policies::UnitKind;
using testing::FakeTree;

bool has_note(const LinuxTopology& t, const std::string& needle) {
  return std::any_of(t.notes.begin(), t.notes.end(), [&](const std::string& n) { return n.find(needle) != std::string::npos; });
}

TEST(SysfsDiscovery, Rk3399ClustersGpuZonesAndIna226) {
  FakeTree t;
  testing::make_rk3399(t);
  auto r = discover_linux(t.sys(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const LinuxTopology& topo = *r;
  ASSERT_EQ(topo.units.size(), 3u);  // policy0, policy4, ff9a0000.gpu (dmc is not a unit)
  EXPECT_TRUE(topo.has_cpufreq);
  EXPECT_TRUE(topo.has_devfreq);

  const LinuxUnit& little = topo.units[0];
  EXPECT_EQ(little.name, "cpu0");
  EXPECT_EQ(little.kind, UnitKind::kCpu);
  EXPECT_EQ(little.cpu_ids, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(little.freq_if, FreqInterface::kCpufreq);
  EXPECT_EQ(little.opps_khz, std::vector<std::int64_t>(testing::kRk3399A53.begin(), testing::kRk3399A53.end()));
  EXPECT_EQ(little.hw_max_khz, 1416000);
  EXPECT_EQ(little.cpu_capacity, 381);
  EXPECT_EQ(little.cluster_id, 0);
  EXPECT_EQ(little.governor, "schedutil");

  const LinuxUnit& big = topo.units[1];
  EXPECT_EQ(big.name, "cpu4");
  EXPECT_EQ(big.cpu_ids, (std::vector<int>{4, 5}));
  EXPECT_EQ(big.opps_khz.back(), 1800000);
  EXPECT_EQ(big.cpu_capacity, 1024);
  EXPECT_EQ(big.cluster_id, 1);
  EXPECT_EQ(big.core_siblings, (std::vector<int>{4, 5}));  // from the hex mask "30"
  EXPECT_EQ(little.core_siblings, (std::vector<int>{0, 1, 2, 3}));

  const LinuxUnit& gpu = topo.units[2];
  EXPECT_EQ(gpu.name, "gpu");
  EXPECT_EQ(gpu.kind, UnitKind::kGpu);
  EXPECT_TRUE(gpu.cpu_ids.empty());
  EXPECT_EQ(gpu.freq_if, FreqInterface::kDevfreq);
  // devfreq lists Hz; we keep kHz.
  EXPECT_EQ(gpu.opps_khz, (std::vector<std::int64_t>{200000, 297000, 400000, 500000, 600000, 800000}));

  ASSERT_EQ(topo.zones.size(), 2u);
  EXPECT_EQ(topo.zones[0].type, "cpu-thermal");
  ASSERT_EQ(topo.zones[0].trips.size(), 3u);
  EXPECT_EQ(topo.zones[0].trips[0].temp_mc, 70000);
  EXPECT_EQ(topo.zones[0].trips[0].hyst_mc, 2000);
  EXPECT_EQ(topo.zones[0].trips[2].type, "critical");
  EXPECT_EQ(topo.zones[1].type, "gpu-thermal");

  ASSERT_EQ(topo.power.size(), 1u);  // the cpu_thermal hwmon mirror has no power channel
  EXPECT_EQ(topo.power[0].name, "ina226");
  EXPECT_EQ(topo.power[0].power_file, "power1_input");
}

TEST(SysfsDiscovery, Rk3588ThreeDomainsGpuNpuSevenZonesIna3221) {
  FakeTree t;
  testing::make_rk3588(t);
  auto r = discover_linux(t.sys(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const LinuxTopology& topo = *r;
  std::vector<std::string> names;
  for (const auto& u : topo.units) names.push_back(u.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cpu0", "cpu4", "cpu6", "gpu", "npu"}));
  EXPECT_EQ(topo.units[2].cpu_ids, (std::vector<int>{6, 7}));
  EXPECT_EQ(topo.units[1].opps_khz.back(), 2400000);
  EXPECT_EQ(topo.units[4].kind, UnitKind::kNpu);
  // The NPU lists its OPPs in descending Hz; we keep ascending kHz.
  EXPECT_EQ(topo.units[4].opps_khz.front(), 300000);
  EXPECT_EQ(topo.units[4].opps_khz.back(), 1000000);
  EXPECT_EQ(topo.units[3].hw_max_khz, 1000000);
  ASSERT_EQ(topo.zones.size(), 7u);
  EXPECT_EQ(topo.zones[6].type, "npu-thermal");
  EXPECT_EQ(topo.zones[1].trips[0].temp_mc, 85000);
  ASSERT_EQ(topo.power.size(), 3u);
  EXPECT_EQ(topo.power[0].name, "ina3221:VDD_CPU");
  EXPECT_TRUE(topo.power[0].power_file.empty());
  EXPECT_EQ(topo.power[0].volt_file, "in1_input");
  EXPECT_EQ(topo.power[2].curr_file, "curr3_input");
}

TEST(SysfsDiscovery, VmWithoutCpufreqGetsOneUnitPerOnlineCpu) {
  FakeTree t;
  testing::make_vm(t);
  auto r = discover_linux(t.sys(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->units.size(), 2u);
  EXPECT_EQ(r->units[0].name, "cpu0");
  EXPECT_EQ(r->units[1].name, "cpu1");
  EXPECT_EQ(r->units[1].cpu_ids, (std::vector<int>{1}));
  EXPECT_EQ(r->units[0].freq_if, FreqInterface::kNone);
  EXPECT_TRUE(r->units[0].opps_khz.empty());
  EXPECT_EQ(r->units[0].cpu_capacity, 1024);
  EXPECT_EQ(r->units[1].cluster_id, 1);  // cluster_id 65535 means unknown: package id used
  EXPECT_EQ(r->units[1].core_siblings, (std::vector<int>{0, 1}));
  EXPECT_FALSE(r->has_cpufreq);
  EXPECT_FALSE(r->has_devfreq);
  EXPECT_TRUE(r->zones.empty());
  EXPECT_TRUE(r->power.empty());
  EXPECT_TRUE(has_note(*r, "no cpufreq policies"));
  EXPECT_TRUE(has_note(*r, "no thermal zones"));
  EXPECT_TRUE(has_note(*r, "no power sensors"));
}

TEST(SysfsDiscovery, OnlineListWithGapsAndAffinityFallback) {
  FakeTree t;
  testing::make_vm(t);
  t.put_sys("devices/system/cpu/online", "0,2-3");
  auto r = discover_linux(t.sys(), nullptr);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->units.size(), 3u);
  EXPECT_EQ(r->units[2].name, "cpu3");
  t.remove_sys("devices/system/cpu/online");
  auto a = discover_linux(t.sys(), nullptr);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->units.size(), affinity_cpus().size());
  EXPECT_GE(a->units.size(), 1u);
  EXPECT_TRUE(has_note(*a, "sched_getaffinity"));
}

TEST(SysfsDiscovery, MalformedTopologyIsAnErrorNamingTheFile) {
  FakeTree t;
  testing::make_rk3399(t);
  t.put_sys("devices/system/cpu/cpufreq/policy4/related_cpus", "4 five");
  auto r = discover_linux(t.sys(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("policy4/related_cpus"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("five"), std::string::npos);

  FakeTree u;
  testing::make_rk3399(u);
  u.put_sys("devices/system/cpu/cpufreq/policy0/scaling_available_frequencies", "408000 fast");
  auto s = discover_linux(u.sys(), nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("policy0/scaling_available_frequencies"), std::string::npos);

  auto missing = discover_linux(u.sys() + "/nonexistent", nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(SysfsDiscovery, PolicyWithoutOppListUsesCpuinfoRange) {
  FakeTree t;
  testing::make_rk3399(t);
  t.remove_sys("devices/system/cpu/cpufreq/policy4/scaling_available_frequencies");
  auto r = discover_linux(t.sys(), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->units[1].opps_khz.empty());
  EXPECT_EQ(r->units[1].hw_min_khz, 408000);
  EXPECT_EQ(r->units[1].hw_max_khz, 1800000);
}

// A platform description as env/platforms/rockpi_n10.json would give it (RK3399Pro: the NPU is
// not devfreq-controlled, so its freq_sysfs is empty).
policies::PlatformDesc rockpi_like() {
  policies::PlatformDesc p;
  p.name = "rockpi_n10";
  p.units.resize(4);
  p.units[0] = {.letter = 'L', .name = "A53 x4", .kind = UnitKind::kCpu, .cores = 4, .cpu_ids = {0, 1, 2, 3},
                .opps = {}, .hosts = "", .freq_sysfs = "cpufreq/policy0", .thermal_zone = "cpu-thermal"};
  p.units[1] = {.letter = 'B', .name = "A72 x2", .kind = UnitKind::kCpu, .cores = 2, .cpu_ids = {4, 5},
                .opps = {}, .hosts = "", .freq_sysfs = "cpufreq/policy4", .thermal_zone = "cpu-thermal"};
  p.units[2] = {.letter = 'G', .name = "Mali-T860", .kind = UnitKind::kGpu, .cores = 1, .cpu_ids = {},
                .opps = {}, .hosts = "LB", .freq_sysfs = "devfreq/ff9a0000.gpu", .thermal_zone = "gpu-thermal"};
  p.units[3] = {.letter = 'N', .name = "RK3399Pro NPU", .kind = UnitKind::kNpu, .cores = 1, .cpu_ids = {},
                .opps = {{800000, 0}}, .hosts = "B", .freq_sysfs = "", .thermal_zone = ""};
  p.board_power_sensor = "ina226";
  return p;
}

TEST(SysfsDiscovery, PlatformUnitsKeepTheirLetters) {
  FakeTree t;
  testing::make_rk3399(t);
  const policies::PlatformDesc p = rockpi_like();
  auto r = discover_linux(t.sys(), &p);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->units.size(), 4u);
  EXPECT_EQ(r->units[0].name, "L");
  EXPECT_EQ(r->units[0].letter, 'L');
  EXPECT_EQ(r->units[1].name, "B");
  EXPECT_EQ(r->units[1].opps_khz.back(), 1800000);  // from sysfs, the platform file listed none
  EXPECT_EQ(r->units[1].zone, 0);
  EXPECT_EQ(r->units[2].name, "G");
  EXPECT_EQ(r->units[2].freq_if, FreqInterface::kDevfreq);
  EXPECT_EQ(r->units[2].zone, 1);
  EXPECT_EQ(r->units[3].name, "N");
  EXPECT_EQ(r->units[3].freq_if, FreqInterface::kNone);
  EXPECT_EQ(r->units[3].opps_khz, (std::vector<std::int64_t>{800000}));
  EXPECT_EQ(r->board_power, 0);
}

TEST(SysfsDiscovery, PlatformOnAMachineThatLacksItsPathsIsDegradedNotFailed) {
  FakeTree t;
  testing::make_vm(t);
  const policies::PlatformDesc p = rockpi_like();
  auto r = discover_linux(t.sys(), &p);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  for (const auto& u : r->units) EXPECT_EQ(u.freq_if, FreqInterface::kNone) << u.name;
  EXPECT_TRUE(has_note(*r, "unit B"));
  EXPECT_TRUE(has_note(*r, "thermal zone 'gpu-thermal' not present"));
  EXPECT_TRUE(has_note(*r, "board power sensor 'ina226' not present"));
  EXPECT_EQ(r->board_power, -1);
}

TEST(SysfsDiscovery, PlatformWithImpossiblePathIsRejected) {
  FakeTree t;
  testing::make_rk3399(t);
  policies::PlatformDesc p = rockpi_like();
  p.units[2].freq_sysfs = "../../etc/passwd";
  auto r = discover_linux(t.sys(), &p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("units[2].freq_sysfs"), std::string::npos) << r.status().message();
  p = rockpi_like();
  p.units[0].cpu_ids = {0, 1};  // disagrees with related_cpus: kept, but noted
  auto n = discover_linux(t.sys(), &p);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(has_note(*n, "related_cpus"));
}

}  // namespace
}  // namespace hetsched::runtime
