#include <gtest/gtest.h>

#include "telemetry/snapshot.hpp"

namespace hetsched::telemetry {
namespace {

TEST(SnapshotTest, RejectsBadOptions) {
  EXPECT_FALSE(Snapshot::create({.max_sources = 0}).ok());
  auto bad = Snapshot::create({.max_sources = 70000});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("max_sources"), std::string::npos);
}

TEST(SnapshotTest, LatestValueAndAgePerKindAndSource) {
  auto snap = Snapshot::create({.max_sources = 8});
  ASSERT_TRUE(snap.ok());
  Snapshot& s = *snap;
  EXPECT_FALSE(s.get(SampleKind::kTemp, 2, 0).has_value());

  EXPECT_TRUE(s.update({.t_ns = 1000, .value = 45000, .source = 2, .kind = SampleKind::kTemp}));
  EXPECT_TRUE(s.update({.t_ns = 1500, .value = 1800000, .source = 2, .kind = SampleKind::kFreq}));
  EXPECT_TRUE(s.update({.t_ns = 2000, .value = 46000, .source = 2, .kind = SampleKind::kTemp}));

  auto r = s.get(SampleKind::kTemp, 2, 5000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->value, 46000);
  EXPECT_EQ(r->t_ns, 2000);
  EXPECT_EQ(r->age_ns, 3000);
  auto f = s.get(SampleKind::kFreq, 2, 5000);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->value, 1800000);
  EXPECT_EQ(f->age_ns, 3500);
  // Other sources of the same kind are independent.
  EXPECT_FALSE(s.get(SampleKind::kTemp, 3, 5000).has_value());
}

TEST(SnapshotTest, ExtremeTimestampsSaturateTheAge) {
  auto snap = Snapshot::create({.max_sources = 2});
  ASSERT_TRUE(snap.ok());
  snap->update({.t_ns = INT64_MIN, .value = 1, .source = 0, .kind = SampleKind::kTemp});
  EXPECT_EQ(snap->get(SampleKind::kTemp, 0, INT64_MAX)->age_ns, INT64_MAX);
  snap->update({.t_ns = INT64_MAX, .value = 2, .source = 1, .kind = SampleKind::kTemp});
  EXPECT_EQ(snap->get(SampleKind::kTemp, 1, INT64_MIN)->age_ns, INT64_MIN);
  EXPECT_EQ(snap->get(SampleKind::kTemp, 1, 0)->age_ns, -INT64_MAX);
}

TEST(SnapshotTest, OutOfOrderSampleDoesNotRollBack) {
  auto snap = Snapshot::create({.max_sources = 4});
  ASSERT_TRUE(snap.ok());
  snap->update({.t_ns = 2000, .value = 2, .source = 1, .kind = SampleKind::kUtil});
  snap->update({.t_ns = 1000, .value = 1, .source = 1, .kind = SampleKind::kUtil});
  EXPECT_EQ(snap->get(SampleKind::kUtil, 1, 2000)->value, 2);
  snap->update({.t_ns = 2000, .value = 3, .source = 1, .kind = SampleKind::kUtil});  // tie: newest wins
  EXPECT_EQ(snap->get(SampleKind::kUtil, 1, 2000)->value, 3);
}

TEST(SnapshotTest, OutOfRangeSourceAndKindAreRejectedAndCounted) {
  auto snap = Snapshot::create({.max_sources = 4});
  ASSERT_TRUE(snap.ok());
  EXPECT_FALSE(snap->update({.t_ns = 1, .value = 1, .source = 4, .kind = SampleKind::kFps}));
  EXPECT_FALSE(snap->update({.t_ns = 1, .value = 1, .source = 0, .kind = static_cast<SampleKind>(99)}));
  EXPECT_EQ(snap->rejected(), 2u);
  EXPECT_FALSE(snap->get(SampleKind::kFps, 4, 1).has_value());
  snap->update({.t_ns = 1, .value = 1, .source = 3, .kind = SampleKind::kFps});
  snap->clear();
  EXPECT_FALSE(snap->get(SampleKind::kFps, 3, 1).has_value());
}

}  // namespace
}  // namespace hetsched::telemetry
