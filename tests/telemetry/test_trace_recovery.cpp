#include <gtest/gtest.h>

#include <random>

#include "tests/telemetry/trace_test_util.hpp"

namespace hetsched::telemetry {
namespace {

using namespace testutil;

// Layout of an intact trace: where each chunk starts and how many records it holds.
struct Layout {
  std::vector<std::uint64_t> offset;  // chunk i occupies [offset[i], offset[i+1]); last ends at EOF
  std::vector<std::size_t> samples;
  std::size_t data_start = 0;         // first chunk offset = prefix + header
  std::size_t file_size = 0;
};

class TraceRecovery : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = temp_path("base.trace");
    write_trace(path_, make_records(2000), {.path = "", .chunk_samples = 150, .chunk_interval_ns = 0, .chunk_events = 1024});
    bytes_ = slurp(path_);
    auto r = TraceReader::open(path_);
    ASSERT_TRUE(r.ok());
    TraceChunk c;
    while (r->next(c)) {
      layout_.offset.push_back(c.offset);
      layout_.samples.push_back(c.samples.size());
    }
    ASSERT_FALSE(r->report().damaged());
    layout_.offset.push_back(bytes_.size());  // sentinel
    layout_.data_start = layout_.offset[0];
    layout_.file_size = bytes_.size();
    ASSERT_GE(chunks(), 14u);
  }
  std::size_t chunks() const { return layout_.samples.size(); }

  // Reads `data` and returns (samples, report); fails the test if open() fails.
  std::pair<std::size_t, RecoveryReport> read(const std::vector<char>& data) {
    auto r = TraceReader::from_bytes("mem", data);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return {0, {}};
    std::size_t n = 0;
    TraceChunk c;
    while (r->next(c)) n += c.samples.size();
    return {n, r->report()};
  }

  std::string path_;
  std::vector<char> bytes_;
  Layout layout_;
};

TEST_F(TraceRecovery, TruncationAtManyCutPointsKeepsEveryCompleteChunk) {
  std::vector<std::size_t> cuts;
  for (std::size_t cut = layout_.data_start; cut < bytes_.size(); cut += 61) cuts.push_back(cut);
  for (std::size_t i = 0; i < chunks(); ++i)  // exactly at, just before and just after boundaries
    for (long d : {-1L, 0L, 1L, 8L, 15L, 16L, 17L}) cuts.push_back(layout_.offset[i] + d);
  for (std::size_t cut : cuts) {
    if (cut < layout_.data_start || cut >= bytes_.size()) continue;
    std::vector<char> data(bytes_.begin(), bytes_.begin() + static_cast<long>(cut));
    std::size_t want_chunks = 0, want_samples = 0;
    while (want_chunks < chunks() && layout_.offset[want_chunks + 1] <= cut)
      want_samples += layout_.samples[want_chunks++];
    auto [n, rep] = read(data);
    ASSERT_EQ(rep.chunks_ok, want_chunks) << "cut " << cut;
    ASSERT_EQ(n, want_samples) << "cut " << cut;
    EXPECT_FALSE(rep.clean_end) << "cut " << cut;  // the final chunk is the last thing written
    const bool at_boundary = layout_.offset[want_chunks] == cut;
    EXPECT_EQ(rep.truncated, !at_boundary) << "cut " << cut;
    if (!at_boundary) {
      ASSERT_EQ(rep.skipped.size(), 1u) << "cut " << cut;
      EXPECT_EQ(rep.skipped[0].begin, layout_.offset[want_chunks]);
      EXPECT_EQ(rep.skipped[0].end, cut);
      EXPECT_NE(rep.skipped[0].reason.find("truncated"), std::string::npos) << rep.skipped[0].reason;
      EXPECT_EQ(rep.bytes_skipped, cut - layout_.offset[want_chunks]);
    } else {
      EXPECT_TRUE(rep.skipped.empty());
    }
  }
}

TEST_F(TraceRecovery, CutInsideTheHeaderIsAClearError) {
  for (std::size_t cut : {1ul, 7ul, 8ul, 23ul, 24ul, layout_.data_start - 1}) {
    std::vector<char> data(bytes_.begin(), bytes_.begin() + static_cast<long>(cut));
    auto r = TraceReader::from_bytes("cut.trace", data);
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(r.status().message().find("cut.trace: "), std::string::npos);
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
  }
}

TEST_F(TraceRecovery, BitFlipInOneChunkSkipsOnlyThatChunk) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t pos = std::uniform_int_distribution<std::size_t>(layout_.data_start, bytes_.size() - 1)(rng);
    std::size_t k = 0;
    while (layout_.offset[k + 1] <= pos) ++k;
    std::vector<char> data = bytes_;
    data[pos] = static_cast<char>(data[pos] ^ (1 << (trial % 8)));
    auto [n, rep] = read(data);
    const std::size_t want_samples = 2000 - layout_.samples[k];
    ASSERT_EQ(n, want_samples) << "flip at " << pos << " in chunk " << k;
    ASSERT_EQ(rep.chunks_ok, chunks() - 1) << pos;
    ASSERT_EQ(rep.skipped.size(), 1u) << pos;
    EXPECT_EQ(rep.skipped[0].begin, layout_.offset[k]) << pos;
    EXPECT_EQ(rep.skipped[0].end, layout_.offset[k + 1]) << pos;
    const bool in_marker = pos < layout_.offset[k] + 8;
    EXPECT_EQ(rep.chunks_skipped, in_marker ? 0u : 1u) << pos << " " << rep.skipped[0].reason;
    EXPECT_EQ(rep.clean_end, k + 1 != chunks()) << pos;
  }
}

TEST_F(TraceRecovery, SeveralDamagedRegionsAndGarbageAreEachReported) {
  std::vector<char> data = bytes_;
  // Damage chunks 2 and 5 (body bytes), then insert garbage, including a false marker, before chunk 9.
  data[layout_.offset[2] + 40] ^= 0x10;
  data[layout_.offset[5] + 20] ^= 0x01;
  std::string junk = "junk" + std::string(kChunkMarker) + "more junk that is not a chunk";
  data.insert(data.begin() + static_cast<long>(layout_.offset[9]), junk.begin(), junk.end());
  auto [n, rep] = read(data);
  EXPECT_EQ(n, 2000 - layout_.samples[2] - layout_.samples[5]);
  EXPECT_EQ(rep.chunks_ok, chunks() - 2);
  EXPECT_TRUE(rep.clean_end);
  ASSERT_EQ(rep.skipped.size(), 4u);  // chunk 2, chunk 5, "junk", false-marker region
  EXPECT_EQ(rep.skipped[0].begin, layout_.offset[2]);
  EXPECT_EQ(rep.skipped[0].reason, "chunk CRC mismatch");
  EXPECT_EQ(rep.skipped[1].begin, layout_.offset[5]);
  EXPECT_EQ(rep.skipped[2].begin, layout_.offset[9]);
  EXPECT_EQ(rep.skipped[2].end, layout_.offset[9] + 4);
  EXPECT_NE(rep.skipped[2].reason.find("no chunk marker"), std::string::npos);
  EXPECT_EQ(rep.skipped[3].end, layout_.offset[9] + junk.size());
  EXPECT_EQ(rep.chunks_skipped, 3u);  // ranges that began at a marker (the false one included)
}

TEST_F(TraceRecovery, HeaderDamageIsAnErrorNotACrash) {
  std::vector<char> data = bytes_;
  data[30] ^= 0x04;  // inside the msgpack header body
  auto r = TraceReader::from_bytes("hdr.trace", data);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "hdr.trace: trace header corrupt (CRC mismatch at offset 24)");

  data = bytes_;
  data[8] = 9;  // format major 9
  r = TraceReader::from_bytes("new.trace", data);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trace format 9.0"), std::string::npos) << r.status().message();
}

TEST(TraceOpenErrors, NotATraceEmptyMissingDirectory) {
  const std::string text = temp_path("notes.txt");
  spit(text, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'});
  auto r = TraceReader::open(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(r.status().message(), text + ": not a hetsched trace (bad magic)");

  const std::string empty = temp_path("empty.bin");
  spit(empty, {});
  r = TraceReader::open(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), empty + ": empty file, not a hetsched trace");

  r = TraceReader::open(temp_path("does_not_exist.trace"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);

  r = TraceReader::open("/dev/zero");  // endless input: rejected by its first bytes, no hang
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/dev/zero: not a hetsched trace (bad magic)");

  r = TraceReader::open(::testing::TempDir());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
}

TEST(TraceFuzz, RandomBytesAfterAValidHeaderNeverCrash) {
  const std::string path = temp_path("h.trace");
  write_trace(path, Records{});
  std::vector<char> base = slurp(path);
  std::mt19937 rng(99);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<char> data = base;
    const int extra = std::uniform_int_distribution<int>(0, 400)(rng);
    for (int i = 0; i < extra; ++i) data.push_back(static_cast<char>(rng()));
    if (trial % 3 == 0)  // plant markers followed by random lengths
      for (int i = 0; i < 3; ++i) data.insert(data.end(), kChunkMarker.begin(), kChunkMarker.end()), data.push_back(static_cast<char>(rng())), data.push_back(static_cast<char>(rng()));
    auto r = TraceReader::from_bytes("fuzz", data);
    ASSERT_TRUE(r.ok());
    TraceChunk c;
    std::size_t n = 0;
    while (r->next(c)) ++n;
    const auto& rep = r->report();
    std::uint64_t covered = 0;
    for (const auto& s : rep.skipped) covered += s.end - s.begin;
    EXPECT_EQ(covered, rep.bytes_skipped);
    EXPECT_GE(n, 1u);  // the intact final chunk
  }
}

}  // namespace
}  // namespace hetsched::telemetry
