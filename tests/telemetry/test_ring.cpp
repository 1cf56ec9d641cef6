#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <vector>
#include <thread>

#include "telemetry/ring.hpp"
#include "telemetry/sample.hpp"

namespace hetsched::telemetry {
namespace {

std::unique_ptr<SpscRing<Sample>> make(std::size_t cap, OverflowPolicy p) {
  auto r = SpscRing<Sample>::create({.capacity = cap, .policy = p});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}

Sample numbered(std::uint64_t i) {
  // Every field derives from i so a torn copy (half old, half new slot) is detectable.
  return {.t_ns = static_cast<std::int64_t>(i), .value = static_cast<double>(i) * 0.5,
          .source = static_cast<std::uint16_t>(i & 0xFFFF), .kind = static_cast<SampleKind>(i % kSampleKindCount)};
}

bool consistent(const Sample& s) {
  const auto i = static_cast<std::uint64_t>(s.t_ns);
  return s.value == static_cast<double>(i) * 0.5 && s.source == (i & 0xFFFF) &&
         s.kind == static_cast<SampleKind>(i % kSampleKindCount);
}

TEST(RingTest, RejectsBadCapacityAndRoundsUp) {
  EXPECT_FALSE(SpscRing<Sample>::create({.capacity = 1}).ok());
  EXPECT_FALSE(SpscRing<Sample>::create({.capacity = std::size_t{1} << 31}).ok());
  EXPECT_EQ(make(5, OverflowPolicy::kDropOldest)->capacity(), 8u);
}

TEST(RingTest, FifoWithoutOverflow) {
  auto r = make(8, OverflowPolicy::kDropOldest);
  Sample s;
  EXPECT_FALSE(r->pop(s));
  for (int i = 1; i <= 5; ++i) EXPECT_TRUE(r->push(numbered(i)));
  EXPECT_EQ(r->size(), 5u);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(r->pop(s));
    EXPECT_EQ(s.t_ns, i);
    EXPECT_TRUE(consistent(s));
  }
  EXPECT_FALSE(r->pop(s));
  EXPECT_EQ(r->dropped(), 0u);
}

TEST(RingTest, DropOldestKeepsTheNewest) {
  auto r = make(4, OverflowPolicy::kDropOldest);
  for (int i = 1; i <= 10; ++i) EXPECT_TRUE(r->push(numbered(i)));
  EXPECT_EQ(r->dropped(), 6u);
  Sample out[8];
  ASSERT_EQ(r->pop_many(out, 8), 4u);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(out[k].t_ns, 7 + k);
}

TEST(RingTest, DropNewestKeepsTheOldestAndReportsTheLoss) {
  auto r = make(4, OverflowPolicy::kDropNewest);
  for (int i = 1; i <= 10; ++i) EXPECT_EQ(r->push(numbered(i)), i <= 4) << i;
  EXPECT_EQ(r->dropped(), 6u);
  Sample out[8];
  ASSERT_EQ(r->pop_many(out, 8), 4u);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(out[k].t_ns, 1 + k);
  EXPECT_TRUE(r->push(numbered(11)));  // room again
  ASSERT_EQ(r->pop_many(out, 8), 1u);
  EXPECT_EQ(out[0].t_ns, 11);
}

// Deterministic version of the drop-oldest race: the hook runs the producer inside the
// consumer's pop(), after it copied slot[tail] and before it claims it.
struct InterleaveHook {
  static inline std::function<void()> action;
  static void after_copy() noexcept {
    if (action) {
      auto a = std::move(action);
      action = nullptr;
      a();
    }
  }
};
using HookedRing = SpscRing<Sample, InterleaveHook>;

TEST(RingRaceTest, ProducerStealsTheElementTheConsumerIsCopying) {
  auto made = HookedRing::create({.capacity = 4, .policy = OverflowPolicy::kDropOldest});
  ASSERT_TRUE(made.ok());
  auto& r = *made.value();
  for (int i = 1; i <= 4; ++i) r.push(numbered(i));  // full
  InterleaveHook::action = [&] { r.push(numbered(5)); };  // drops 1, overwrites its slot with 5
  std::vector<std::int64_t> got;
  Sample s;
  while (r.pop(s)) {
    EXPECT_TRUE(consistent(s));
    got.push_back(s.t_ns);
  }
  EXPECT_EQ(got, (std::vector<std::int64_t>{2, 3, 4, 5}));  // 1 was dropped, not delivered too
  EXPECT_EQ(r.dropped(), 1u);
  EXPECT_EQ(got.size() + r.dropped(), 5u);
}

TEST(RingRaceTest, ProducerLapsTheConsumerMidCopy) {
  auto made = HookedRing::create({.capacity = 4, .policy = OverflowPolicy::kDropOldest});
  ASSERT_TRUE(made.ok());
  auto& r = *made.value();
  for (int i = 1; i <= 4; ++i) r.push(numbered(i));
  // While the consumer holds a copy of element 1, the producer pushes 9 more: the ring now
  // holds 10..13 and the consumer's idea of the tail is 9 elements stale.
  InterleaveHook::action = [&] {
    for (int i = 5; i <= 13; ++i) r.push(numbered(i));
  };
  std::vector<std::int64_t> got;
  Sample s;
  while (r.pop(s)) got.push_back(s.t_ns);
  EXPECT_EQ(got, (std::vector<std::int64_t>{10, 11, 12, 13}));
  EXPECT_EQ(got.size() + r.dropped(), 13u);
}

// One producer and one consumer thread hammer a small ring. The consumer must see a strictly
// increasing subsequence of intact elements, and received + dropped == produced exactly.
// The producer does not stop after a fixed count: it keeps pushing until the consumer has
// taken kMinReceived elements (or kMaxProduced pushes bound the test's time), so the consumer's
// pops race the producer's pushes and overwrites even when the consumer thread starts late.
void run_concurrent(OverflowPolicy policy, std::size_t capacity, int consumer_work) {
  constexpr std::uint64_t kMinProduced = 200'000, kMinReceived = 30'000, kMaxProduced = 5'000'000;
  auto r = make(capacity, policy);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> received_now{0};
  std::uint64_t received = 0, last = 0, torn = 0, disorder = 0;
  std::thread consumer([&] {
    Sample s;
    volatile int sink = 0;
    for (;;) {
      const bool finished = done.load(std::memory_order_acquire);  // read before the final drain
      bool got = false;
      while (r->pop(s)) {
        got = true;
        const auto i = static_cast<std::uint64_t>(s.t_ns);
        if (!consistent(s)) ++torn;
        if (i <= last) ++disorder;
        last = i;
        received_now.store(++received, std::memory_order_relaxed);
        for (int k = 0; k < consumer_work; ++k) sink = sink + k;  // a slower consumer
      }
      if (finished) break;
      if (!got) std::this_thread::yield();
    }
  });
  std::uint64_t produced = 0;
  while (produced < kMinProduced ||
         (received_now.load(std::memory_order_relaxed) < kMinReceived && produced < kMaxProduced))
    r->push(numbered(++produced));
  done.store(true, std::memory_order_release);
  consumer.join();
  EXPECT_EQ(torn, 0u);
  EXPECT_EQ(disorder, 0u);
  EXPECT_EQ(received + r->dropped(), produced);
  if (policy == OverflowPolicy::kDropOldest) {
    EXPECT_EQ(last, produced);  // the newest always survives
  }
  std::printf("[ ring     ] produced %llu received %llu dropped %llu\n",
              static_cast<unsigned long long>(produced), static_cast<unsigned long long>(received),
              static_cast<unsigned long long>(r->dropped()));
}

TEST(RingConcurrentTest, DropOldestFastConsumer) { run_concurrent(OverflowPolicy::kDropOldest, 1024, 0); }
TEST(RingConcurrentTest, DropOldestSlowConsumerForcesOverwrites) {
  run_concurrent(OverflowPolicy::kDropOldest, 4, 20);
}
TEST(RingConcurrentTest, DropNewestSlowConsumer) { run_concurrent(OverflowPolicy::kDropNewest, 4, 20); }

}  // namespace
}  // namespace hetsched::telemetry
