// Runtime::Impl: the state behind the public Runtime (runtime/include/hetsched/runtime.hpp) and
// the host pipeline as a ControlTarget. Internal: runtime/runtime.cpp (create, API calls) and
// runtime/runtime_target.cpp (observation, actuation, calibration) share it.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hetsched/runtime.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "runtime/control_target.hpp"
#include "runtime/controller.hpp"
#include "runtime/linux_platform.hpp"
#include "policies/learner.hpp"
#include "runtime/pipeline.hpp"

namespace hetsched {

using runtime::kMaxPipelineBlocks;
using runtime::kMaxPipelineUnits;

struct Runtime::Impl final : runtime::ControlTarget {
  RuntimeOptions opt;
  RealClock real_clock;
  Clock* clock = nullptr;
  std::vector<std::shared_ptr<BlockExecutor>> execs;
  std::unique_ptr<runtime::Pipeline> pipe;
  std::array<double, kMaxPipelineUnits * kMaxPipelineBlocks> calib_us{};
  std::array<std::atomic<double>, kMaxPipelineUnits> speed{};  // written by the controller thread, read by telemetry()
  policies::PlatformDesc desc;   // host units as a platform (letters): what Configs refer to
  policies::ModelDesc mdesc;     // what Configs are validated against (blocks)
  std::unique_ptr<runtime::Controller> ctl;
  std::unique_ptr<policies::PolicyLearner> online;  // stopped before ctl is destroyed (stop())
  std::thread ctl_thread;
  std::atomic<bool> ctl_stop{false};
  std::atomic<std::uint64_t> submitted{0}, misses{0};
  // Per-period latency accumulation for the controller's frame (stage threads add, observe() takes).
  std::atomic<std::int64_t> lat_sum_ns{0}, lat_max_ns{0};
  std::atomic<std::uint64_t> lat_n{0};
  // Host sensing (thermal zones, hwmon); null when the machine has neither or sensing is off.
  std::unique_ptr<runtime::LinuxPlatform> sensors;
  runtime::SensorReadings readings;
  std::array<bool, runtime::kMaxLinuxZones> zone_seen{};
  std::atomic<int> last_temp_mc{0};
  std::atomic<double> last_power_mw{0};
  std::atomic<bool> has_temp{false}, has_power{false};
  // Observation deltas (controller thread).
  std::int64_t obs_prev_t = 0;
  std::uint64_t obs_prev_done = 0;
  std::uint32_t obs_prev_epoch = 0;
  std::array<std::int64_t, kMaxPipelineUnits> obs_prev_busy{};
  std::string policy_name;
  bool stopped = false;
  // Queue mode.
  std::mutex qm;
  std::condition_variable qcv;
  std::vector<RuntimeOutput> ring;
  size_t head = 0, size = 0;
  bool q_closing = false;
  // Telemetry deltas.
  std::int64_t prev_t = 0;
  std::uint64_t prev_done = 0;
  std::array<std::int64_t, kMaxPipelineUnits> prev_busy{};

  void on_result(const runtime::PipelineResult& r) noexcept;

  const policies::PlatformDesc& platform() const noexcept override { return desc; }
  const policies::ModelDesc& model() const noexcept override { return mdesc; }

  Status observe(runtime::ControlSample* o) noexcept override;

  // The agent's view of the period since the previous observe(): fps, mean/max latency, per-stage
  // time (sum of its blocks' EWMA), per-unit utilisation, temperatures and power when sensed.
  void fill_frame(runtime::ControlSample* o, const runtime::PipelinePlan& plan) noexcept;
  Status apply(const policies::Config& c) noexcept override;

  // Runs each unit alone for warm-up + n frames and keeps each block's median latency.
  Status calibrate(int n);
};

}  // namespace hetsched
