#include <gtest/gtest.h>

#include <set>
#include <string>

#include "telemetry/sample.hpp"

namespace hetsched::telemetry {
namespace {

TEST(SampleKinds, EveryKindHasAUniqueNameThatParsesBack) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < kSampleKindCount; ++i) {
    const auto k = static_cast<SampleKind>(i);
    const std::string name(kind_name(k));
    EXPECT_NE(name, "unknown");
    EXPECT_FALSE(kind_unit(k).empty()) << name;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate name " << name;
    auto parsed = parse_sample_kind(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_FALSE(parse_sample_kind("freq").has_value());
  EXPECT_FALSE(parse_sample_kind("").has_value());
  EXPECT_EQ(kind_name(static_cast<SampleKind>(200)), "unknown");
}

TEST(SampleKinds, UnitsAreInTheNames) {
  EXPECT_EQ(kind_name(SampleKind::kFreq), "freq_khz");
  EXPECT_EQ(kind_name(SampleKind::kTemp), "temp_mc");
  EXPECT_EQ(kind_name(SampleKind::kStageLatency), "stage_latency_us");
  EXPECT_EQ(kind_name(SampleKind::kBoardPower), "board_power_mw");
}

TEST(EventKinds, NamesParseWithAndWithoutPrefix) {
  for (std::size_t i = 0; i < kEventKindCount; ++i) {
    const auto k = static_cast<EventKind>(i);
    const std::string name(kind_name(k));
    EXPECT_EQ(parse_event_kind(name), k);
    EXPECT_EQ(parse_event_kind("event." + name), k);
  }
  EXPECT_FALSE(parse_event_kind("event.").has_value());
  EXPECT_FALSE(parse_event_kind("freq_khz").has_value());
  const std::string all = all_kind_names();
  EXPECT_NE(all.find("event.config_applied"), std::string::npos);
  EXPECT_NE(all.find("queue_depth"), std::string::npos);
}

TEST(SourceTableTest, AddFindAndNameFallback) {
  SourceTable t;
  EXPECT_EQ(t.add("L"), 0);
  EXPECT_EQ(t.add("B"), 1);
  EXPECT_EQ(t.add("L"), 0);  // existing name keeps its id
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.find("B"), 1);
  EXPECT_FALSE(t.find("G").has_value());
  EXPECT_EQ(t.name(1), "B");
  EXPECT_EQ(t.name(7), "7");  // unknown id prints as a number
}

TEST(SampleLayout, IsSmallAndTriviallyCopyable) {
  EXPECT_TRUE(std::is_trivially_copyable_v<Sample>);
  EXPECT_LE(sizeof(Sample), 24u);
}

}  // namespace
}  // namespace hetsched::telemetry
