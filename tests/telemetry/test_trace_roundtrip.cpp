#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "telemetry/crc32.hpp"
#include "tests/telemetry/trace_test_util.hpp"

namespace hetsched::telemetry {
namespace {

using namespace testutil;

TEST(Crc32Test, KnownVectorsAndChaining) {
  EXPECT_EQ(crc32(0, "123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32(0, "", 0), 0u);
  EXPECT_EQ(crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
  const std::string s = "hetsched trace chunk body with odd length!";
  for (std::size_t cut = 0; cut <= s.size(); ++cut)
    ASSERT_EQ(crc32(crc32(0, s.data(), cut), s.data() + cut, s.size() - cut), crc32(0, s.data(), s.size()));
}

TEST(TraceRoundTrip, EveryRecordAndHeaderFieldSurvives) {
  const std::string path = temp_path("rt.trace");
  const Records in = make_records(5000);
  const auto stats = write_trace(path, in, {.path = "", .chunk_samples = 700, .chunk_interval_ns = 0});
  EXPECT_EQ(stats.samples, 5000u);
  EXPECT_EQ(stats.chunks, 5000u / 700 + 1 /*remainder*/ + 0);

  auto r = TraceReader::open(path);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const TraceHeader& h = r->header();
  const TraceHeader want = sample_header();
  EXPECT_EQ(h.format_major, kTraceFormatMajor);
  EXPECT_EQ(h.producer, want.producer);
  EXPECT_EQ(h.platform, want.platform);
  EXPECT_EQ(h.model, want.model);
  EXPECT_EQ(h.seeds, want.seeds);
  EXPECT_EQ(h.metadata, want.metadata);
  EXPECT_EQ(h.sources.names(), want.sources.names());

  const Records out = read_all(*r);
  ASSERT_EQ(out.samples.size(), in.samples.size());
  for (std::size_t i = 0; i < in.samples.size(); ++i) ASSERT_TRUE(same(out.samples[i], in.samples[i])) << i;
  ASSERT_EQ(out.events.size(), in.events.size());
  for (std::size_t i = 0; i < in.events.size(); ++i) ASSERT_TRUE(same(out.events[i], in.events[i])) << i;
  ASSERT_EQ(out.decisions.size(), in.decisions.size());
  for (std::size_t i = 0; i < in.decisions.size(); ++i) ASSERT_TRUE(same(out.decisions[i], in.decisions[i])) << i;

  EXPECT_TRUE(r->report().clean_end);
  EXPECT_FALSE(r->report().damaged());
  EXPECT_EQ(r->report().chunks_ok, stats.chunks);

  // summarize() totals the same file independently.
  auto again = TraceReader::open(path);
  ASSERT_TRUE(again.ok());
  const TraceSummary sum = summarize(*again);
  EXPECT_EQ(sum.samples, 5000u);
  for (std::size_t k = 0; k < kSampleKindCount; ++k)  // 5000 samples cycle through 9 kinds
    EXPECT_EQ(sum.samples_per_kind[k], 5000 / kSampleKindCount + (k < 5000 % kSampleKindCount ? 1 : 0)) << k;
  EXPECT_EQ(sum.events, in.events.size());
  EXPECT_EQ(sum.events_per_kind[1], 25u);  // event i/50 has kind (i/50) % 4: 100 events, 25 each
  EXPECT_EQ(sum.decisions, in.decisions.size());
  EXPECT_EQ(sum.dropped_samples, 3u);
  EXPECT_EQ(sum.missing_chunks, 0u);
  EXPECT_EQ(sum.first_t_ns, -5);
  EXPECT_EQ(sum.last_t_ns, 4999LL * 1'000'000 - 5);
}

TEST(TraceSummaryTest, CountsChunksLostInTheMiddle) {
  const std::string path = temp_path("gap.trace");
  write_trace(path, make_records(1000), {.path = "", .chunk_samples = 100, .chunk_interval_ns = 0});
  auto bytes = slurp(path);
  auto r = TraceReader::from_bytes("gap", bytes);
  ASSERT_TRUE(r.ok());
  TraceChunk c;
  std::vector<std::uint64_t> offsets;
  while (r->next(c)) offsets.push_back(c.offset);
  ASSERT_GE(offsets.size(), 6u);
  bytes[offsets[3] + 30] ^= 0x40;  // damage chunks 3 and 4
  bytes[offsets[4] + 30] ^= 0x40;
  auto damaged = TraceReader::from_bytes("gap", bytes);
  ASSERT_TRUE(damaged.ok());
  const TraceSummary sum = summarize(*damaged);
  EXPECT_EQ(sum.missing_chunks, 2u);
  EXPECT_EQ(sum.samples, 800u);
  EXPECT_EQ(sum.recovery.chunks_skipped, 2u);
  EXPECT_TRUE(sum.recovery.clean_end);
}

TEST(TraceRoundTrip, ExtremeValuesAndEmptyTrace) {
  const std::string path = temp_path("x.trace");
  Records in;
  const double inf = std::numeric_limits<double>::infinity();
  for (double v : {0.0, -0.0, 1e308, -inf, inf, std::numeric_limits<double>::denorm_min()})
    in.samples.push_back({.t_ns = std::numeric_limits<std::int64_t>::min(), .value = v, .source = 65535,
                          .kind = SampleKind::kQueueDepth});
  in.samples.push_back({.t_ns = std::numeric_limits<std::int64_t>::max(), .value = std::nan(""),
                        .source = 0, .kind = SampleKind::kFps});
  in.decisions.push_back({.t_ns = std::numeric_limits<std::int64_t>::max(), .action = -2147483647 - 1,
                          .observation = {}, .text = std::string(300, 'x')});
  write_trace(path, in);
  auto r = TraceReader::open(path);
  ASSERT_TRUE(r.ok());
  const Records out = read_all(*r);
  ASSERT_EQ(out.samples.size(), in.samples.size());
  for (std::size_t i = 0; i + 1 < in.samples.size(); ++i) {
    EXPECT_TRUE(same(out.samples[i], in.samples[i])) << i;
    EXPECT_EQ(std::signbit(out.samples[i].value), std::signbit(in.samples[i].value));
  }
  EXPECT_TRUE(std::isnan(out.samples.back().value));
  ASSERT_EQ(out.decisions.size(), 1u);
  EXPECT_TRUE(same(out.decisions[0], in.decisions[0]));

  // A trace with nothing in it is still a valid trace with a clean end.
  const std::string empty = temp_path("empty.trace");
  write_trace(empty, Records{});
  auto e = TraceReader::open(empty);
  ASSERT_TRUE(e.ok());
  auto sum = summarize(*e);
  EXPECT_EQ(sum.samples, 0u);
  EXPECT_EQ(sum.dropped_samples, 3u);  // write_trace records 3 drops before close
  EXPECT_TRUE(sum.recovery.clean_end);
}

TEST(TraceWriterTest, FlushesByRecordTimeAndRecordsDrops) {
  const std::string path = temp_path("t.trace");
  auto w = TraceWriter::create({.path = path, .chunk_samples = 1000, .chunk_interval_ns = 100}, sample_header());
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*w)->append(Sample{.t_ns = i * 30, .value = 1.0}).ok());
  // t = 0..270 step 30: chunks start at 0, 120 (>= 0+100), 240 -> 2 chunks flushed so far.
  EXPECT_EQ((*w)->stats().chunks, 2u);
  (*w)->add_dropped(17);
  ASSERT_TRUE((*w)->flush_if_due(339).ok());
  EXPECT_EQ((*w)->stats().chunks, 2u);  // 339 - 240 < 100
  ASSERT_TRUE((*w)->flush_if_due(340).ok());
  EXPECT_EQ((*w)->stats().chunks, 3u);
  ASSERT_TRUE((*w)->close().ok());
  EXPECT_FALSE((*w)->append(Sample{}).ok());  // append after close is an error, not a crash
  EXPECT_TRUE((*w)->close().ok());            // idempotent

  auto r = TraceReader::open(path);
  ASSERT_TRUE(r.ok());
  std::vector<std::size_t> sizes;
  std::uint64_t dropped = 0;
  TraceChunk c;
  std::uint64_t seq = 0;
  while (r->next(c)) {
    EXPECT_EQ(c.seq, seq++);
    sizes.push_back(c.samples.size());
    dropped += c.dropped_samples;
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 2, 0}));  // last = final (empty) chunk
  EXPECT_EQ(dropped, 17u);
}

TEST(TraceWriterTest, RejectsBadOptionsAndUnwritablePath) {
  EXPECT_FALSE(TraceWriter::create({.path = ""}, {}).ok());
  EXPECT_FALSE(TraceWriter::create({.path = temp_path("a"), .chunk_samples = 0}, {}).ok());
  EXPECT_FALSE(TraceWriter::create({.path = temp_path("a"), .chunk_interval_ns = -1}, {}).ok());
  auto bad = TraceWriter::create({.path = "/nonexistent_dir_hetsched/x.trace"}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  EXPECT_NE(bad.status().message().find("/nonexistent_dir_hetsched/x.trace"), std::string::npos);
}

}  // namespace
}  // namespace hetsched::telemetry
