// A CPU hog pinned to given cores, to show adaptation on real hardware (`hetsched run --stress`,
// bench_pipeline). One busy thread per core, at the caller's priority, so the kernel's fair
// scheduler gives a pipeline worker on the same core about half of it.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::runtime {

class CpuHog {
 public:
  // Starts one spinning thread per core in cpu_ids, pinned there. Errors name the core.
  static Result<std::unique_ptr<CpuHog>> start(const std::vector<int>& cpu_ids);
  ~CpuHog() { stop(); }
  void stop() noexcept;
  bool running() const noexcept { return !threads_.empty(); }

 private:
  CpuHog() = default;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace hetsched::runtime
