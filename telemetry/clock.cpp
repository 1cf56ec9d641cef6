#include "telemetry/clock.hpp"

#include <chrono>
#include <thread>

namespace hetsched {

std::int64_t RealClock::now_ns() const noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void RealClock::sleep_until_ns(std::int64_t t_ns) noexcept {
  const std::int64_t now = now_ns();
  if (t_ns > now) std::this_thread::sleep_for(std::chrono::nanoseconds(t_ns - now));
}

}  // namespace hetsched
