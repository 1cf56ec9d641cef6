// LinuxPlatform readings as telemetry Samples: kinds, units, source names, gaps for invalid values.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/linux_samples.hpp"
#include "tests/runtime/fake_tree.hpp"

namespace hetsched::runtime {
namespace {

using telemetry::Sample;
using telemetry::SampleKind;

const Sample* find(const std::vector<Sample>& v, std::size_t n, SampleKind k, std::uint16_t src) {
  for (std::size_t i = 0; i < n; ++i)
    if (v[i].kind == k && v[i].source == src) return &v[i];
  return nullptr;
}

TEST(SysfsSamples, Rk3399ReadingsBecomeSamples) {
  testing::FakeTree t;
  testing::make_rk3399(t);
  ManualClock clock(42);
  policies::PlatformDesc p;
  p.name = "rk3399_test";
  p.units.resize(2);
  p.units[0] = {.letter = 'B', .name = "A72", .kind = policies::UnitKind::kCpu, .cores = 2, .cpu_ids = {4, 5},
                .opps = {}, .hosts = "", .freq_sysfs = "cpufreq/policy4", .thermal_zone = "cpu-thermal"};
  p.units[1] = {.letter = 'G', .name = "Mali", .kind = policies::UnitKind::kGpu, .cores = 1, .cpu_ids = {},
                .opps = {}, .hosts = "B", .freq_sysfs = "devfreq/ff9a0000.gpu", .thermal_zone = "gpu-thermal"};
  p.board_power_sensor = "ina226";
  LinuxOptions o;
  o.sysfs_root = t.sys();
  o.procfs_root = t.proc();
  o.clock = &clock;
  o.platform = &p;
  auto plat = LinuxPlatform::create(o);
  ASSERT_TRUE(plat.ok()) << plat.status().to_string();

  telemetry::SourceTable table({"stage0"});  // ids already in use stay untouched
  auto src = register_sources(**plat, &table);
  ASSERT_TRUE(src.ok()) << src.status().to_string();
  EXPECT_EQ(table.name(src->unit[0]), "B");
  EXPECT_EQ(table.name(src->unit[1]), "G");
  EXPECT_EQ(table.name(src->zone[1]), "gpu-thermal");
  EXPECT_EQ(table.name(src->power[0]), "board");
  EXPECT_EQ(*table.find("stage0"), 0);

  t.put_sys("class/thermal/thermal_zone0/temp", "broken");
  SensorReadings r;
  (*plat)->read(&r);
  std::vector<Sample> out(max_samples(r));
  const std::size_t n = to_samples(r, *src, out);
  // B: freq (util has no elapsed tick yet), G: freq + util, gpu-thermal, board power.
  ASSERT_EQ(n, 5u);
  const Sample* bf = find(out, n, SampleKind::kFreq, src->unit[0]);
  ASSERT_NE(bf, nullptr);
  EXPECT_EQ(bf->value, 1800000.0);
  EXPECT_EQ(bf->t_ns, 42);
  const Sample* gf = find(out, n, SampleKind::kFreq, src->unit[1]);
  ASSERT_NE(gf, nullptr);
  EXPECT_EQ(gf->value, 800000.0);  // kHz, not Hz
  EXPECT_EQ(find(out, n, SampleKind::kUtil, src->unit[1])->value, 370.0);
  EXPECT_EQ(find(out, n, SampleKind::kTemp, src->zone[0]), nullptr);  // malformed: a gap, not 0
  EXPECT_EQ(find(out, n, SampleKind::kTemp, src->zone[1])->value, 43500.0);
  EXPECT_DOUBLE_EQ(find(out, n, SampleKind::kBoardPower, src->power[0])->value, 4143.0);  // uW -> mW

  std::vector<Sample> small(2);
  EXPECT_EQ(to_samples(r, *src, small), 2u);  // stops when full
}

}  // namespace
}  // namespace hetsched::runtime
