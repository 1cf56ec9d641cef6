// `hetsched run --platform host` (tools/cmd_run.cpp has the CLI): real pipelined inference on
// this machine's cores, driven by the Runtime's controller (built-in balancer, or --policy FILE
// trained for the host profile), with --stress CPU hogs pinned to units.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/online_runtime.hpp"
#include "env/metrics.hpp"
#include "hetsched/runtime.hpp"
#include "policies/platform.hpp"
#include "runtime/agent_policy.hpp"
#include "runtime/host_config.hpp"
#include "runtime/stress.hpp"
#include "telemetry/clock.hpp"
#include "tools/commands.hpp"
#include "tools/run_outputs.hpp"

namespace hetsched::tools::run {
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

// Shortest text strtod reads back to the same double (trace metadata).
std::string fmt_double(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

}  // namespace

int run_on_host(Args& a, double seconds) {
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
    if (a.has("online")) o.online_learner = agent::online_learner_factory({});
  } else if (a.has("profile")) {
    o.platform_file = a.get("profile");
  }
  if (a.has("online") && o.policy_file.empty()) return fail(kExitUsage, "run: --online needs --policy FILE");
  auto target_fps = a.get_double("target-fps", 0);
  if (!target_fps) return *a.exit_code;
  if (*target_fps < 0 || *target_fps > 1e6) return fail(kExitUsage, "run: --target-fps must be in [0, 1e6]");
  o.target_fps = *target_fps;
  // Per-frame latencies (percentiles) and the period-based metrics of the simulator's definition
  // (env::CompletionMetrics), fed in completion order on the last stage's thread.
  std::vector<std::int64_t> lat_us;
  lat_us.reserve(1 << 16);
  env::CompletionMetrics period_metrics(static_cast<double>(o.decision_period_ns) / 1e9, *target_fps, *deadline_ms);
  std::uint64_t run_frames = 0, misses = 0;  // this run's frames (the runtime's counters include calibration)
  RealClock clock;  // the run's time; also read on the last stage's thread (stateless)
  std::atomic<std::int64_t> t0_ns{0};  // set before the first submit
  o.on_result = [&](const RuntimeResult& r) {
    const std::int64_t t0 = t0_ns.load(std::memory_order_relaxed);
    if (t0 == 0) return;  // not a frame of the run (nothing is submitted before t0)
    if (lat_us.size() < lat_us.capacity()) lat_us.push_back(r.latency_ns / 1000);
    period_metrics.add(static_cast<double>(clock.now_ns() - t0) / 1e9,
                       static_cast<double>(r.latency_ns) / 1e6);
    ++run_frames;
    misses += *deadline_ms > 0 && static_cast<double>(r.latency_ns) > *deadline_ms * 1e6;
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
  auto masks = agent_masks(
      [platform_file, unit_names, unit_cores] {
        return platform_file.empty() ? Result<policies::PlatformDesc>(runtime::default_host_desc(unit_names, unit_cores))
                                     : policies::load_platform(platform_file);
      },
      [model] { return policies::load_model_by_name(data_dir(), model); }, data_dir());
  if (int rc = open_outputs(a, static_cast<int>(platform->units.size()), 0, "host " + model + " policy " + policy, *target_fps, build, &out, masks);
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
  // The controller's settings (the safe split is the calibration's balance, known only now); a
  // fixed run has no controller and no decisions to replay.
  id.metadata["min_gain"] = fmt_double(o.min_gain);
  if (int rc = start_record(&out, id, R.controller()); rc != kExitOk) return rc;
  out.controller = [&R] { return R.controller(); };
  telemetry::RecordSink* trace = out.sink();
  std::vector<float> input(static_cast<size_t>(R.input_floats()));
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f;
  std::vector<std::unique_ptr<runtime::CpuHog>> hogs(stress.size());
  const bool live = !a.has("quiet");
  std::string last_split;
  const std::int64_t t0 = clock.now_ns();
  t0_ns.store(t0, std::memory_order_relaxed);
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
  const env::Metrics pm = period_metrics.finish(wall_s);
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
    // Periods (after the first second) below 0.95 x --target-fps or with a frame over
    // --deadline-ms, as in the simulator; deadline_miss_pct counts frames instead.
    j["qos_violation_pct"] = pm.qos_violation_pct;
    j["deadline_miss_pct"] = run_frames ? 100.0 * static_cast<double>(misses) / static_cast<double>(run_frames) : 0.0;
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

}  // namespace hetsched::tools::run
