// Replay: a recorded run fed back through the real controller (runtime::Controller) under a
// ManualClock, so `hetsched replay` checks that the same telemetry gives the same decisions
// (docs/replay.md).
//
//   load_replay()    reads a trace: identity (header), every decision period's policy input
//                    (policies/frame_records.hpp), the recorded Decisions, scenario events and
//                    applied configurations; it keeps what is intact and says what was lost.
//   ReplayTarget     a ControlTarget whose observe() returns the recorded period at the clock's
//                    time and whose apply() only remembers the configuration.
//   replay_run()     drives Controller::step() at each recorded decision time and collects the
//                    Decisions it publishes.
// Only the contiguous intact prefix is replayed: a policy with state (hysteresis, the heuristic's
// calm counter) cannot be resumed correctly after periods the trace lost.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policies/baselines.hpp"
#include "policies/frame_records.hpp"
#include "runtime/control_target.hpp"
#include "runtime/controller.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/trace_reader.hpp"
#include "tools/recorder.hpp"

namespace hetsched::tools {

struct ReplayLoad {
  std::string path;
  RunIdentity id;
  std::vector<policies::FrameRecord> frames;     // the intact contiguous prefix, by time
  std::vector<telemetry::Decision> decisions;    // recorded decisions of those periods, same order
  std::vector<telemetry::Event> scenario_events;  // kScenario events (all intact ones)
  std::vector<telemetry::Event> configs;         // kConfigApplied events (all intact ones)
  std::vector<telemetry::Event> notes;           // other kNote events (all intact ones), e.g. the simulator's throttle notes
  std::uint64_t samples = 0;                     // samples read (any source)
  std::uint64_t frames_total = 0;                // frame events read, complete or not
  std::uint64_t decisions_total = 0;             // decisions read
  telemetry::RecoveryReport recovery;
  bool has_frames = false;                       // the trace has frame sources at all
  std::string damage;                            // "" = intact; else why the replay stops early
};

// Errors: the file cannot be opened or is not a trace (the reader's message).
Result<ReplayLoad> load_replay(const std::string& path);

class ReplayTarget final : public runtime::ControlTarget {
 public:
  // `frames` must outlive the target; platform/model are what the run used.
  ReplayTarget(const policies::PlatformDesc& platform, const policies::ModelDesc& model,
               const std::vector<policies::FrameRecord>& frames, const policies::Config& initial, const Clock& clock)
      : platform_(platform), model_(model), frames_(frames), applied_(initial), clock_(clock) {}
  const policies::PlatformDesc& platform() const noexcept override { return platform_; }
  const policies::ModelDesc& model() const noexcept override { return model_; }
  // The latest recorded period at or before the clock's time (the first one before any).
  Status observe(runtime::ControlSample* out) noexcept override;
  Status apply(const policies::Config& config) noexcept override;
  std::uint64_t applied_count() const noexcept { return applies_; }

 private:
  const policies::PlatformDesc& platform_;
  const policies::ModelDesc& model_;
  const std::vector<policies::FrameRecord>& frames_;
  policies::Config applied_;
  const Clock& clock_;
  std::size_t next_ = 0;
  std::uint64_t applies_ = 0;
};

struct ReplayRunOptions {
  runtime::ControllerOptions controller;  // period, guard (sink / codec are set by replay_run)
  policies::Config initial{};             // configuration in force before the first period
  policies::Config safe{};                // the guard's fallback
};

// Replays ld.frames through a runtime::Controller with `policy`; returns the decisions it took,
// one per frame. Errors: the controller refuses the options or the safe configuration.
Result<std::vector<telemetry::Decision>> replay_run(const ReplayLoad& ld, const policies::PlatformDesc& platform,
                                                    const policies::ModelDesc& model,
                                                    std::unique_ptr<policies::Controller> policy,
                                                    const ReplayRunOptions& options);

// Bitwise equality of two decisions (action, observation bits, text); time is compared too.
bool same_decision(const telemetry::Decision& a, const telemetry::Decision& b) noexcept;

}  // namespace hetsched::tools
