// Host unit mapping (policies/host_mapping.hpp): letters in unit order, Config <-> runtime split
// round trips, and every malformed split names the item that is wrong.
#include <gtest/gtest.h>

#include "policies/config.hpp"
#include "policies/host_mapping.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"

namespace hp = hetsched::policies;

namespace {

// This VM as the runtime sees it (cpu0, cpu1), plus a 3-unit host (cpu0-3, cpu4-5, cpu6).
hp::PlatformDesc host(int units) {
  hp::PlatformDesc p;
  p.name = "host";
  const std::vector<std::vector<int>> cores = units == 2 ? std::vector<std::vector<int>>{{0}, {1}}
                                                          : std::vector<std::vector<int>>{{0, 1, 2, 3}, {4, 5}, {6}};
  for (int i = 0; i < units; ++i) {
    hp::UnitDesc u;
    u.letter = hp::host_unit_letter(i);
    u.name = hp::host_unit_name(cores[static_cast<size_t>(i)].front());
    u.cores = static_cast<int>(cores[static_cast<size_t>(i)].size());
    u.cpu_ids = cores[static_cast<size_t>(i)];
    u.opps.push_back({2'000'000, 1'000'000});
    p.units.push_back(u);
  }
  return p;
}

hp::ModelDesc mobilenet() {
  auto m = hp::load_model_by_name(HETSCHED_SOURCE_DIR, "mobilenet_v1");
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.value();
}

}  // namespace

TEST(HostMapping, LettersAreUnitOrderAndNamesAreFirstCore) {
  EXPECT_EQ(hp::host_unit_letter(0), 'A');
  EXPECT_EQ(hp::host_unit_letter(1), 'B');
  EXPECT_EQ(hp::host_unit_letter(5), 'F');
  EXPECT_EQ(hp::host_unit_letter(6), '?');
  EXPECT_EQ(hp::host_unit_letter(-1), '?');
  EXPECT_EQ(hp::host_unit_name(4), "cpu4");
}

TEST(HostMapping, SplitToConfigAndBack) {
  const auto p = host(2);
  const auto m = mobilenet();
  ASSERT_EQ(m.num_blocks(), 28);
  auto c = hp::config_from_host_split("cpu0:20,cpu1:8", p, m);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->order(), std::string(20, 'A') + std::string(8, 'B'));
  EXPECT_EQ(c->freq_idx[0], 0);
  EXPECT_EQ(c->freq_idx[1], 0);
  EXPECT_TRUE(hp::validate_config(*c, p, m).ok());
  auto s = hp::host_split_from_config(*c, p, m);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(*s, "cpu0:20,cpu1:8");
  // Reverse order, and a unit in two stages (the runtime allows "AABBAA"-shaped plans).
  for (const std::string split : {"cpu1:3,cpu0:25", "cpu0:28", "cpu0:5,cpu1:10,cpu0:13"}) {
    auto c2 = hp::config_from_host_split(split, p, m);
    ASSERT_TRUE(c2.ok()) << split << ": " << c2.status().to_string();
    EXPECT_EQ(hp::host_split_from_config(*c2, p, m).value(), split);
  }
  // A config parsed from ARM-CO-UP text maps the same way.
  auto parsed = hp::parse_config(std::string(14, 'B') + std::string(14, 'A') + ":AA:0,0", p, m);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(hp::host_split_from_config(*parsed, p, m).value(), "cpu1:14,cpu0:14");
}

TEST(HostMapping, ThreeUnitsUseTheirFirstCoreNames) {
  const auto p = host(3);
  const auto m = mobilenet();
  auto c = hp::config_from_host_split("cpu6:2,cpu4:6,cpu0:20", p, m);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->order(), std::string(2, 'C') + std::string(6, 'B') + std::string(20, 'A'));
  EXPECT_EQ(hp::host_split_from_config(*c, p, m).value(), "cpu6:2,cpu4:6,cpu0:20");
}

TEST(HostMapping, MalformedSplitsNameTheItem) {
  const auto p = host(2);
  const auto m = mobilenet();
  auto err = [&](const std::string& s) {
    auto r = hp::config_from_host_split(s, p, m);
    EXPECT_FALSE(r.ok()) << s;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(err("cpu7:20,cpu1:8").find("item 0 'cpu7:20': unknown unit 'cpu7' (CPU units: cpu0, cpu1)"), std::string::npos);
  EXPECT_NE(err("cpu0:20,cpu1:x").find("item 1 'cpu1:x': block count 'x'"), std::string::npos);
  EXPECT_NE(err("cpu0:20,cpu1:9").find("item 1"), std::string::npos);  // 29 > 28 blocks
  EXPECT_NE(err("cpu0:20,cpu1:7").find("27 blocks, model mobilenet_v1 has 28"), std::string::npos);
  EXPECT_NE(err("cpu0:0,cpu1:28").find("item 0"), std::string::npos);
  EXPECT_NE(err("cpu0").find("expected UNIT:BLOCKS"), std::string::npos);
  EXPECT_NE(err("").find("expected UNIT:BLOCKS"), std::string::npos);
  EXPECT_NE(err("cpu0:28,").find("item 1"), std::string::npos);
  EXPECT_NE(err("cpu0:-3,cpu1:31").find("item 0"), std::string::npos);
}

TEST(HostMapping, ConfigWithAForeignLetterIsRejected) {
  const auto p = host(2);
  const auto m = mobilenet();
  hp::Config c = hp::config_from_host_split("cpu0:28", p, m).value();
  c.unit[5] = 'G';
  auto s = hp::host_split_from_config(c, p, m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("block 5: unit 'G'"), std::string::npos) << s.status().message();
  c.num_blocks = 27;
  EXPECT_FALSE(hp::host_split_from_config(c, p, m).ok());
}
