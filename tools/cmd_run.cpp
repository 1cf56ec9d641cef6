// hetsched run: the main job.
//   no --platform (or a simulated platform): the adaptive scheduler on a simulated platform
//     (default rockpi_n10 + googlenet + env/scenarios/combined.json) in virtual time, through
//     env's policy runner (the shipped trained policy by default, else "heuristic"; --policy);
//   --platform host: real pipelined inference on this machine's cores with the runtime's
//     controller (adaptive by default), --stress hogs, a live status line and a final summary.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "env/metrics.hpp"
#include "env/policy_runner.hpp"
#include "env/scenario.hpp"
#include "hetsched/runtime.hpp"
#include "runtime/stress.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/trace_writer.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

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

int run_sim(Args& a, double seconds) {
  const std::string platform = a.get("platform", "rockpi_n10"), model = a.get("model", "googlenet");
  const std::string scen_path = a.get("scenario", data_dir() + "/env/scenarios/combined.json");
  auto setup = env::make_runner_setup(data_dir(), platform, model);
  if (!setup.ok()) return fail(kExitRuntime, "run: " + setup.status().message());
  auto sc = env::load_scenario(scen_path);
  if (!sc.ok()) return fail(kExitRuntime, "run: " + sc.status().message());
  if (Status st = env::validate_scenario(*sc, setup.value()->platform); !st.ok()) return fail(kExitRuntime, "run: " + st.message());
  if (seconds > 0) sc->duration_s = std::min(sc->duration_s, seconds);
  // Default: the shipped learned policy for this platform/model (policies/trained/), else the
  // heuristic baseline when none is shipped.
  std::string policy = a.get("policy", "trained");
  std::unique_ptr<policies::Controller> ctl;
  if (policy == "trained" || policy.find('/') != std::string::npos || policy.find(".policy") != std::string::npos) {
    const std::string path = policy == "trained" ? env::shipped_policy_path(*setup.value()) : policy;
    auto c = env::load_trained(*setup.value(), path);
    if (c.ok()) ctl = std::move(c.value());
    else if (a.has("policy")) return fail(kExitRuntime, "run: --policy: " + c.status().message());
    else policy = "heuristic";
  }
  if (!ctl && policy != "oracle") {
    auto c = env::make_builtin(*setup.value(), policy, *sc);
    if (!c.ok()) return fail(kExitUsage, "run: --policy: " + c.status().message());
    ctl = std::move(c.value());
  }
  std::fprintf(stderr, "run: simulated %s + %s, scenario %s (%.0f s virtual), policy %s ...\n", platform.c_str(), model.c_str(),
               sc->name.c_str(), sc->duration_s, policy.c_str());
  auto r = env::run_scenario(*setup.value(), *sc, 1, ctl.get());
  if (!r.ok()) return fail(kExitRuntime, "run: " + r.status().message());
  const env::Metrics& m = r->metrics;
  if (a.has("json")) {
    std::printf("%s\n", env::to_json(m).dump().c_str());
  } else {
    std::printf("summary: %s %s scenario %s policy %s: %.2f fps, QoS violated %.1f %%, %.1f mJ/frame, %.0f mW, peak %.1f C, "
                "throttled %.1f %%, %lld reconfigs, %lld frames, %lld dropped\n",
                platform.c_str(), model.c_str(), sc->name.c_str(), policy.c_str(), m.fps_mean, m.qos_violation_pct,
                m.energy_per_frame_mj, m.avg_power_mw, m.peak_temp_c, m.throttled_pct, static_cast<long long>(m.reconfigs),
                static_cast<long long>(m.frames), static_cast<long long>(m.dropped_frames));
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
  RuntimeOptions o;
  o.mode = mode == "fixed" ? RuntimeMode::kFixed : RuntimeMode::kAdaptive;
  o.split = a.get("split");
  o.deadline_ns = static_cast<std::int64_t>(*deadline_ms * 1e6);
  std::vector<std::int64_t> lat_us;
  lat_us.reserve(1 << 16);
  o.on_result = [&](const RuntimeResult& r) {
    if (lat_us.size() < lat_us.capacity()) lat_us.push_back(r.latency_ns / 1000);
  };
  const std::string model = a.get("model", "mobilenet_v1");
  auto rt = Runtime::create(*platform, model, data_dir(), o);
  if (!rt.ok()) return fail(rt.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRuntime, "run: " + rt.status().message());
  Runtime& R = *rt.value();

  std::unique_ptr<telemetry::TraceWriter> trace;
  if (a.has("record")) {
    telemetry::TraceHeader h;
    h.producer = std::string("hetsched ") + HETSCHED_VERSION + " run";
    h.platform = "host";
    h.model = model;
    h.sources.add("pipeline");
    for (const auto& n : R.unit_names()) h.sources.add(n);
    auto w = telemetry::TraceWriter::create({.path = a.get("record")}, h);
    if (!w.ok()) return fail(kExitRuntime, "run: --record: " + w.status().message());
    trace = std::move(w.value());
  }
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
        if (trace) (void)trace->append(telemetry::Event{now - t0, telemetry::EventKind::kScenario, 0, "stress on " + stress[i].unit});
      } else if (!on && hogs[i]) {
        hogs[i].reset();
        if (live) std::fprintf(stderr, "\n[%.1fs] stress off %s\n", t_s, stress[i].unit.c_str());
        if (trace) (void)trace->append(telemetry::Event{now - t0, telemetry::EventKind::kScenario, 0, "stress off " + stress[i].unit});
      }
    }
    if (Status st = R.submit(input.data(), R.input_floats(), f); !st.ok()) return fail(kExitRuntime, "run: " + st.message());
    if (now >= next_status) {
      next_status = now + 500'000'000;
      const RuntimeTelemetry t = R.telemetry();
      if (t_s > 1) peak_fps = std::max(peak_fps, t.fps);
      if (trace) {
        (void)trace->append(telemetry::Sample{now - t0, t.fps, 0, telemetry::SampleKind::kFps});
        for (size_t u = 0; u < t.units.size(); ++u)
          (void)trace->append(telemetry::Sample{now - t0, 10 * t.units[u].busy_pct, static_cast<std::uint16_t>(u + 1), telemetry::SampleKind::kUtil});
        if (t.split != last_split) (void)trace->append(telemetry::Event{now - t0, telemetry::EventKind::kConfigApplied, 0, t.split});
      }
      if (live) {
        std::string units;
        for (const auto& u : t.units) {
          char b[96];
          std::snprintf(b, sizeof b, " %s[%d blk %3.0f%% x%.2f]", u.name.c_str(), u.blocks, u.busy_pct, u.speed_factor);
          units += b;
        }
        std::fprintf(stderr, "\r%6.1fs %6.1f fps split %-16s%s reconf %u guard %s   ", t_s, t.fps, t.split.c_str(), units.c_str(),
                     t.reconfigs, t.last_guard.c_str());
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
  if (trace) {
    if (Status st = trace->close(); !st.ok()) return fail(kExitRuntime, "run: --record: " + st.message());
  }
  if (live) std::fprintf(stderr, "\n");
  if (a.has("json")) {
    // The simulator's metric keys (env/metrics.hpp); the host has no power or thermal sensor
    // here, so those are null rather than invented.
    nlohmann::json j;
    j["fps_mean"] = fps;
    j["qos_violation_pct"] = frames ? 100.0 * static_cast<double>(t.deadline_misses) / static_cast<double>(frames) : 0.0;
    j["energy_per_frame_mj"] = nullptr;
    j["avg_power_mw"] = nullptr;
    j["peak_temp_c"] = nullptr;
    j["throttled_pct"] = 0.0;
    j["reconfigs"] = t.reconfigs;
    j["frames"] = frames;
    j["dropped_frames"] = dropped;
    j["failed_frames"] = t.frames_failed;
    j["latency_p50_ms"] = pct(0.5);
    j["latency_p99_ms"] = pct(0.99);
    j["split"] = t.split;
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
      "hetsched run [--platform host|P] [--model M] [--seconds S] [--stress UNIT@T_S[:DURATION_S]] [--json] [--record TRACE]",
      "run the adaptive scheduler: simulated (default rockpi_n10 + googlenet + built-in scenario) or real on this machine",
      {{"platform", "P", "host = real inference on this machine; a platform name = simulated (default rockpi_n10)"},
       {"model", "M", "model (default googlenet simulated, mobilenet_v1 on host)"},
       {"seconds", "S", "bound the run (default: the scenario's duration, 30 s on host)"},
       {"stress", "UNIT@T_S[:DURATION_S]", "host: start a CPU hog pinned to UNIT at T_S for DURATION_S", true},
       {"mode", "adaptive|fixed", "host: adaptive controller (default) or a fixed split"},
       {"split", "UNIT:N,...", "host: fixed/initial split, e.g. cpu0:20,cpu1:8 (default: balanced on calibration)"},
       {"deadline-ms", "MS", "host: per-frame latency target; misses count as QoS violations (default none)"},
       {"scenario", "S.json", "simulated: scenario file (default env/scenarios/combined.json)"},
       {"policy", "NAME|FILE", "simulated: controller (trained = shipped policy, a .policy file, heuristic, static-best, governor:..., oracle; default trained, else heuristic)"},
       {"json", "", "print the metrics as JSON (simulator metric keys)"},
       {"record", "TRACE", "host: write a trace (fps, unit utilisation, splits, stress events)"},
       {"quiet", "", "host: no live status line"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  const bool host = a.get("platform") == "host";
  auto seconds = a.get_double("seconds", host ? 30.0 : 0.0);
  if (!seconds) return *a.exit_code;
  if (*seconds < 0 || *seconds > 1e6 || (a.has("seconds") && *seconds <= 0))
    return fail(kExitUsage, "run: --seconds must be in (0, 1e6]");
  if (!host) {
    for (const char* f : {"stress", "mode", "split", "deadline-ms", "record", "quiet"})
      if (a.has(f)) return fail(kExitUsage, std::string("run: --") + f + " applies to --platform host only");
    return run_sim(a, *seconds);
  }
  for (const char* f : {"scenario", "policy"})
    if (a.has(f)) return fail(kExitUsage, std::string("run: --") + f + " applies to simulated platforms only");
  return run_host(a, *seconds);
}

const CommandRegistrar kReg{"run", "run the adaptive scheduler (simulated by default, --platform host for real inference)", cmd_run};

}  // namespace
}  // namespace hetsched::tools
