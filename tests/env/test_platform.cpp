// Platform files: the shipped rockpi_n10 matches armcoup/SOURCE.md, and every validation rule
// of the loader produces an error that names the file and the field.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policies/platform.hpp"

using hetsched::policies::load_platform;
using hetsched::policies::load_platform_by_name;
using hetsched::policies::UnitKind;
using nlohmann::json;

namespace {

const std::string kDir = HETSCHED_SOURCE_DIR;

json good() {
  std::ifstream in(kDir + "/env/platforms/rockpi_n10.json");
  return json::parse(in);
}

// Writes a mutated copy of rockpi_n10.json and returns the loader's error message ("" if OK).
std::string error_of(const std::function<void(json&)>& mutate) {
  json j = good();
  mutate(j);
  const std::string path = (std::filesystem::temp_directory_path() / "hetsched_test_platform.json").string();
  std::ofstream(path) << j.dump(1);
  auto r = load_platform(path);
  std::filesystem::remove(path);
  return r.ok() ? "" : r.status().message();
}

}  // namespace

TEST(Platform, RockPiN10MatchesSourceTables) {
  auto p = load_platform_by_name(kDir, "rockpi_n10");
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  ASSERT_EQ(p->num_units(), 4);
  EXPECT_EQ(p->soc, "RK3399Pro");
  const int L = p->unit_index('L'), B = p->unit_index('B'), G = p->unit_index('G'), N = p->unit_index('N');
  ASSERT_GE(L, 0);
  ASSERT_GE(B, 0);
  ASSERT_GE(G, 0);
  ASSERT_GE(N, 0);
  const std::vector<long> l = {408000, 600000, 816000, 1008000, 1200000, 1416000};
  const std::vector<long> b = {408000, 600000, 816000, 1008000, 1200000, 1416000, 1608000, 1800000};
  const std::vector<long> g = {200000, 300000, 400000, 600000, 800000};
  ASSERT_EQ(p->units[L].opps.size(), l.size());
  ASSERT_EQ(p->units[B].opps.size(), b.size());
  ASSERT_EQ(p->units[G].opps.size(), g.size());
  for (size_t i = 0; i < l.size(); ++i) EXPECT_EQ(p->units[L].opps[i].freq_khz, l[i]);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(p->units[B].opps[i].freq_khz, b[i]);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(p->units[G].opps[i].freq_khz, g[i]);
  EXPECT_EQ(p->units[B].opps.back().voltage_uv, 1200000);  // opp_tables.csv A72 1800 MHz
  EXPECT_EQ(p->units[L].cores, 4);
  EXPECT_EQ(p->units[B].cpu_ids, (std::vector<int>{4, 5}));
  EXPECT_EQ(p->units[N].kind, UnitKind::kNpu);
  EXPECT_FALSE(p->units[N].has_dvfs());
  EXPECT_EQ(p->units[G].hosts, "LB");
  EXPECT_EQ(p->units[G].freq_sysfs, "devfreq/ff9a0000.gpu");
  EXPECT_EQ(p->units[B].freq_sysfs, "cpufreq/policy4");
  ASSERT_FALSE(p->zones.empty());
  EXPECT_EQ(p->zones[0].trips.front().temp_mc, 70000);
  EXPECT_EQ(p->unit_index('X'), -1);
}

TEST(Platform, AllShippedPlatformsLoad) {
  auto names = hetsched::policies::list_platforms(kDir);
  EXPECT_GE(names.size(), 1u);
  for (const auto& n : names) {
    auto p = load_platform_by_name(kDir, n);
    EXPECT_TRUE(p.ok()) << n << ": " << p.status().to_string();
  }
}

TEST(Platform, MissingAndUnknown) {
  auto r = load_platform("/nonexistent/x.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), hetsched::StatusCode::kNotFound);
  auto u = load_platform_by_name(kDir, "no_such_board");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("rockpi_n10"), std::string::npos) << "lists the known platforms";
  EXPECT_FALSE(load_platform_by_name(kDir, "../rockpi_n10").ok());
}

TEST(Platform, InvalidJsonNamesFile) {
  const std::string path = (std::filesystem::temp_directory_path() / "hetsched_bad.json").string();
  std::ofstream(path) << "{\"name\": \"x\",\n \"units\": [ }";
  auto r = load_platform(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
}

struct Case {
  const char* expect;  // substring of the error
  std::function<void(json&)> mutate;
};

TEST(Platform, EveryValidationErrorNamesTheField) {
  const std::vector<Case> cases = {
      {"name", [](json& j) { j.erase("name"); }},
      {"(top level).colour", [](json& j) { j["colour"] = 1; }},
      {"units", [](json& j) { j["units"] = json::array(); }},
      {"units[0].letter", [](json& j) { j["units"][0]["letter"] = "l"; }},
      {"duplicate letter", [](json& j) { j["units"][1]["letter"] = "L"; }},
      {"units[2].kind", [](json& j) { j["units"][2]["kind"] = "dsp"; }},
      {"units[0].cores", [](json& j) { j["units"][0]["cores"] = 0; }},
      {"units[0].cpu_ids", [](json& j) { j["units"][0]["cpu_ids"] = {0, 1}; }},
      {"units[0].cpu_ids[1]", [](json& j) { j["units"][0]["cpu_ids"] = {0, 0, 1, 2}; }},
      {"units[2].cpu_ids", [](json& j) { j["units"][2]["cpu_ids"] = {6}; }},
      {"CPU 4 is in two units", [](json& j) { j["units"][0]["cpu_ids"] = {0, 1, 2, 4}; }},
      {"units[1].opps[3].freq_khz", [](json& j) { j["units"][1]["opps"][3]["freq_khz"] = 600000; }},
      {"units[1].opps[0].freq_khz", [](json& j) { j["units"][1]["opps"][0]["freq_khz"] = 408000000; }},
      {"units[1].opps[0].voltage_uv", [](json& j) { j["units"][1]["opps"][0]["voltage_uv"] = 800; }},
      {"units[1].opps[0].freq_mhz", [](json& j) { j["units"][1]["opps"][0]["freq_mhz"] = 408; }},
      {"units[0].opps", [](json& j) { j["units"][0]["opps"] = json::array(); }},
      {"units[2].hosts", [](json& j) { j["units"][2]["hosts"] = "GN"; }},
      {"units[3].hosts", [](json& j) { j["units"][3]["hosts"] = ""; }},
      {"units[0].hosts", [](json& j) { j["units"][0]["hosts"] = "B"; }},
      {"cpu units must come before", [](json& j) { std::swap(j["units"][1], j["units"][2]); }},
      {"units[0].thermal_zone", [](json& j) { j["units"][0]["thermal_zone"] = "nope"; }},
      {"zones[0].trips[0].temp_mc", [](json& j) { j["zones"][0]["trips"][0]["temp_mc"] = 85; }},
      {"zones[0].trips[1].temp_mc", [](json& j) { j["zones"][0]["trips"][1]["temp_mc"] = 60000; }},
      {"zones[0].trips[0].type", [](json& j) { j["zones"][0]["trips"][0]["type"] = "warm"; }},
      {"zones[0].cooled_units", [](json& j) { j["zones"][0]["cooled_units"] = "LBX"; }},
      {"zones[0].name", [](json& j) { j["zones"][0]["name"] = ""; }},
      {"units", [](json& j) {
         for (int i = 0; i < 3; ++i) j["units"].push_back(j["units"][3]);
       }},
  };
  for (const auto& c : cases) {
    const std::string e = error_of(c.mutate);
    EXPECT_NE(e.find(c.expect), std::string::npos) << "expected '" << c.expect << "' in: " << e;
    EXPECT_NE(e.find("hetsched_test_platform.json"), std::string::npos) << "names the file: " << e;
  }
  EXPECT_EQ(error_of([](json&) {}), "") << "the unmodified file loads";
}
