// `hetsched run`, split by shape: tools/cmd_run.cpp (the CLI: flags, checks, dispatch),
// tools/run_sim.cpp (simulated platform in virtual time), tools/run_host.cpp (real inference on
// this machine); this header holds what both share: where the run's records go.
//
// Records: the trace (--record, tools/recorder.hpp) and the streaming server (--listen,
// tools/listen.hpp) hang off one FanoutSink. The trace header is written only once the
// controller exists (start_record): it carries the controller's settings (describe_controller,
// tools/replay_policy.hpp: period, rate limit, guard, initial and safe configuration, host units)
// so that `hetsched replay` rebuilds the very controller that ran; the recorder holds what is
// published before that.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "policies/frame_records.hpp"
#include "policies/policy_file.hpp"
#include "runtime/controller.hpp"
#include "telemetry/record_sink.hpp"
#include "tools/args.hpp"
#include "tools/listen.hpp"
#include "tools/recorder.hpp"

namespace hetsched::tools::run {

struct Outputs {
  telemetry::SourceTable sources;                 // the frame codec's sources + "controller", "scenario"
  std::unique_ptr<policies::FrameCodec> codec;    // the controller's frame records
  std::unique_ptr<Recorder> rec;                  // --record (deferred header), else null
  std::unique_ptr<Listener> listener;             // --listen, else null
  telemetry::FanoutSink fan;                      // both
  std::function<runtime::Controller*()> controller;  // hot-swap target for pushed policies (set once it exists)
  telemetry::RecordSink* sink() { return fan.empty() ? nullptr : &fan; }
};

// Registers the frame codec's sources, opens the recorder (header deferred) and the listener
// (both optional). `build` turns a pushed policy file into a controller policy. Returns an exit
// code (kExitOk or what tools::fail() printed). `masks` (optional) gives a pushed policy's action
// mask so the listener's sanity window runs it masked (ListenHooks::masks).
int open_outputs(Args& a, int units, int zones, const std::string& description, double target_fps,
                 std::function<Result<std::unique_ptr<policies::Controller>>(const policies::PolicyFile&)> build, Outputs* out,
                 std::function<Result<runtime::MaskFn>(const policies::PolicyFile&)> masks = {});
// --record: writes the trace header (`id` + the codec's sources + the controller's settings when
// `controller` is non-null) and the records held so far. No-op without --record.
int start_record(Outputs* out, RunIdentity id, const runtime::Controller* controller);
// Stops the listener, closes the trace (its first write error is a runtime error).
int close_outputs(Outputs* out);

// A --policy value that names a file rather than a builtin.
inline bool is_policy_file(const std::string& p) { return p.find('/') != std::string::npos || p.find(".policy") != std::string::npos; }

// The two shapes; `seconds` 0 = the scenario's duration (simulated).
int run_simulated(Args& a, double seconds);
int run_on_host(Args& a, double seconds);

}  // namespace hetsched::tools::run
