// hetsched run: the main job. Both shapes run the same runtime::Controller (runtime/controller.hpp):
//   no --platform (or a simulated platform): the adaptive scheduler on a simulated platform
//     (default rockpi_n10 + googlenet + env/scenarios/combined.json) in virtual time: a
//     ManualClock advanced by the simulator (tools/sim_target.hpp); the shipped trained policy by
//     default, else "heuristic"; --policy;
//   --platform host: real pipelined inference on this machine's cores (the Runtime's controller:
//     built-in balancer, or --policy FILE trained for the host profile), --stress hogs.
// Both: live status line (stderr, throttled), final summary or --json, --record TRACE
// (tools/recorder.hpp), --listen ADDR:PORT (tools/listen.hpp: stream + policy push).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "env/metrics.hpp"
#include "env/policy_runner.hpp"
#include "env/scenario.hpp"
#include "hetsched/runtime.hpp"
#include "policies/frame_records.hpp"
#include "policies/platform.hpp"
#include "policies/policy_file.hpp"
#include "runtime/agent_policy.hpp"
#include "runtime/controller.hpp"
#include "runtime/host_config.hpp"
#include "runtime/stress.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/record_sink.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"
#include "tools/listen.hpp"
#include "tools/recorder.hpp"
#include "tools/sim_target.hpp"

namespace hetsched::tools {
namespace {

struct StressSpec {
  std::string unit;
  double at_s = 0, duration_s = -1;  // -1: until the end
};

// UNIT@T_S[:DURATION_S]
bool parse_stress(const std::string& text, StressSpec* out, std::string* err) {
  const auto at = text.find('@');
  if (at == std::string::npos || at == 0) return *err = "--stress '" + text + "': expected UNIT@T_S[:DURATION_S], e.g. cpu1@8:10", false;
  out->unit = text.substr(0, at);
  const std::string rest = text.substr(at + 1);
  const auto colon = rest.find(':');
  auto num = [&](const std::string& s, double* v, const char* what) {
    char* end = nullptr;
    *v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(*v) || *v < 0 || *v > 1e6)
      return *err = std::string("--stress '") + text + "': " + what + " '" + s + "' is not a number of seconds in [0, 1e6]", false;
    return true;
  };
  if (!num(rest.substr(0, colon), &out->at_s, "start")) return false;
  if (colon != std::string::npos && !num(rest.substr(colon + 1), &out->duration_s, "duration")) return false;
  return true;
}

// Where a run's records go: the trace (--record) and the streaming server (--listen).
struct Outputs {
  telemetry::SourceTable sources;
  std::unique_ptr<policies::FrameCodec> codec;
  std::unique_ptr<Recorder> rec;
  std::unique_ptr<Listener> listener;
  telemetry::FanoutSink fan;
  // Hot-swap target for pushed policies (set once the controller exists).
  std::function<runtime::Controller*()> controller;
  telemetry::RecordSink* sink() { return fan.empty() ? nullptr : &fan; }
};

// Registers the frame codec's sources, opens the recorder and the listener (both optional).
int open_outputs(Args& a, int units, int zones, RunIdentity id, const std::string& description, double target_fps,
                 std::function<Result<std::unique_ptr<policies::Controller>>(const policies::PolicyFile&)> build, Outputs* out) {
  auto codec = policies::FrameCodec::create(units, zones, &out->sources);
  if (!codec.ok()) return fail(kExitRuntime, "run: " + codec.status().message());
  out->codec = std::make_unique<policies::FrameCodec>(std::move(codec.value()));
  (void)out->sources.add("controller");
  (void)out->sources.add("scenario");
  if (a.has("record")) {
    id.sources = out->sources;
    auto r = open_recorder(a.get("record"), id);
    if (!r.ok()) return fail(kExitRuntime, "run: --record: " + r.status().message());
    out->rec = std::move(r.value());
    out->fan.add(out->rec.get());
  }
  if (a.has("listen")) {
    ListenOptions lo;
    lo.listen = a.get("listen");
    lo.token_file = a.get("token-file");
    lo.sources = out->sources;
    lo.description = description;
    lo.target_fps = target_fps;
    lo.hooks.build = std::move(build);
    Outputs* o = out;
    lo.hooks.propose = [o](std::unique_ptr<policies::Controller> c) -> Status {
      runtime::Controller* ctl = o->controller ? o->controller() : nullptr;
      if (!ctl) return Error(StatusCode::kUnavailable, "run: no adaptive controller to hot-swap");
      ctl->propose_policy(std::move(c));
      return Status::Ok();
    };
    lo.hooks.rollback = [o]() -> Status {
      runtime::Controller* ctl = o->controller ? o->controller() : nullptr;
      if (!ctl || !ctl->rollback()) return Error(StatusCode::kUnavailable, "run: no previous policy to roll back to");
      return Status::Ok();
    };
    auto l = start_listen(lo);
    if (!l.ok()) return fail(l.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRuntime, "run: --listen: " + l.status().message());
    out->listener = std::move(l.value());
    out->fan.add(&out->listener->sink());
    std::fprintf(stderr, "run: listening on %s\n", out->listener->address().c_str());
  }
  return kExitOk;
}

int close_outputs(Outputs* o) {
  o->listener.reset();
  if (o->rec) {
    if (Status st = o->rec->close(); !st.ok()) return fail(kExitRuntime, "run: --record: " + st.message());
  }
  return kExitOk;
}

bool is_policy_file(const std::string& p) { return p.find('/') != std::string::npos || p.find(".policy") != std::string::npos; }

int run_sim(Args& a, double seconds) {
  const std::string platform = a.get("platform", "rockpi_n10"), model = a.get("model", "googlenet");
  const std::string scen_path = a.get("scenario", data_dir() + "/env/scenarios/combined.json");
  auto seed = a.get_int("seed", 1);
  if (!seed) return *a.exit_code;
  if (*seed < 0) return fail(kExitUsage, "run: --seed must be >= 0");
  auto setup_r = env::make_runner_setup(data_dir(), platform, model);
  if (!setup_r.ok()) return fail(kExitRuntime, "run: " + setup_r.status().message());
  std::shared_ptr<env::RunnerSetup> setup = setup_r.value();
  auto sc = env::load_scenario(scen_path);
  if (!sc.ok()) return fail(kExitRuntime, "run: " + sc.status().message());
  if (Status st = env::validate_scenario(*sc, setup->platform); !st.ok()) return fail(kExitRuntime, "run: " + st.message());
  if (seconds > 0) sc->duration_s = std::min(sc->duration_s, seconds);
  // Default: the shipped learned policy for this platform/model (policies/trained/), else the
  // heuristic baseline when none is shipped.
  std::string policy = a.get("policy", "trained");
  std::unique_ptr<policies::Controller> ctl;
  std::uint64_t checksum = 0;
  if (policy == "trained" || is_policy_file(policy)) {
    const std::string path = policy == "trained" ? env::shipped_policy_path(*setup) : policy;
    auto c = runtime::load_agent_policy(path, setup->platform, setup->model, data_dir());
    if (c.ok()) ctl = std::move(c->controller), checksum = c->checksum;
    else if (a.has("policy")) return fail(kExitRuntime, "run: --policy: " + c.status().message());
    else policy = "heuristic";
  }
  auto best = env::static_best(*setup, *sc);
  if (!best.ok()) return fail(kExitRuntime, "run: " + best.status().message());
  // Start where env::run_scenario starts (the oracle's offline pick), except a static policy,
  // which runs its own configuration from t = 0 like `hetsched sim --policy static:C`.
  policies::Config initial = *best;
  if (!ctl && policy != "oracle") {
    auto c = env::make_builtin(*setup, policy, *sc);
    if (!c.ok()) return fail(kExitUsage, "run: --policy: " + c.status().message());
    ctl = std::move(c.value());
    if (policy.rfind("static:", 0) == 0) initial = ctl->decide({}, {});
  }
  Outputs out;
  RunIdentity id{platform, model, policy, checksum, {static_cast<std::uint64_t>(*seed)}, scenario_json(*sc),
                 std::string("hetsched ") + HETSCHED_VERSION + " run", "sim", {}, {}};
  id.metadata["initial_config"] = policies::format_config(initial, setup->platform);
  id.metadata["period_ns"] = std::to_string(static_cast<std::int64_t>(std::llround(sc->decision_period_ms * 1e6)));
  auto build = [setup](const policies::PolicyFile& f) -> Result<std::unique_ptr<policies::Controller>> {
    auto c = runtime::agent_from_policy_file(f, setup->platform, setup->model, data_dir(), "pushed policy");
    if (!c.ok()) return c.status();
    return std::move(c->controller);
  };
  if (int rc = open_outputs(a, setup->platform.num_units(), static_cast<int>(setup->platform.zones.size()), id,
                            platform + " " + model + " policy " + policy, sc->initial.target_fps, build, &out); rc != kExitOk)
    return rc;

  ManualClock clock(0);
  auto target = SimTarget::create(setup, *sc, initial, clock, {.seed = static_cast<std::uint64_t>(*seed), .sim = {}, .sink = out.sink(), .scenario_source = *out.sources.find("scenario")});
  if (!target.ok()) return fail(kExitRuntime, "run: " + target.status().message());
  SimTarget& T = *target.value();
  if (policy == "oracle") ctl = make_sim_oracle(setup, T);
  runtime::ControllerOptions co;
  co.period_ns = T.period_ns();
  co.rate_limit_ns = std::min<std::int64_t>(20'000'000, T.period_ns());
  co.guard = sim_guard_options(setup->platform);
  co.sink = out.sink();
  co.frame_codec = out.codec.get();
  co.record_source = *out.sources.find("controller");
  auto c = runtime::Controller::create(co, clock, T, std::move(ctl), *best);
  if (!c.ok()) return fail(kExitRuntime, "run: " + c.status().message());
  runtime::Controller& C = *c.value();
  out.controller = [&C] { return &C; };
  const bool live = !a.has("quiet");
  std::fprintf(stderr, "run: simulated %s + %s, scenario %s (%.0f s virtual), policy %s ...\n", platform.c_str(), model.c_str(),
               sc->name.c_str(), sc->duration_s, policy.c_str());
  RealClock wall;
  std::int64_t next_status = wall.now_ns();
  while (T.advance()) {
    C.step();
    if (live && wall.now_ns() >= next_status) {  // throttled: the run itself goes much faster than real time
      next_status = wall.now_ns() + 200'000'000;
      const auto& o = T.sim().observation();
      std::fprintf(stderr, "\r%7.1fs %6.2f fps (target %4.1f) %6.0f mW %5.1f C config %s guard %s   ", T.sim().now_s(), o.fps,
                   o.target_fps, o.power_mw, T.sim().die_temp_c(), policies::format_config(C.current(), setup->platform).c_str(),
                   runtime::to_string(C.stats().last_guard));
    }
  }
  if (live) std::fprintf(stderr, "\n");
  out.controller = nullptr;
  if (int rc = close_outputs(&out); rc != kExitOk) return rc;
  const env::Metrics m = T.metrics();
  const runtime::ControllerStats st = C.stats();
  if (a.has("json")) {
    nlohmann::json j = env::to_json(m);
    j["scenario"] = sc->name;
    j["policy"] = policy;
    j["platform"] = platform;
    j["model"] = model;
    j["decisions"] = st.decisions;
    j["guard_overrides"] = st.guard_overrides;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("summary: %s %s scenario %s policy %s: %.2f fps, QoS violated %.1f %%, %.1f mJ/frame, %.0f mW, peak %.1f C, "
                "throttled %.1f %%, %lld reconfigs, %lld frames, %lld dropped, %llu decisions, %llu guard overrides\n",
                platform.c_str(), model.c_str(), sc->name.c_str(), policy.c_str(), m.fps_mean, m.qos_violation_pct,
                m.energy_per_frame_mj, m.avg_power_mw, m.peak_temp_c, m.throttled_pct, static_cast<long long>(m.reconfigs),
                static_cast<long long>(m.frames), static_cast<long long>(m.dropped_frames),
                static_cast<unsigned long long>(st.decisions), static_cast<unsigned long long>(st.guard_overrides));
  }
  return kExitOk;
}

int run_host(Args& a, double seconds) {
  std::vector<StressSpec> stress;
  for (const auto& s : a.get_all("stress")) {
    StressSpec sp;
    std::string err;
    if (!parse_stress(s, &sp, &err)) return fail(kExitUsage, "run: " + err);
    stress.push_back(sp);
  }
  const std::string mode = a.get("mode", "adaptive");
  if (mode != "adaptive" && mode != "fixed") return fail(kExitUsage, "run: --mode '" + mode + "': expected adaptive or fixed");
  auto deadline_ms = a.get_double("deadline-ms", 0);
  if (!deadline_ms) return *a.exit_code;
  if (*deadline_ms < 0 || *deadline_ms > 1e6) return fail(kExitUsage, "run: --deadline-ms must be in [0, 1e6]");
  auto platform = host_platform();
  if (!platform.ok()) return fail(kExitRuntime, "run: " + platform.status().message());
  std::vector<std::vector<int>> stress_cores;
  for (const auto& sp : stress) {
    auto it = std::find_if(platform->units.begin(), platform->units.end(), [&](const RuntimeUnit& u) { return u.name == sp.unit; });
    if (it == platform->units.end()) return fail(kExitUsage, "run: --stress: unknown unit '" + sp.unit + "' (host units: cpu<N>)");
    stress_cores.push_back(it->cpu_ids);
  }
  const std::string model = a.get("model", "mobilenet_v1");
  RuntimeOptions o;
  o.mode = mode == "fixed" ? RuntimeMode::kFixed : RuntimeMode::kAdaptive;
  o.split = a.get("split");
  o.deadline_ns = static_cast<std::int64_t>(*deadline_ms * 1e6);
  const std::string policy = a.get("policy", "balance");
  if (policy != "balance") {
    if (mode == "fixed") return fail(kExitUsage, "run: --policy applies to --mode adaptive");
    o.policy_file = policy;
    // The host profile the policy was trained on (its letters and zones define the schema).
    // Default: `hetsched profile`'s output if it exists, else the default host mapping.
    o.platform_file = a.get("profile", policies::default_host_profile_path(data_dir()));
    if (!a.has("profile") && !std::filesystem::exists(o.platform_file)) o.platform_file.clear();
    o.online_learning = a.has("online");
  } else if (a.has("profile")) {
    o.platform_file = a.get("profile");
  }
  if (a.has("online") && o.policy_file.empty()) return fail(kExitUsage, "run: --online needs --policy FILE");
  std::vector<std::int64_t> lat_us;
  lat_us.reserve(1 << 16);
  o.on_result = [&](const RuntimeResult& r) {
    if (lat_us.size() < lat_us.capacity()) lat_us.push_back(r.latency_ns / 1000);
  };
  // Records: the codec's sources are fixed before the runtime starts publishing.
  Outputs out;
  RunIdentity id{"host", model, policy, 0, {o.weights_seed}, "", std::string("hetsched ") + HETSCHED_VERSION + " run", "host", {}, {}};
  id.metadata["period_ns"] = std::to_string(o.decision_period_ns);
  id.metadata["mode"] = mode;
  if (!o.policy_file.empty()) {
    if (auto f = policies::read_policy_file(o.policy_file); f.ok()) id.policy_checksum = f->mlp.checksum();
    id.metadata["platform_file"] = o.platform_file;
  }
  for (const auto& u : platform->units) id.metadata["unit." + u.name] = u.name;
  // Pushed policies are built against the runtime's host platform once it exists.
  std::unique_ptr<Runtime>* rt_slot = nullptr;
  std::unique_ptr<Runtime> rt_holder;
  rt_slot = &rt_holder;
  std::string platform_file = o.platform_file;
  std::vector<std::string> unit_names;
  std::vector<std::vector<int>> unit_cores;
  for (const auto& u : platform->units) unit_names.push_back(u.name), unit_cores.push_back(u.cpu_ids);
  auto build = [platform_file, model, unit_names, unit_cores](const policies::PolicyFile& f) -> Result<std::unique_ptr<policies::Controller>> {
    // The same host platform the Runtime uses: the profile, else the default mapping.
    auto d = platform_file.empty() ? Result<policies::PlatformDesc>(runtime::default_host_desc(unit_names, unit_cores))
                                   : policies::load_platform(platform_file);
    if (!d.ok()) return Error(d.status().code(), "pushed policy: host platform: " + d.status().message());
    auto m = policies::load_model_by_name(data_dir(), model);
    if (!m.ok()) return m.status();
    auto c = runtime::agent_from_policy_file(f, *d, *m, data_dir(), "pushed policy");
    if (!c.ok()) return c.status();
    return std::move(c->controller);
  };
  if (int rc = open_outputs(a, static_cast<int>(platform->units.size()), 0, id, "host " + model + " policy " + policy, 0, build, &out);
      rc != kExitOk)
    return rc;
  o.sink = out.sink();
  o.frame_codec = out.codec.get();
  auto rt = Runtime::create(*platform, model, data_dir(), o);
  if (!rt.ok()) {
    // A malformed --split is a usage error; a refused policy/profile file or a missing model is a runtime error.
    const bool usage = rt.status().code() == StatusCode::kInvalidArgument && rt.status().message().rfind("RuntimeOptions.split", 0) == 0;
    return fail(usage ? kExitUsage : kExitRuntime, "run: " + rt.status().message());
  }
  *rt_slot = std::move(rt.value());
  Runtime& R = **rt_slot;
  out.controller = [&R] { return R.controller(); };
  telemetry::RecordSink* trace = out.sink();
  RealClock clock;
  std::vector<float> input(static_cast<size_t>(R.input_floats()));
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f;
  std::vector<std::unique_ptr<runtime::CpuHog>> hogs(stress.size());
  const bool live = !a.has("quiet");
  std::string last_split;
  const std::int64_t t0 = clock.now_ns();
  std::int64_t next_status = t0;
  double peak_fps = 0;
  R.telemetry();  // reset the fps window
  const std::uint64_t done0 = R.telemetry().frames_done;
  for (std::uint64_t f = 0;; ++f) {
    const std::int64_t now = clock.now_ns();
    const double t_s = static_cast<double>(now - t0) / 1e9;
    if (t_s >= seconds) break;
    for (size_t i = 0; i < stress.size(); ++i) {
      const bool on = t_s >= stress[i].at_s && (stress[i].duration_s < 0 || t_s < stress[i].at_s + stress[i].duration_s);
      if (on && !hogs[i]) {
        auto h = runtime::CpuHog::start(stress_cores[i]);
        if (!h.ok()) return fail(kExitRuntime, "run: --stress: " + h.status().message());
        hogs[i] = std::move(h.value());
        if (live) std::fprintf(stderr, "\n[%.1fs] stress on %s\n", t_s, stress[i].unit.c_str());
        if (trace) trace->on_event(telemetry::Event{clock.now_ns(), telemetry::EventKind::kScenario, *out.sources.find("scenario"), "stress on " + stress[i].unit});
      } else if (!on && hogs[i]) {
        hogs[i].reset();
        if (live) std::fprintf(stderr, "\n[%.1fs] stress off %s\n", t_s, stress[i].unit.c_str());
        if (trace) trace->on_event(telemetry::Event{clock.now_ns(), telemetry::EventKind::kScenario, *out.sources.find("scenario"), "stress off " + stress[i].unit});
      }
    }
    if (Status st = R.submit(input.data(), R.input_floats(), f); !st.ok()) return fail(kExitRuntime, "run: " + st.message());
    if (now >= next_status) {
      next_status = now + 500'000'000;
      const RuntimeTelemetry t = R.telemetry();
      if (t_s > 1) peak_fps = std::max(peak_fps, t.fps);
      if (live) {
        std::string units;
        for (const auto& u : t.units) {
          char b[96];
          std::snprintf(b, sizeof b, " %s[%d blk %3.0f%% x%.2f]", u.name.c_str(), u.blocks, u.busy_pct, u.speed_factor);
          units += b;
        }
        char sens[64] = "";
        if (t.has_temp) std::snprintf(sens, sizeof sens, " %.1f C", t.max_temp_c);
        std::fprintf(stderr, "\r%6.1fs %6.1f fps split %-16s%s%s reconf %u guard %s   ", t_s, t.fps, t.split.c_str(), units.c_str(),
                     sens, t.reconfigs, t.last_guard.c_str());
      }
      last_split = t.split;
    }
  }
  const std::int64_t t_end = clock.now_ns();
  (void)R.stop();
  hogs.clear();
  const RuntimeTelemetry t = R.telemetry();
  const double wall_s = static_cast<double>(t_end - t0) / 1e9;
  const std::uint64_t frames = t.frames_done - done0;
  const double fps = wall_s > 0 ? static_cast<double>(frames) / wall_s : 0;
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double p) { return lat_us.empty() ? 0.0 : lat_us[static_cast<size_t>(p * static_cast<double>(lat_us.size() - 1))] / 1000.0; };
  const std::uint64_t dropped = t.frames_submitted - (t.frames_done - done0);
  out.controller = nullptr;
  rt_slot->reset();  // the controller thread publishes no more
  if (int rc = close_outputs(&out); rc != kExitOk) return rc;
  if (live) std::fprintf(stderr, "\n");
  if (a.has("json")) {
    // The simulator's metric keys (env/metrics.hpp); the host has no power or thermal sensor
    // here, so those are null rather than invented.
    nlohmann::json j;
    j["fps_mean"] = fps;
    j["qos_violation_pct"] = frames ? 100.0 * static_cast<double>(t.deadline_misses) / static_cast<double>(frames) : 0.0;
    j["energy_per_frame_mj"] = nullptr;
    j["avg_power_mw"] = nullptr;
    j["peak_temp_c"] = t.has_temp ? nlohmann::json(t.max_temp_c) : nlohmann::json(nullptr);
    j["throttled_pct"] = 0.0;
    j["reconfigs"] = t.reconfigs;
    j["frames"] = frames;
    j["dropped_frames"] = dropped;
    j["failed_frames"] = t.frames_failed;
    j["latency_p50_ms"] = pct(0.5);
    j["latency_p99_ms"] = pct(0.99);
    j["split"] = t.split;
    j["policy"] = t.policy;
    j["decisions"] = t.decisions;
    j["guard_overrides"] = t.guard_overrides;
    j["policy_swaps"] = t.policy_swaps;
    j["online_updates"] = t.online_updates;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("summary: host %s %s, %.1f s: %llu frames, %.2f fps (peak 0.5 s window %.2f), latency p50 %.1f ms p99 %.1f ms, "
                "%u reconfigs (%.0f ms drain), %llu dropped, %llu failed, final split %s\n",
                model.c_str(), mode.c_str(), wall_s, static_cast<unsigned long long>(frames), fps, peak_fps, pct(0.5), pct(0.99),
                t.reconfigs, static_cast<double>(t.switch_wait_ns) / 1e6, static_cast<unsigned long long>(dropped),
                static_cast<unsigned long long>(t.frames_failed), t.split.c_str());
  }
  return kExitOk;
}

int cmd_run(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched run [--platform host|P] [--model M] [--policy NAME|FILE] [--seconds S] [--stress UNIT@T_S[:DURATION_S]] [--json] "
      "[--record TRACE] [--listen ADDR:PORT]",
      "run the adaptive scheduler: simulated (default rockpi_n10 + googlenet + built-in scenario) or real on this machine",
      {{"platform", "P", "host = real inference on this machine; a platform name = simulated (default rockpi_n10)"},
       {"model", "M", "model (default googlenet simulated, mobilenet_v1 on host)"},
       {"seconds", "S", "bound the run (default: the scenario's duration, 30 s on host)"},
       {"policy", "NAME|FILE",
        "simulated: trained (shipped policy; default, else heuristic), a .policy file, heuristic, static-best, static:CONFIG, "
        "governor:..., oracle; host: balance (default) or a .policy file trained for the host profile"},
       {"scenario", "S.json", "simulated: scenario file (default env/scenarios/combined.json)"},
       {"seed", "N", "simulated: noise seed (default 1; same seed = same run as hetsched sim/eval)"},
       {"stress", "UNIT@T_S[:DURATION_S]", "host: start a CPU hog pinned to UNIT at T_S for DURATION_S", true},
       {"mode", "adaptive|fixed", "host: adaptive controller (default) or a fixed split"},
       {"split", "UNIT:N,...", "host: fixed/initial split, e.g. cpu0:20,cpu1:8 (default: balanced on calibration)"},
       {"deadline-ms", "MS", "host: per-frame latency target; misses count as QoS violations (default none)"},
       {"profile", "PROFILE.json", "host: the host profile a --policy file was trained on (default: hetsched profile's output)"},
       {"online", "", "host: with --policy FILE, keep learning on the run and hot-swap the improved policy"},
       {"json", "", "print the metrics as JSON (simulator metric keys)"},
       {"record", "TRACE", "write a trace: samples, decisions, configurations, events, run identity (docs/replay.md)"},
       {"listen", "ADDR:PORT", "stream telemetry and accept policy pushes (docs/streaming.md; loopback unless a token is set)"},
       {"token-file", "F", "--listen: shared token file (required off loopback; else $HETSCHED_STREAM_TOKEN)"},
       {"quiet", "", "no live status line"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  const bool host = a.get("platform") == "host";
  auto seconds = a.get_double("seconds", host ? 30.0 : 0.0);
  if (!seconds) return *a.exit_code;
  if (*seconds < 0 || *seconds > 1e6 || (a.has("seconds") && *seconds <= 0))
    return fail(kExitUsage, "run: --seconds must be in (0, 1e6]");
  if (a.has("token-file") && !a.has("listen")) return fail(kExitUsage, "run: --token-file needs --listen");
  if (!host) {
    for (const char* f : {"stress", "mode", "split", "deadline-ms", "profile", "online"})
      if (a.has(f)) return fail(kExitUsage, std::string("run: --") + f + " applies to --platform host only");
    return run_sim(a, *seconds);
  }
  for (const char* f : {"scenario", "seed"})
    if (a.has(f)) return fail(kExitUsage, std::string("run: --") + f + " applies to simulated platforms only");
  return run_host(a, *seconds);
}

const CommandRegistrar kReg{"run", "run the adaptive scheduler (simulated by default, --platform host for real inference)", cmd_run};

}  // namespace
}  // namespace hetsched::tools
