// The hot paths promise no allocation after creation: count operator new calls around them.
// (Replacing global operator new here affects this whole test binary, but only by counting.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "telemetry/ring.hpp"
#include "telemetry/snapshot.hpp"
#include "telemetry/stats.hpp"
#include "tests/telemetry/trace_test_util.hpp"

namespace {
std::atomic<long> g_allocs{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace hetsched::telemetry {
namespace {

long allocs() { return g_allocs.load(std::memory_order_relaxed); }

TEST(NoAllocation, CounterSeesAllocations) {  // otherwise the tests below could not fail
  const long before = allocs();
  auto p = std::make_unique<std::vector<int>>(100);
  EXPECT_GE(allocs() - before, 2);
}

TEST(NoAllocation, RingSnapshotAndStatsHotPaths) {
  auto ring = SpscRing<Sample>::create({.capacity = 64});
  auto snap = Snapshot::create({});
  auto ewma = Ewma::create({});
  auto pct = WindowPercentiles::create({.window = 100});
  ASSERT_TRUE(ring.ok() && snap.ok() && ewma.ok() && pct.ok());
  const long before = allocs();
  Sample s;
  double sink = 0;
  for (int i = 0; i < 10'000; ++i) {
    const Sample in{.t_ns = i, .value = i * 0.5, .source = static_cast<std::uint16_t>(i % 8), .kind = SampleKind::kTemp};
    ring.value()->push(in);  // overflows: exercises the drop-oldest path too
    if (i % 3 == 0) ring.value()->pop(s);
    snap->update(in);
    ewma->update(in.t_ns, in.value);
    pct->push(in.value);
    if (i % 100 == 0) sink += pct->percentile(99) + static_cast<double>(snap->get(SampleKind::kTemp, 1, i)->age_ns);
  }
  EXPECT_EQ(allocs() - before, 0);
  EXPECT_GT(sink, 0);
}

TEST(NoAllocation, TraceWriterSampleAppendAfterFirstChunk) {
  const std::string path = testutil::temp_path("na.trace");
  auto w = TraceWriter::create({.path = path, .chunk_samples = 256, .chunk_interval_ns = 0}, testutil::sample_header());
  ASSERT_TRUE(w.ok());
  // The first chunk lets stdio allocate its FILE buffer; after that appends and samples-only
  // chunk flushes must not allocate.
  for (int i = 0; i < 256; ++i) ASSERT_TRUE((*w)->append(Sample{.t_ns = i}).ok());
  const long before = allocs();
  for (int i = 256; i < 256 * 40; ++i) ASSERT_TRUE((*w)->append(Sample{.t_ns = i, .value = 1.0}).ok());
  EXPECT_EQ(allocs() - before, 0);
  EXPECT_EQ((*w)->stats().chunks, 40u);
  ASSERT_TRUE((*w)->close().ok());
}

}  // namespace
}  // namespace hetsched::telemetry
