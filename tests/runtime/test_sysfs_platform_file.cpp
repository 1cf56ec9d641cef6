// The project's own platform file (env/platforms/rockpi_n10.json) mapped onto a fake Rock Pi N10
// tree (RK3399 layout with the Rockchip BSP zones): the names the platform file uses must be the
// names the board exposes.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/linux_platform.hpp"
#include "tests/runtime/fake_tree.hpp"

namespace hetsched::runtime {
namespace {

TEST(SysfsPlatformFile, RockPiN10MapsOntoItsBoardLayout) {
  auto desc = policies::load_platform(std::string(HETSCHED_SOURCE_DIR) + "/env/platforms/rockpi_n10.json");
  ASSERT_TRUE(desc.ok()) << desc.status().to_string();
  testing::FakeTree t;
  testing::make_rk3399(t, /*bsp=*/true);
  ManualClock clock;
  LinuxOptions o;
  o.sysfs_root = t.sys();
  o.procfs_root = t.proc();
  o.clock = &clock;
  o.platform = &*desc;
  auto p = LinuxPlatform::create(o);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  LinuxPlatform& plat = **p;
  for (const auto& n : plat.notes()) {
    // Only the differences we expect: the board's GPU OPPs (297/500 MHz rows) differ from the
    // five ARM-CO-UP frequency indices of the platform file.
    const bool expected = n.find("unit G") != std::string::npos && n.find("OPPs differ") != std::string::npos;
    EXPECT_TRUE(expected) << n;
  }
  ASSERT_EQ(plat.num_units(), static_cast<int>(desc->units.size()));
  const int L = plat.unit_index("L"), B = plat.unit_index("B"), G = plat.unit_index("G"), N = plat.unit_index("N");
  ASSERT_TRUE(L >= 0 && B >= 0 && G >= 0 && N >= 0);
  EXPECT_EQ(plat.units()[B].cpu_ids, (std::vector<int>{4, 5}));
  EXPECT_EQ(plat.units()[L].zone, 0);  // soc-thermal
  EXPECT_EQ(plat.topology().board_power, 0);  // "INA260 in the board supply line ..." -> hwmon ina260
  EXPECT_EQ(plat.control(B), FreqControl::kClamp);
  EXPECT_EQ(plat.control(N), FreqControl::kNone);  // RK3399Pro NPU: no DVFS
  EXPECT_EQ(plat.control_status(N).code(), StatusCode::kUnavailable);

  SensorReadings r;
  plat.read(&r);
  EXPECT_EQ(r.units[B].freq_khz.value, 1800000);
  EXPECT_EQ(r.units[G].freq_khz.value, 800000);
  EXPECT_EQ(r.units[N].freq_khz.error, ReadError::kUnavailable);
  EXPECT_EQ(r.temp_mc[plat.units()[L].zone].value, 45000);
  ASSERT_TRUE(plat.set_freq_khz(B, 1608000).ok());
  EXPECT_EQ(t.first_line("devices/system/cpu/cpufreq/policy4/scaling_max_freq"), "1608000");
  ASSERT_TRUE(plat.set_freq_khz(G, 297000).ok());  // the board's OPP, not the file's 300000
  EXPECT_EQ(t.first_line("class/devfreq/ff9a0000.gpu/max_freq"), "297000000");
  EXPECT_EQ(plat.set_freq_khz(G, 300000).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hetsched::runtime
