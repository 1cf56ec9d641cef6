// Observation encoder: fixed size, schema version, missing/stale readings, no NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "policies/obs_encoder.hpp"

namespace hp = hetsched::policies;
namespace ht = hetsched::telemetry;

namespace {
hp::PlatformDesc platform() {
  auto p = hp::load_platform_by_name(HETSCHED_SOURCE_DIR, "rockpi_n10");
  EXPECT_TRUE(p.ok());
  return *p;
}
}  // namespace

TEST(ObsEncoder, FixedSizeAndSchema) {
  auto e = hp::ObsEncoder::create(platform(), 10);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->size(), 11 + 7 * 4 + 2 + 4 + 3 * 10 + 11 + 1);  // schema v2 layout (obs_encoder.hpp)
  EXPECT_NE(e->schema().find("obs v" + std::to_string(hp::kObsSchemaVersion)), std::string::npos);
  std::vector<float> out(static_cast<size_t>(e->size()));
  std::vector<float> wrong(out.size() + 1);
  hp::TelemetryFrame f;
  EXPECT_TRUE(e->encode(f, {}, -1, out));
  EXPECT_FALSE(e->encode(f, {}, -1, wrong));
  EXPECT_FALSE(hp::ObsEncoder::create(platform(), -1).ok());
}

TEST(ObsEncoder, RatiosToTargetsAndOneHot) {
  auto e = hp::ObsEncoder::create(platform(), 3);
  ASSERT_TRUE(e.ok());
  hp::TelemetryFrame f;
  f.target_fps = 10;
  f.fps = 9;
  f.fps_ok = true;
  f.power_budget_mw = 5000;
  f.power_mw = 6000;
  f.power_ok = true;
  std::vector<float> out(static_cast<size_t>(e->size()));
  ASSERT_TRUE(e->encode(f, {}, 1, out));
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[2], 0.9f);
  EXPECT_FLOAT_EQ(out[5], 1.0f);
  EXPECT_FLOAT_EQ(out[6], 1.2f);
  const size_t onehot = out.size() - 1 - 4;  // 3 candidates + "off-candidate", then stale fraction
  EXPECT_FLOAT_EQ(out[onehot + 0], 0.0f);
  EXPECT_FLOAT_EQ(out[onehot + 1], 1.0f);
  ASSERT_TRUE(e->encode(f, {}, 7, out));  // out of range: the off-candidate slot
  EXPECT_FLOAT_EQ(out[onehot + 3], 1.0f);
}

TEST(ObsEncoder, GarbageNeverBecomesNaN) {
  auto e = hp::ObsEncoder::create(platform(), 2);
  ASSERT_TRUE(e.ok());
  hp::TelemetryFrame f;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  f.fps = nan, f.fps_ok = true, f.target_fps = inf, f.power_mw = -inf, f.power_ok = true, f.power_budget_mw = nan;
  f.max_latency_us = inf, f.latency_ok = true, f.max_latency_us_target = 0;
  f.num_stages = 1000;
  f.stage_latency_us[0] = nan;
  for (int u = 0; u < 4; ++u) f.util[static_cast<size_t>(u)] = nan, f.unit_ok[static_cast<size_t>(u)] = true;
  hp::Config c;
  c.num_blocks = 5000;  // malformed config: clamped, not read out of bounds
  std::vector<float> out(static_cast<size_t>(e->size()));
  ASSERT_TRUE(e->encode(f, c, -5, out));
  for (float v : out) EXPECT_TRUE(std::isfinite(v));
}

TEST(ObsEncoder, SnapshotStaleAndMissingReadings) {
  auto p = platform();
  auto snap = ht::Snapshot::create({});
  ASSERT_TRUE(snap.ok());
  hp::SnapshotSources src;
  src.pipeline = 0;
  src.board = 1;
  src.unit = {2, 3, 4, 5, -1, -1};
  src.zone[0] = 6;
  const std::int64_t now = 10'000'000'000;
  snap->update({now - 1'000'000, 12.5, 0, ht::SampleKind::kFps});
  snap->update({now - 5'000'000'000, 4000, 1, ht::SampleKind::kBoardPower});  // 5 s old: stale
  snap->update({now - 1'000'000, 1200000, 3, ht::SampleKind::kFreq});
  snap->update({now - 1'000'000, 500, 3, ht::SampleKind::kUtil});
  snap->update({now - 1'000'000, 55000, 6, ht::SampleKind::kTemp});
  hp::TelemetryFrame f;
  hp::frame_from_snapshot(*snap, src, now, 1'000'000'000, p.num_units(), &f);
  EXPECT_TRUE(f.fps_ok);
  EXPECT_DOUBLE_EQ(f.fps, 12.5);
  EXPECT_FALSE(f.power_ok);
  EXPECT_FALSE(f.unit_ok[0]);
  EXPECT_TRUE(f.unit_ok[1]);
  EXPECT_DOUBLE_EQ(f.util[1], 0.5);
  EXPECT_EQ(f.temp_mc[0], 55000);
  EXPECT_FALSE(f.temp_ok[1]);
  auto e = hp::ObsEncoder::create(p, 0);
  ASSERT_TRUE(e.ok());
  std::vector<float> out(static_cast<size_t>(e->size()));
  ASSERT_TRUE(e->encode(f, {}, -1, out));
  // Missing: latency, power, units L/G/N, zone 1 → 6 of 3 + 4 + 2 = 9 readings.
  EXPECT_NEAR(out.back(), 6.0f / 9.0f, 1e-6);
  for (float v : out) EXPECT_TRUE(std::isfinite(v));
}
