// Bounded lock-free single-producer/single-consumer ring with an explicit overflow policy.
//
// The producer (a sensor thread, the runtime's frame loop) must never block on the consumer
// (the trace writer), so a full ring loses data instead of waiting. Which data is lost is the
// policy:
//   kDropOldest (default) - the newest reading is the one the controller needs; the oldest
//                           unread element is discarded to make room.
//   kDropNewest           - the element being pushed is discarded (keeps an unbroken prefix).
// Either way dropped() counts the losses so the writer can record them in the trace, and
// received + dropped == push attempts holds exactly.
//
// Why drop-oldest is subtle in an SPSC ring: normally only the consumer writes the read index
// `tail_`. To drop the oldest element the producer must advance `tail_` too, so both sides can
// race for the same element: the consumer copying slot[t] while the producer overwrites it.
// The design here:
//   * `tail_` is advanced by compare-and-swap only, by either side. Whoever wins the CAS from t
//     to t+1 owns element t: the consumer returns it, the producer counts it as dropped.
//   * The consumer copies slot[t] *before* its CAS and discards the copy if the CAS fails. The
//     copy may then be torn (the producer may already be rewriting the slot), which is why slot
//     words are std::atomic<uint64_t> accessed with relaxed loads/stores: a torn copy is a
//     harmless discarded value, not a C++ data race (checked with -fsanitize=thread).
//   * The producer writes slot[h % cap] only after it has seen tail_ > h - cap, i.e. element
//     h - cap (the previous occupant) is owned by someone. If the consumer owns it, its copy
//     happened before its CAS (release), which the producer's load of tail_ (acquire) sees, so
//     the overwrite cannot tear a copy whose CAS succeeds.
//   * head_ is written only by the producer (release after the slot words); the consumer
//     acquires it, so a slot below head_ is fully written when read.
// Indices are 64-bit and never wrap in practice (2^64 pushes), so no ABA on tail_.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include "telemetry/status.hpp"

namespace hetsched::telemetry {

enum class OverflowPolicy : std::uint8_t { kDropOldest, kDropNewest };

// Test seam: called in pop() between copying a slot and claiming it, the exact window where a
// drop-oldest producer can steal the element. Tests inject pushes there to force the race
// deterministically; the default compiles to nothing.
struct NoRingHook {
  static void after_copy() noexcept {}
};

struct RingOptions {
  std::size_t capacity = 4096;                        // elements; rounded up to a power of two, >= 2
  OverflowPolicy policy = OverflowPolicy::kDropOldest;  // what a push into a full ring loses
};

template <typename T, typename Hook = NoRingHook>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "ring elements are copied word by word");
  static constexpr std::size_t kWords = (sizeof(T) + 7) / 8;
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

 public:
  static Result<std::unique_ptr<SpscRing>> create(const RingOptions& options) {
    if (options.capacity < 2 || options.capacity > (std::size_t{1} << 30))
      return Status(StatusCode::kInvalidArgument,
                    "RingOptions.capacity = " + std::to_string(options.capacity) +
                        " elements: must be in [2, 2^30]");
    return std::unique_ptr<SpscRing>(new SpscRing(std::bit_ceil(options.capacity), options.policy));
  }

  // Producer thread only. Returns false when this element was dropped (kDropNewest, full);
  // with kDropOldest it always stores the element (possibly dropping the oldest one).
  bool push(const T& value) noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);  // we are its only writer
    std::uint64_t t = tail_.load(std::memory_order_acquire);
    while (h - t >= capacity_) {  // full
      if (policy_ == OverflowPolicy::kDropNewest) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      // Claim the oldest element. On failure `t` is reloaded: either the consumer took it
      // (there is room now) or, impossible for SPSC, someone else did; loop re-checks.
      if (tail_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        break;
      }
    }
    std::uint64_t words[kWords] = {};
    std::memcpy(words, &value, sizeof(T));
    Slot& s = slots_[h & mask_];
    for (std::size_t i = 0; i < kWords; ++i) s.w[i].store(words[i], std::memory_order_relaxed);
    head_.store(h + 1, std::memory_order_release);
    return true;
  }

  // Consumer thread only. False when empty.
  bool pop(T& out) noexcept {
    std::uint64_t t = tail_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint64_t h = head_.load(std::memory_order_acquire);
      if (t >= h) return false;
      std::uint64_t words[kWords];
      const Slot& s = slots_[t & mask_];
      for (std::size_t i = 0; i < kWords; ++i) words[i] = s.w[i].load(std::memory_order_relaxed);
      Hook::after_copy();
      // The CAS's release half keeps the relaxed slot loads above it: the copy precedes the claim.
      if (tail_.compare_exchange_strong(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        std::memcpy(&out, words, sizeof(T));
        return true;
      }
      // The producer dropped element t while we copied it; `t` now holds the new tail.
    }
  }

  // Pops up to n elements into out[]; returns how many. Consumer thread only.
  std::size_t pop_many(T* out, std::size_t n) noexcept {
    std::size_t k = 0;
    while (k < n && pop(out[k])) ++k;
    return k;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  OverflowPolicy policy() const noexcept { return policy_; }
  // Elements lost to overflow since creation (any thread; monotonic).
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  // Elements stored by push (even if later dropped as oldest). Push attempts are
  // pushed() + dropped() under kDropNewest and pushed() under kDropOldest.
  std::uint64_t pushed() const noexcept { return head_.load(std::memory_order_relaxed); }
  // Approximate when called concurrently.
  std::size_t size() const noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_acquire);
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    return h > t ? static_cast<std::size_t>(h - t) : 0;
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> w[kWords];
  };

  SpscRing(std::size_t capacity, OverflowPolicy policy)
      : capacity_(capacity), mask_(capacity - 1), policy_(policy), slots_(new Slot[capacity]) {
    for (std::size_t i = 0; i < capacity; ++i)
      for (auto& w : slots_[i].w) w.store(0, std::memory_order_relaxed);
  }

  // Separate cache lines: the producer hammers head_, the consumer tail_.
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) std::atomic<std::uint64_t> dropped_{0};
  const std::size_t capacity_;
  const std::uint64_t mask_;
  const OverflowPolicy policy_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace hetsched::telemetry
