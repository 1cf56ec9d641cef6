// hetsched embedded runtime: pipelined DL inference over the compute units of a device, with a
// fixed configuration or an adaptive controller. No exception crosses this API: every call that
// can fail returns a Status or Result.
//
//   auto platform = hetsched::host_platform();                      // cpu0, cpu1 ... (built-in CPU executors)
//   hetsched::RuntimeOptions opt;                                    // adaptive by default
//   opt.on_result = [](const hetsched::RuntimeResult& r) { ... };   // or leave empty and poll()
//   auto rt = hetsched::Runtime::create(*platform, "mobilenet_v1", data_dir, opt);
//   rt.value()->submit(input, n, tag);                               // blocks when all slots are in flight
//   hetsched::RuntimeTelemetry t = rt.value()->telemetry();
//   rt.value()->stop();                                              // drains: every frame submitted is delivered
//
// Modes. kFixed runs options.split ("cpu0:20,cpu1:8"; "" = the split balanced on the startup
// calibration). kAdaptive additionally runs the controller (runtime/controller.hpp:
// schedutil-shaped, with the guard) with one of two policies:
//   * policy_file == "": the built-in balancer: every decision period it measures each unit's
//     speed from the blocks it ran and re-splits to the min-max balanced plan when that predicts
//     a gain;
//   * policy_file = a `hetsched train` policy for this host (platform_file: the host profile it
//     was trained on, `hetsched profile` output; "" = the default host mapping, units A, B, ...
//     = cpu0, cpu1, ...): the trained agent picks among its candidate splits each period. A file
//     for another platform/model, or corrupt, is refused at create(). With online_learner set (e.g.
//     hetsched::agent::online_learner_factory from hetsched_agent, agent/online_runtime.hpp) a
//     learner thread keeps training a copy of its network on the run's periods and hot-swaps the
//     improved agent in. The library itself does not depend on agent/: it sees only the
//     policies::PolicyLearner interface (policies/learner.hpp).
// Host temperatures (thermal zones) and power (hwmon) under sensing_root feed the controller's
// observation and the guard's thermal trip when the machine has them; absent = unavailable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hetsched/executor.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/status.hpp"

namespace hetsched::telemetry {
class RecordSink;  // telemetry/record_sink.hpp
}
namespace hetsched::policies {
class FrameCodec;     // policies/frame_records.hpp
class PolicyLearner;  // policies/learner.hpp
struct PolicyFile;    // policies/policy_file.hpp
struct PlatformDesc;  // policies/platform.hpp
struct ModelDesc;     // policies/model.hpp
}
namespace hetsched::runtime {
class Controller;  // runtime/controller.hpp
}

namespace hetsched {

struct RuntimeUnit {
  std::string name;                         // "cpu0" (host) or a platform unit name
  std::vector<int> cpu_ids;                 // cores the unit's stage thread is pinned to (empty: not pinned)
  std::shared_ptr<BlockExecutor> executor;  // nullptr = the built-in Eigen CPU executor
};

struct RuntimePlatform {
  std::string name;                 // "host", or the user's
  std::vector<RuntimeUnit> units;   // 1..8 units
};

// This machine: one unit per CPU cluster, named cpu<first core>, built-in executors.
Result<RuntimePlatform> host_platform(const std::string& sysfs_root = "/sys");

enum class RuntimeMode : std::uint8_t { kFixed, kAdaptive };

// One inference result. Output views are valid only during the callback.
struct RuntimeResult {
  std::uint64_t seq = 0;            // submission order from 0; results arrive in this order
  std::uint64_t tag = 0;            // the caller's tag from submit()
  bool ok = true;                   // false: a block failed or an output was NaN/Inf
  std::int64_t latency_ns = 0;      // submit -> done
  std::uint32_t epoch = 0;          // configuration epoch the frame ran under
  const TensorView* outputs = nullptr;
  int n_outputs = 0;
};

struct RuntimeOptions {
  RuntimeMode mode = RuntimeMode::kAdaptive;       // fixed configuration or adaptive controller
  std::string split;                               // fixed/initial split "UNIT:BLOCKS,..."; "" = balanced on calibration
  std::string policy_file;                         // adaptive: learned policy file ("" = built-in balancer)
  std::string platform_file;                       // host platform description (host profile) the policy was trained on; "" = default mapping
  // With policy_file: keep learning from the run (learner thread, hot-swapped policies); empty =
  // no online learning. Same type as policies::PolicyLearnerFactory (policies/learner.hpp).
  std::function<Result<std::unique_ptr<policies::PolicyLearner>>(const policies::PolicyFile&, const std::string&,
                                                                 const policies::PlatformDesc&, const policies::ModelDesc&,
                                                                 const std::string&)>
      online_learner;
  std::string sysfs_root = "/sys";                 // thermal zones / hwmon for temperatures and power ("" = no sensing)
  int trip_temp_mc = 85000;                        // guard: thermal trip (m°C) when a temperature is sensed
  std::string weights_path;                        // built-in executors: weights file; "" = synthetic
  std::uint64_t weights_seed = 1;                  // synthetic weights seed
  int slots = 4;                                   // frames in flight (boundary-buffer pool), 1..64
  bool pin_threads = true;                         // pin stage threads to their unit's cores
  int calibration_frames = 3;                      // per unit at create (block latencies), 1..100
  std::int64_t decision_period_ns = 100'000'000;   // controller period (adaptive)
  std::int64_t rate_limit_ns = 20'000'000;         // minimum time between two decisions
  std::int64_t deadline_ns = 0;                    // per-frame latency target (0 = none); misses feed the guard
  double target_fps = 0;                           // the application's FPS target (0 = none): in each period's telemetry (policies, traces, metrics)
  int miss_burst = 5;                              // guard: misses per period that force the safe split
  double min_gain = 0.10;                          // adaptive: predicted throughput gain needed to re-split
  bool controller_thread = true;                   // false: the caller drives control_step() (virtual time)
  Clock* clock = nullptr;                          // injected clock; nullptr = real time
  std::function<void(const RuntimeResult&)> on_result;  // called on a stage thread, in order; keep it short
  int result_queue = 16;                           // without on_result: results kept for poll() (back-pressure when full)
  telemetry::RecordSink* sink = nullptr;           // adaptive: every decision's records (frame, decision, config change); may be null
  const policies::FrameCodec* frame_codec = nullptr;  // encodes each period's sample for the sink (null: decisions only)
};

// Copy of a result for queue mode (poll). `output` holds every model output back to back.
struct RuntimeOutput {
  std::uint64_t seq = 0, tag = 0;
  bool ok = true;
  std::int64_t latency_ns = 0;
  std::vector<float> output;
};

struct RuntimeUnitTelemetry {
  std::string name;
  int blocks = 0;              // blocks the current split places on the unit
  double busy_pct = 0;         // share of wall time spent computing since the previous telemetry()
  double speed_factor = 1;     // measured / calibrated latency of its blocks (2 = half speed)
};

struct RuntimeTelemetry {
  std::int64_t t_ns = 0;
  std::uint64_t frames_submitted = 0, frames_done = 0, frames_failed = 0, deadline_misses = 0;
  double fps = 0;                    // frames done per second since the previous telemetry()
  std::uint32_t reconfigs = 0;       // plan switches applied (epochs)
  std::string split;                 // current split "cpu0:20,cpu1:8"
  double predicted_fps = 0;          // 1 / predicted bottleneck of the current split
  std::int64_t switch_wait_ns = 0;   // total drain time spent on switches
  std::uint64_t decisions = 0, guard_overrides = 0;
  std::string last_guard;            // "none", "thermal_trip", ...
  std::string policy;                // policy at start: "balance", "trained:<file>", "online:<file>#0", "" in fixed mode
  std::uint64_t policy_swaps = 0;    // policies hot-swapped in (online learning, pushes)
  std::uint64_t online_updates = 0;  // online learning: gradient updates so far
  double max_temp_c = 0;  bool has_temp = false;     // hottest thermal zone (when the machine has one)
  double power_mw = 0;    bool has_power = false;    // summed hwmon power (when present)
  std::vector<RuntimeUnitTelemetry> units;
};

class Runtime {
 public:
  // Loads the model (data_dir/env/models), builds executors, starts pinned stage threads,
  // calibrates every unit and, in adaptive mode, starts the controller. Errors name the field.
  static Result<std::unique_ptr<Runtime>> create(const RuntimePlatform& platform, const std::string& model,
                                                 const std::string& data_dir, const RuntimeOptions& options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  std::int64_t input_floats() const noexcept;     // floats per input frame (NCHW)
  std::int64_t output_floats() const noexcept;    // floats of all outputs together
  std::vector<std::string> unit_names() const;
  // Feeds one frame (copied into a pooled buffer; from there on no copy until the result).
  Status submit(const float* input, std::int64_t n_floats, std::uint64_t tag) noexcept;
  // Queue mode: the next result in order, waiting up to timeout_ns (0 = don't wait). False if none.
  bool poll(RuntimeOutput* out, std::int64_t timeout_ns) noexcept;
  // Replaces the split (both modes; adaptive may change it again later).
  Status set_split(const std::string& split);
  // Virtual-time driving when options.controller_thread is false; true if a decision was made.
  bool control_step() noexcept;
  // Ask the controller for an immediate re-decision (limits changed).
  void notify_limits_changed() noexcept;
  // The adaptive controller (nullptr in fixed mode): propose_policy()/rollback() for a policy
  // pushed at run time, stats(). Owned by the Runtime.
  runtime::Controller* controller() noexcept;
  RuntimeTelemetry telemetry();
  // Delivers every submitted frame, then stops threads. Idempotent.
  Status stop() noexcept;

  struct Impl;

 private:
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hetsched
