// `hetsched run` on a simulated platform (tools/cmd_run.cpp has the CLI): the adaptive
// scheduler in virtual time, a ManualClock advanced by the simulator (tools/sim_target.hpp),
// driving the same runtime::Controller as the host. Default rockpi_n10 + googlenet +
// env/scenarios/combined.json and the shipped trained policy (else "heuristic").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "env/metrics.hpp"
#include "env/policy_runner.hpp"
#include "env/scenario.hpp"
#include "runtime/agent_policy.hpp"
#include "telemetry/clock.hpp"
#include "tools/commands.hpp"
#include "tools/run_outputs.hpp"
#include "tools/sim_target.hpp"

namespace hetsched::tools::run {

int run_simulated(Args& a, double seconds) {
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
  auto build = [setup](const policies::PolicyFile& f) -> Result<std::unique_ptr<policies::Controller>> {
    auto c = runtime::agent_from_policy_file(f, setup->platform, setup->model, data_dir(), "pushed policy");
    if (!c.ok()) return c.status();
    return std::move(c->controller);
  };
  if (int rc = open_outputs(a, setup->platform.num_units(), static_cast<int>(setup->platform.zones.size()),
                            platform + " " + model + " policy " + policy, sc->initial.target_fps, build, &out,
                            agent_masks([setup] { return Result<policies::PlatformDesc>(setup->platform); },
                                        [setup] { return Result<policies::ModelDesc>(setup->model); }, data_dir()));
      rc != kExitOk)
    return rc;

  ManualClock clock(0);
  auto target = SimTarget::create(setup, *sc, initial, clock, {.seed = static_cast<std::uint64_t>(*seed), .sim = {}, .sink = out.sink(), .scenario_source = *out.sources.find("scenario")});
  if (!target.ok()) return fail(kExitRuntime, "run: " + target.status().message());
  SimTarget& T = *target.value();
  if (policy == "oracle") {
    // Re-plan before the first period, as env::run_scenario; a different start is recorded as two
    // configurations at t = 0 (the drain between them is a reconfiguration, as in `hetsched sim`).
    const policies::Config start = oracle_start(*setup, T, initial);
    if (!(start == initial) && out.sink()) {
      const std::uint16_t src = *out.sources.find("controller");
      for (const policies::Config* c : std::initializer_list<const policies::Config*>{&initial, &start})
        out.sink()->on_event(telemetry::Event{0, telemetry::EventKind::kConfigApplied, src, policies::format_config(*c, setup->platform)});
    }
    ctl = make_sim_oracle(setup, T);
  }
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
  if (int rc = start_record(&out, id, &C); rc != kExitOk) return rc;
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

}  // namespace hetsched::tools::run
