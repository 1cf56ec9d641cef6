// The injected clock. No component reads the wall clock itself: the controller, the
// simulator and the replay harness are all handed a Clock, so the same code runs in real
// time on a device, in virtual time in the simulator and under a manual clock in replay.
#pragma once

#include <atomic>
#include <cstdint>

namespace hetsched {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in nanoseconds since an arbitrary epoch fixed per clock.
  virtual std::int64_t now_ns() const noexcept = 0;
  // Block (real) or jump (manual) until now_ns() >= t_ns.
  virtual void sleep_until_ns(std::int64_t t_ns) noexcept = 0;
};

// std::chrono::steady_clock; the only place in the project that reads real time.
class RealClock final : public Clock {
 public:
  std::int64_t now_ns() const noexcept override;
  void sleep_until_ns(std::int64_t t_ns) noexcept override;
};

// Time moves only when told to. Thread-safe reads; sleep_until_ns advances time instantly.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ns = 0) noexcept : t_ns_(start_ns) {}
  std::int64_t now_ns() const noexcept override { return t_ns_.load(std::memory_order_acquire); }
  void sleep_until_ns(std::int64_t t_ns) noexcept override {
    if (t_ns > now_ns()) set_ns(t_ns);
  }
  void set_ns(std::int64_t t_ns) noexcept { t_ns_.store(t_ns, std::memory_order_release); }
  void advance_ns(std::int64_t dt_ns) noexcept { t_ns_.fetch_add(dt_ns, std::memory_order_acq_rel); }

 private:
  std::atomic<std::int64_t> t_ns_;
};

}  // namespace hetsched
