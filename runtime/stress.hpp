// A CPU hog pinned to given cores, to show adaptation on real hardware (`hetsched run --stress`,
// bench_pipeline). One spinning child *process* per core, in its own session, pinned there.
//
// Why processes in their own session, not threads: with sched_autogroup (enabled on Debian's
// kernel and on this VM) the scheduler shares CPU between sessions first; a hog thread inside
// our process would take its CPU from our own share on *every* core, not compete for its one
// core like another application would. A child that calls setsid() is such another application.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::runtime {

class CpuHog {
 public:
  // Forks one spinning child per core in cpu_ids (setsid, pinned). Errors name the core.
  static Result<std::unique_ptr<CpuHog>> start(const std::vector<int>& cpu_ids);
  ~CpuHog() { stop(); }
  CpuHog(const CpuHog&) = delete;
  CpuHog& operator=(const CpuHog&) = delete;
  // Kills and reaps the children. Idempotent.
  void stop() noexcept;
  bool running() const noexcept { return !children_.empty(); }

 private:
  CpuHog() = default;
  std::vector<pid_t> children_;
};

}  // namespace hetsched::runtime
