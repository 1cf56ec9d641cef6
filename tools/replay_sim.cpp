#include "tools/replay_sim.hpp"

#include <algorithm>

#include "policies/frame_records.hpp"
#include "runtime/agent_policy.hpp"
#include "telemetry/clock.hpp"
#include "tools/recorder.hpp"
#include "tools/replay_policy.hpp"
#include "tools/sim_target.hpp"

namespace hetsched::tools {

Result<SimRunResult> run_sim_controller(const SimRunRequest& rq) {
  env::RunnerSetup& s = *rq.setup;
  const std::string& name = rq.policy;
  SimRunResult out;
  // Initial (and guard-safe) configuration: the fixed one for static:C, else the oracle's choice
  // for the scenario's initial conditions (what ARM-CO-UP picks offline; env::run_scenario's start).
  policies::Config initial{};
  if (name.rfind("static:", 0) == 0) {
    auto c = policies::parse_config(name.substr(7), s.platform, s.model);
    if (!c.ok()) return Error(StatusCode::kInvalidArgument, "--policy " + name + ": " + c.status().message());
    initial = *c;
  } else {
    auto b = env::static_best(s, rq.scenario);
    if (!b.ok()) return b.status();
    initial = *b;
  }
  ManualClock clock;
  // Recording: source 0 = "run" (controller and scenario events), then the frame codec's.
  std::unique_ptr<Recorder> rec;
  telemetry::FanoutSink fan;
  std::unique_ptr<policies::FrameCodec> codec;
  runtime::ControllerOptions co;
  co.period_ns = static_cast<std::int64_t>(rq.scenario.decision_period_ms * 1e6 + 0.5);
  co.rate_limit_ns = std::min<std::int64_t>(co.rate_limit_ns, co.period_ns);
  co.guard = sim_guard_options(s.platform);
  std::unique_ptr<policies::Controller> policy;
  if (name == "trained" || name.find('/') != std::string::npos || name.find(".policy") != std::string::npos) {
    const std::string path = name == "trained" ? env::shipped_policy_path(s) : name;
    // The runtime's loader (what `hetsched run` uses): checksum = Policy::checksum() of the weights.
    auto a = runtime::load_agent_policy(path, s.platform, s.model, s.data_dir);
    if (!a.ok()) return a.status();
    out.policy_checksum = a->checksum;
    policy = std::move(a->controller);
  } else if (name != "oracle") {
    auto c = env::make_builtin(s, name, rq.scenario);
    if (!c.ok()) return Error(StatusCode::kInvalidArgument, "--policy: " + c.status().message());
    policy = std::move(c.value());
  }
  // Listeners: the recorder (opened below, once the configuration in force at t = 0 is known)
  // and the caller's sink. Nothing is published before the first advance().
  const bool sinking = !rq.record_path.empty() || rq.sink != nullptr;
  SimTargetOptions so;
  so.seed = rq.seed;
  so.sink = sinking ? &fan : nullptr;
  auto target = SimTarget::create(rq.setup, rq.scenario, initial, clock, so);
  if (!target.ok()) return target.status();
  // The oracle's re-plan before the first period (as env::run_scenario; sim_target.hpp).
  const policies::Config start = name == "oracle" ? oracle_start(s, **target, initial) : initial;
  if (!rq.record_path.empty()) {
    RunIdentity id;
    id.platform = s.platform.name;
    id.model = s.model.name;
    id.policy = name;
    id.policy_checksum = out.policy_checksum;
    id.seeds = {rq.seed};
    id.scenario_json = scenario_json(rq.scenario);
    id.producer = rq.producer + " " + HETSCHED_VERSION;
    id.mode = "sim";
    id.sources.add("run");
    auto c = policies::FrameCodec::create(s.platform.num_units(), static_cast<int>(s.platform.zones.size()), &id.sources);
    if (!c.ok()) return c.status();
    codec = std::make_unique<policies::FrameCodec>(*c);
    describe_controller(&id, co, s.platform, start, initial);
    auto r = open_recorder(rq.record_path, id);
    if (!r.ok()) return Error(r.status().code(), "--record: " + r.status().message());
    rec = std::move(r.value());
    fan.add(rec.get());
    rec->on_event(telemetry::Event{0, telemetry::EventKind::kConfigApplied, 0, policies::format_config(initial, s.platform)});
    if (!(start == initial))
      rec->on_event(telemetry::Event{0, telemetry::EventKind::kConfigApplied, 0, policies::format_config(start, s.platform)});
  }
  fan.add(rq.sink);
  if (name == "oracle") policy = make_sim_oracle(rq.setup, **target);
  co.sink = so.sink;
  co.frame_codec = codec.get();
  co.record_source = 0;
  auto ctl = runtime::Controller::create(co, clock, **target, std::move(policy), initial);
  if (!ctl.ok()) return ctl.status();
  while (target.value()->advance()) ctl.value()->step();
  out.metrics = target.value()->metrics();
  out.violated = target.value()->violated();
  out.stats = ctl.value()->stats();
  if (rec) {
    if (Status st = rec->close(); !st.ok()) return Error(st.code(), "--record: " + st.message());
    out.trace_bytes = rec->stats().bytes;
  }
  return out;
}

}  // namespace hetsched::tools
