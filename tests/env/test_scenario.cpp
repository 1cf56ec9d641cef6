#include <gtest/gtest.h>

#include <filesystem>

#include "env/scenario.hpp"
#include "policies/platform.hpp"

namespace hetsched::env {
namespace {

const char* kExample = R"({ "name": "ex", "duration_s": 120, "decision_period_ms": 100,
  "initial": {"ambient_c": 25, "target_fps": 10, "max_latency_ms": null, "power_budget_mw": null},
  "events": [
    {"t_s": 20, "type": "background_load", "unit": "B", "cores": 2, "util": 1.0, "duration_s": 30},
    {"t_s": 30, "type": "contention", "unit": "G", "slowdown": 1.6, "duration_s": 20},
    {"t_s": 60, "type": "target_fps", "value": 15},
    {"t_s": 70, "type": "max_latency_ms", "value": 250},
    {"t_s": 80, "type": "ambient_c", "value": 40},
    {"t_s": 90, "type": "unit_offline", "unit": "N", "duration_s": 10},
    {"t_s": 95, "type": "power_budget_mw", "value": 5000} ] })";

policies::PlatformDesc platform() {
  policies::PlatformDesc p;
  p.name = "p";
  for (char c : std::string("LBGN")) {
    policies::UnitDesc u;
    u.letter = c;
    u.cores = c == 'L' ? 4 : (c == 'B' ? 2 : 1);
    p.units.push_back(u);
  }
  return p;
}

std::string error_of(const std::string& text) {
  auto r = parse_scenario(text, "s.json");
  return r.ok() ? std::string("(parsed)") : r.status().message();
}

std::string with_event(const std::string& ev) {
  return R"({"name":"x","duration_s":10,"decision_period_ms":100,"initial":{"ambient_c":25,"target_fps":5},"events":[)" + ev + "]}";
}

TEST(Scenario, ParsesTheDocumentedExampleAndComposesConditions) {
  auto s = parse_scenario(kExample, "ex.json");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  ASSERT_EQ(s->events.size(), 7u);
  EXPECT_EQ(s->initial.max_latency_ms, 0);
  ASSERT_TRUE(validate_scenario(*s, platform()).ok());
  const auto p = platform();
  Conditions c = conditions_at(*s, p, 35);
  EXPECT_DOUBLE_EQ(c.unit[1].bg_util, 1.0);         // 2 cores of 2 at 100 %
  EXPECT_DOUBLE_EQ(c.unit[1].slowdown, 2.0);        // 1 + util·cores_taken/cores
  EXPECT_DOUBLE_EQ(c.unit[2].slowdown, 1.6);
  EXPECT_EQ(c.target_fps, 10);
  c = conditions_at(*s, p, 96);
  EXPECT_DOUBLE_EQ(c.unit[1].slowdown, 1.0);        // load ended at 50 s
  EXPECT_EQ(c.target_fps, 15);
  EXPECT_EQ(c.max_latency_ms, 250);
  EXPECT_EQ(c.ambient_c, 40);
  EXPECT_FALSE(c.unit[3].online);
  EXPECT_EQ(c.power_budget_mw, 5000);
  EXPECT_TRUE(conditions_at(*s, p, 100).unit[3].online);  // back after duration_s
  const auto cp = change_points(*s);
  EXPECT_EQ(cp, (std::vector<double>{20, 30, 50, 60, 70, 80, 90, 95, 100}));
}

TEST(Scenario, ValueEventsWithDurationRevertToThePreviousValue) {
  auto s = parse_scenario(with_event(R"({"t_s":1,"type":"target_fps","value":20},
                                         {"t_s":2,"type":"target_fps","value":30,"duration_s":3})"), "s.json");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(conditions_at(*s, platform(), 0.5).target_fps, 5);
  EXPECT_EQ(conditions_at(*s, platform(), 3).target_fps, 30);
  EXPECT_EQ(conditions_at(*s, platform(), 6).target_fps, 20);
}

TEST(Scenario, EveryErrorNamesFileEventAndKey) {
  EXPECT_NE(error_of("{").find("s.json: not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","duration_s":1,"decision_period_ms":100,"initial":{},"events":[],"extra":1})")
                .find("s.json: extra: unknown key"), std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","decision_period_ms":100,"initial":{},"events":[]})").find("duration_s: missing key"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","duration_s":1,"decision_period_ms":100,"initial":{"ambient":3},"events":[]})")
                .find("initial.ambient: unknown key"), std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":1,"type":"target_fps","value":5,"unit":"B"})"))
                .find("events[0]: unknown key 'unit' for a target_fps event"), std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":1,"type":"target_fps","value":5},{"t_s":1,"type":"earthquake"})"))
                .find("events[1].type: unknown event type 'earthquake'"), std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":-1,"type":"target_fps","value":5})")).find("events[0].t_s: -1 outside"),
            std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":11,"type":"target_fps","value":5})")).find("events[0].t_s"), std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":1,"type":"background_load","unit":"B","cores":1,"util":1.5})"))
                .find("events[0].util: 1.5 outside [0, 1]"), std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":1,"type":"background_load","unit":"B","cores":1.5,"util":1})"))
                .find("events[0].cores"), std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":1,"type":"background_load","unit":"B","util":1})"))
                .find("events[0]: missing key 'cores'"), std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":1,"type":"contention","unit":"G","slowdown":0.5})"))
                .find("events[0].slowdown"), std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":1,"type":"unit_offline","unit":"big"})")).find("events[0].unit"),
            std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":"1","type":"target_fps","value":5})")).find("expected a number"),
            std::string::npos);
  EXPECT_NE(error_of(with_event(R"({"t_s":1,"type":"ambient_c","value":null})")).find("events[0].value"),
            std::string::npos);
  // Unknown unit letter for the platform, and more cores than the unit has.
  auto s = parse_scenario(with_event(R"({"t_s":1,"type":"unit_offline","unit":"X"})"), "s.json");
  ASSERT_TRUE(s.ok());
  const Status st = validate_scenario(*s, platform());
  EXPECT_NE(st.message().find("unknown unit 'X' for platform p (units: L B G N)"), std::string::npos) << st.message();
  s = parse_scenario(with_event(R"({"t_s":1,"type":"background_load","unit":"B","cores":3,"util":1})"), "s.json");
  ASSERT_TRUE(s.ok());
  EXPECT_NE(validate_scenario(*s, platform()).message().find("cores 3 > the 2 cores of unit B"), std::string::npos);
  EXPECT_EQ(load_scenario("/nonexistent/s.json").status().code(), StatusCode::kNotFound);
  EXPECT_NE(error_of(R"({"name":"x","duration_s":1000000,"decision_period_ms":1,"initial":{},"events":[]})")
                .find("duration_s: more than 10^7 decision periods"), std::string::npos);
}

TEST(Scenario, ShippedScenariosParseAndFitRockPiN10) {
  auto p = policies::load_platform_by_name(HETSCHED_SOURCE_DIR, "rockpi_n10");
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(HETSCHED_SOURCE_DIR) + "/env/scenarios")) {
    if (e.path().extension() != ".json") continue;
    auto s = load_scenario(e.path().string());
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_TRUE(validate_scenario(*s, *p).ok()) << e.path();
    ++n;
  }
  EXPECT_GE(n, 8);
}

}  // namespace
}  // namespace hetsched::env
