#include "tools/counterfactual.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "env/policy_runner.hpp"
#include "policies/config.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"
#include "tools/replay_policy.hpp"
#include "tools/replay_sim.hpp"
#include "tools/sim_target.hpp"

namespace hetsched::tools {

namespace {

// What a configuration text changes when it differs: the split/placement key "ORDER:HOSTS",
// or the whole text for a per-block-frequency configuration (its frequency field has one entry
// per block, not per DVFS unit), whose every change re-builds the stages in the simulator.
std::string placement_key(const std::string& text, const policies::PlatformDesc& p) {
  const auto colon = text.find(':');
  const auto second = colon == std::string::npos ? colon : text.find(':', colon + 1);
  if (second == std::string::npos) return text;
  int dvfs = 0;
  for (const auto& u : p.units) dvfs += u.has_dvfs() ? 1 : 0;
  const std::string freqs = text.substr(second + 1);
  const int entries = freqs.empty() ? 0 : 1 + static_cast<int>(std::count(freqs.begin(), freqs.end(), ','));
  if (entries != dvfs || freqs.find('/') != std::string::npos) return "pb:" + text;
  return text.substr(0, second);
}

}  // namespace

env::Metrics metrics_from_trace(const ReplayLoad& ld, const policies::PlatformDesc& p, double period_s) {
  env::MetricsAccumulator acc;
  const std::int64_t period_ns = static_cast<std::int64_t>(std::llround(period_s * 1e9));
  // Reconfigurations: split/placement changes (DVFS-only changes are not), counted the way the
  // simulator counts them: a change starts a drain only when none is in progress; a change
  // while one is (the frame's rc flag: draining at the decision) redirects it (or cancels it,
  // back to the placement in force) without a second drain. A change decided at the end of
  // period k starts in period k + 1 (none after the last decision). Host traces: rc means "a
  // re-split took effect in the period", each placement change is its own re-split.
  const bool drains = ld.id.mode == "sim";
  std::string in_force, heading;  // placement in force / being drained to
  bool draining = false;
  size_t ci = 0;
  auto apply = [&](const std::string& text) -> int {
    const std::string key = placement_key(text, p);
    if (in_force.empty()) {  // the first configuration of the run
      in_force = heading = key;
      return 0;
    }
    if (draining) {
      heading = key;
      if (key == in_force) draining = false;  // changed its mind: the drain is cancelled
      return 0;
    }
    if (key == in_force) return 0;
    heading = key;
    draining = drains;
    if (!drains) in_force = key;
    return 1;
  };
  std::int32_t pending_reconfigs = 0;
  // Configurations applied before the first period (t <= run start).
  const std::int64_t first_t = ld.frames.empty() ? 0 : ld.frames.front().t_ns;
  for (; ci < ld.configs.size() && ld.configs[ci].t_ns <= first_t - period_ns; ++ci) pending_reconfigs += apply(ld.configs[ci].text);
  if (in_force.empty() && !ld.frames.empty() && ld.frames.front().has_current) {
    auto c = policies::format_config(ld.frames.front().current, p);
    in_force = heading = placement_key(c, p);
  }
  // Partly capped periods (kThrottleNotePrefix, written by the simulator target): capped seconds by time.
  std::map<std::int64_t, double> capped_s;
  for (const auto& e : ld.notes)
    if (e.text.rfind(kThrottleNotePrefix, 0) == 0) capped_s[e.t_ns] = std::strtod(e.text.c_str() + std::strlen(kThrottleNotePrefix), nullptr);
  // QoS verdicts use the sensed trailing-window FPS of each period (the frame's fps is exactly
  // the metrics definition), not the accumulator's estimate from evenly spaced completions.
  std::int64_t qos_periods = 0, qos_violations = 0;
  // Run time starts one period before the first decision (a host trace's clock is since boot).
  const std::int64_t t0 = ld.frames.empty() ? 0 : ld.frames.front().t_ns - static_cast<std::int64_t>(std::llround(period_s * 1e9));
  bool any_temp = false;
  for (const auto& fr : ld.frames) {
    const policies::TelemetryFrame& f = fr.frame;
    env::PeriodSample s;
    s.period_s = period_s;
    s.t_start_s = static_cast<double>(fr.t_ns - t0) / 1e9 - period_s;
    s.frames = std::max(0, f.frames);
    if (s.frames > 0) {  // evenly spaced completions (the trace keeps counts, not completion times)
      const double gap = period_s / s.frames;
      s.first_done_s = s.t_start_s + 0.5 * gap;
      s.last_done_s = s.t_start_s + period_s - 0.5 * gap;
    }
    s.max_latency_ms = f.max_latency_us / 1000.0;
    s.energy_mj = f.power_ok ? f.power_mw * period_s : 0.0;
    s.max_temp_c = -273.15;
    for (size_t z = 0; z < f.temp_mc.size(); ++z)
      if (f.temp_ok[z]) s.max_temp_c = std::max(s.max_temp_c, f.temp_mc[z] / 1000.0), any_temp = true;
    bool capped = false;
    for (int u = 0; u < p.num_units(); ++u) {
      const auto& unit = p.units[static_cast<size_t>(u)];
      const auto cap = f.max_freq_khz[static_cast<size_t>(u)];
      if (unit.has_dvfs() && cap > 0 && cap < unit.opps.back().freq_khz) capped = true;
    }
    s.throttled_s = capped ? period_s : 0.0;
    if (auto it = capped_s.find(fr.t_ns); it != capped_s.end()) s.throttled_s = it->second;
    s.dropped = std::max(0, f.dropped);
    // Changes decided at the end of the previous period start in this one.
    s.reconfigs = pending_reconfigs;
    pending_reconfigs = 0;
    if (drains) {
      if (draining && !f.reconfiguring) in_force = heading;  // the drain (and re-setup) finished
      draining = f.reconfiguring;
    }
    for (; ci < ld.configs.size() && ld.configs[ci].t_ns <= fr.t_ns; ++ci) pending_reconfigs += apply(ld.configs[ci].text);
    s.target_fps = f.target_fps;
    s.latency_bound_ms = f.max_latency_us_target / 1000.0;
    s.power_budget_mw = f.power_budget_mw;
    const env::PeriodVerdict v = acc.add(s);
    if (v.qos_counted) {
      const double fps = f.fps_ok ? f.fps : v.fps;
      const bool miss = (s.target_fps > 0 && fps < env::MetricsAccumulator::kFpsTolerance * s.target_fps) ||
                        (s.latency_bound_ms > 0 && s.max_latency_ms > s.latency_bound_ms) ||
                        (s.power_budget_mw > 0 && f.power_ok && f.power_mw > s.power_budget_mw);
      ++qos_periods;
      qos_violations += miss;
    }
  }
  env::Metrics m = acc.result();
  if (!any_temp) m.peak_temp_c = 0;  // no thermal sensor (host VM): nothing measured, not -273 °C
  if (qos_periods > 0) m.qos_violation_pct = 100.0 * static_cast<double>(qos_violations) / static_cast<double>(qos_periods);
  return m;
}

bool thermal_model_inert(const policies::PlatformDesc& platform, const env::ThermalParams& tp) {
  return !platform.power_model || tp.source.rfind("none", 0) == 0;
}

// Ambient from observed temperatures. The simulator's network (env/thermal.hpp), with q the
// heat into the die (soc_heat_fraction · board power, W), T_d the die, T_b the board:
//   C_d dT_d/dt = q - (T_d - T_b)/R_db          C_b dT_b/dt = (T_d - T_b)/R_db - (T_b - T_a)/R_ba
// Only T_d is sensed (the hottest zone; the simulator reports the die in every zone), so per
// window [t_a, t_b] of ~window_s:
//   1. die equation integrated exactly over the window (power is a per-period mean):
//        g = mean(T_d - T_b) = R_db · (mean q - C_d (T_d(t_b) - T_d(t_a)) / (t_b - t_a))
//   2. board mean B = mean(T_d) - g (trapezoid mean of the sampled die temperature);
//   3. board slope dB/dt by central difference of neighbouring windows' B (one-sided at the ends);
//   4. board equation solved for the ambient:  T_a = B - R_ba · (g / R_db - C_b · dB/dt).
// At steady state (dB/dt = 0, g = q·R_db) this is T_a = T_d - q (R_db + R_ba): the observed
// temperature minus the steady rise the parameters predict for the observed power. Step 3 is
// what lets a board with a ~250 s time constant track an ambient step within a few windows
// instead of lagging it by minutes. Estimates get a median of 3 windows (one window straddling an
// ambient step gives a spike), are rounded to quantum_c, and an event is emitted only on change.
AmbientEstimate ambient_from_trace(const ReplayLoad& ld, const env::ThermalParams& tp, double period_s,
                                   const AmbientOptions& o) {
  AmbientEstimate out;
  const std::int64_t t0 = ld.frames.empty() ? 0 : ld.frames.front().t_ns - static_cast<std::int64_t>(std::llround(period_s * 1e9));
  struct Pt { double t, td, q; bool ok; };
  std::vector<Pt> pts;
  pts.reserve(ld.frames.size());
  for (const auto& fr : ld.frames) {
    const auto& f = fr.frame;
    Pt p{static_cast<double>(fr.t_ns - t0) / 1e9, -1e9, 0, false};
    for (size_t z = 0; z < f.temp_mc.size(); ++z)
      if (f.temp_ok[z]) p.td = std::max(p.td, f.temp_mc[z] / 1000.0), out.has_temps = true;
    double pw = f.power_ok ? f.power_mw : 0.0;
    if (!f.power_ok && fr.has_current && o.config_power_mw) pw = o.config_power_mw(fr.current), out.frames_modelled_power += pw > 0;
    p.ok = p.td > -1e8 && pw > 0;
    p.q = tp.soc_heat_fraction * std::max(0.0, pw) * 1e-3;
    pts.push_back(p);
  }
  if (!out.has_temps) return out;
  const size_t n = std::max<size_t>(2, static_cast<size_t>(std::llround(o.window_s / period_s)));
  struct Win { double t_start, t_mid, b, g; };
  std::vector<Win> wins;
  for (size_t i0 = 0; i0 < pts.size(); i0 += n) {
    const size_t i1 = std::min(pts.size() - 1, i0 + n);  // windows share their edge frame
    ++out.windows_total;
    if (i1 <= i0) break;
    bool ok = true;
    for (size_t k = i0; k <= i1; ++k) ok = ok && pts[k].ok;
    if (!ok) {
      ++out.windows_no_power;
      continue;
    }
    const double span = pts[i1].t - pts[i0].t;
    if (span <= 0) continue;
    double q = 0, td = 0;
    for (size_t k = i0 + 1; k <= i1; ++k) {
      const double dt = pts[k].t - pts[k - 1].t;
      q += pts[k].q * dt;  // frame k's power is the mean over the period ending at t_k
      td += 0.5 * (pts[k].td + pts[k - 1].td) * dt;
    }
    q /= span, td /= span;
    const double g = tp.die_to_board_c_per_w * (q - tp.die_heat_capacity_j_per_c * (pts[i1].td - pts[i0].td) / span);
    wins.push_back({pts[i0].t - period_s, 0.5 * (pts[i0].t + pts[i1].t), td - g, g});
    if (i1 == pts.size() - 1) break;
  }
  std::vector<double> est(wins.size());
  for (size_t w = 0; w < wins.size(); ++w) {
    const size_t a = w == 0 ? 0 : w - 1, b = std::min(wins.size() - 1, w + 1);
    const double slope = b > a ? (wins[b].b - wins[a].b) / (wins[b].t_mid - wins[a].t_mid) : 0.0;
    est[w] = wins[w].b - tp.board_to_ambient_c_per_w * (wins[w].g / tp.die_to_board_c_per_w - tp.board_heat_capacity_j_per_c * slope);
  }
  double prev = 0;
  for (size_t w = 0; w < wins.size(); ++w) {
    double m = est[w];
    if (w > 0 && w + 1 < wins.size()) {
      double v[3] = {est[w - 1], est[w], est[w + 1]};
      std::sort(v, v + 3);
      m = v[1];
    }
    out.window_t_s.push_back(wins[w].t_mid);
    out.window_c.push_back(m);
    // The scenario format accepts -40..85 °C.
    const double qv = std::clamp(std::round(m / o.quantum_c) * o.quantum_c, -40.0, 85.0);
    if (w == 0) {
      out.initial_c = prev = qv;
    } else if (std::fabs(qv - prev) > 1e-9) {
      env::ScenarioEvent e;
      e.type = env::EventType::kAmbientC;
      e.t_s = std::max(0.0, wins[w].t_start);
      e.value = qv;
      out.events.push_back(e);
      prev = qv;
    }
  }
  return out;
}

namespace {

// Host runs: per-unit slowdowns observed in the block costs (sum over blocks relative to the
// unit's fastest period), quantised to 0.05 and kept when >= 1.10, become contention events.
env::Scenario scenario_from_host(const ReplayLoad& ld, const policies::PlatformDesc& p, double period_s) {
  env::Scenario sc;
  sc.name = "observed:" + ld.path;
  sc.decision_period_ms = std::round(period_s * 1000);
  // Scenario time 0 = one period before the first decision (the host clock counts from boot).
  const std::int64_t t0 = ld.frames.empty() ? 0 : ld.frames.front().t_ns - static_cast<std::int64_t>(std::llround(period_s * 1e9));
  sc.duration_s = ld.frames.empty() ? period_s : static_cast<double>(ld.frames.back().t_ns - t0) / 1e9;
  const int U = std::min(p.num_units(), policies::kMaxUnits);
  std::vector<double> base(static_cast<size_t>(U), 0.0);
  auto total = [](const policies::FrameRecord& f, int u) {
    double t = 0;
    if (u < f.cost_units)
      for (int b = 0; b < f.cost_blocks; ++b) t += f.cost_us[static_cast<size_t>(u * f.cost_blocks + b)];
    return t;
  };
  for (const auto& f : ld.frames)
    for (int u = 0; u < U; ++u)
      if (double t = total(f, u); t > 0 && (base[static_cast<size_t>(u)] == 0 || t < base[static_cast<size_t>(u)])) base[static_cast<size_t>(u)] = t;
  for (int u = 0; u < U; ++u) {
    double level = 1.0, since = 0;
    auto close = [&](double t_end) {
      if (level >= 1.10 && t_end > since) {
        env::ScenarioEvent e;
        e.type = env::EventType::kContention;
        e.unit = p.units[static_cast<size_t>(u)].letter;
        e.t_s = since;
        e.duration_s = t_end - since;
        e.slowdown = std::min(level, 100.0);
        sc.events.push_back(e);
      }
    };
    for (const auto& f : ld.frames) {
      const double t = total(f, u);
      if (t <= 0 || base[static_cast<size_t>(u)] <= 0) continue;
      const double q = std::round(t / base[static_cast<size_t>(u)] / 0.05) * 0.05;
      const double at = static_cast<double>(f.t_ns - t0) / 1e9;
      if (std::fabs(q - level) > 1e-9) {
        close(at);
        level = q, since = at;
      }
    }
    close(sc.duration_s);
  }
  std::stable_sort(sc.events.begin(), sc.events.end(), [](const auto& a, const auto& b) { return a.t_s < b.t_s; });
  return sc;
}

}  // namespace

std::vector<env::ScenarioEvent> pinned_temperatures(const ReplayLoad& ld, double period_s, double quantum_c) {
  std::vector<env::ScenarioEvent> out;
  const std::int64_t t0 = ld.frames.empty() ? 0 : ld.frames.front().t_ns - static_cast<std::int64_t>(std::llround(period_s * 1e9));
  double last = 1e300;
  for (const auto& fr : ld.frames) {
    double hottest = -1e300;
    for (size_t z = 0; z < fr.frame.temp_mc.size(); ++z)
      if (fr.frame.temp_ok[z]) hottest = std::max(hottest, fr.frame.temp_mc[z] / 1000.0);
    if (hottest < -1e299) continue;  // no valid zone this period: the last pin holds
    // The scenario format accepts -40..150 °C for a pinned die.
    const double q = std::clamp(std::round(hottest / quantum_c) * quantum_c, -40.0, 150.0);
    if (q == last) continue;
    env::ScenarioEvent e;
    e.type = env::EventType::kDieTempC;
    // From the start of the period whose end it was sensed at, so the simulated period ends at it.
    e.t_s = std::max(0.0, static_cast<double>(fr.t_ns - t0) / 1e9 - period_s);
    e.value = q;
    if (!out.empty() && out.back().t_s == e.t_s) out.back() = e;
    else out.push_back(e);
    last = q;
  }
  return out;
}

namespace {

// Turns observed temperatures into the scenario's ambient (initial value + kAmbientC events) when
// the counterfactual platform has a thermal model; *note says what happened ("" = no temps).
Status add_observed_ambient(const ReplayLoad& ld, const env::RunnerSetup& setup, double period_s, env::Scenario* sc,
                            std::string* note) {
  const policies::PlatformDesc& platform = setup.platform;
  auto tp = env::load_thermal_params(platform);
  if (!tp.ok()) return tp.status();
  AmbientOptions o;
  // No power sensor: the cost model's steady-state board power of the configuration in force.
  if (setup.cost)
    o.config_power_mw = [&setup](const policies::Config& c) {
      auto p = env::predict_pipeline(*setup.cost, c);
      return p.ok() ? p->power_mw : 0.0;
    };
  const AmbientEstimate amb = ambient_from_trace(ld, *tp, period_s, o);
  if (!amb.has_temps) return Status::Ok();
  if (thermal_model_inert(platform, *tp)) {
    // Nothing to invert: the observed temperatures themselves become the condition.
    const auto pins = pinned_temperatures(ld, period_s);
    sc->events.insert(sc->events.end(), pins.begin(), pins.end());
    std::stable_sort(sc->events.begin(), sc->events.end(), [](const auto& a, const auto& b) { return a.t_s < b.t_s; });
    *note = "temperatures observed and the platform has no thermal model: die pinned to them (" + std::to_string(pins.size()) +
            " die_temp_c events; they do not respond to the policy's power)";
  } else if (amb.window_c.empty()) {
    *note = "temperatures observed but no window has a sensed or modelled board power: not used";
  } else {
    sc->initial.ambient_c = amb.initial_c;
    sc->events.insert(sc->events.end(), amb.events.begin(), amb.events.end());
    std::stable_sort(sc->events.begin(), sc->events.end(), [](const auto& a, const auto& b) { return a.t_s < b.t_s; });
    *note = "ambient from observed temperatures: " + std::to_string(amb.events.size()) + " ambient_c events, " +
            std::to_string(amb.window_c.size()) + "/" + std::to_string(amb.windows_total) + " windows used" +
            (amb.frames_modelled_power > 0 ? ", " + std::to_string(amb.frames_modelled_power) + " frames with modelled power" : "");
  }
  return Status::Ok();
}

nlohmann::json metrics_json(const env::Metrics& m) { return env::to_json(m); }

}  // namespace

int run_counterfactual(const std::string& path, const std::string& policy, bool json, bool observed) {
  auto ld = load_replay(path);
  if (!ld.ok()) return fail(kExitRuntime, "replay: " + ld.status().message());
  if (!ld->has_frames || ld->frames.empty())
    return fail(kExitRuntime, "replay: " + path + " has no decision periods to rebuild conditions from" +
                                  (ld->id.mode == "import" ? " (an imported measurement)" : ""));
  auto setup = replay_setup(*ld, data_dir());
  if (!setup.ok()) return fail(kExitRuntime, "replay: " + path + ": " + setup.status().message());
  const double period_s = static_cast<double>(setup->run.controller.period_ns) / 1e9;
  SimRunRequest rq;
  std::string thermal_note;  // what became of observed temperatures (host runs)
  if (setup->host) {
    // The simulator's model of this machine is a host profile loaded as platform "host".
    auto r = env::make_runner_setup(data_dir(), "host", ld->id.model);
    if (!r.ok())
      return fail(kExitRuntime, "replay: --counterfactual of a host run needs a host profile as platform 'host' (hetsched profile): " +
                                    r.status().message());
    rq.setup = r.value();
    rq.scenario = scenario_from_host(*ld, setup->platform, period_s);
    if (Status st = add_observed_ambient(*ld, *rq.setup, period_s, &rq.scenario, &thermal_note); !st.ok())
      return fail(kExitRuntime, "replay: " + st.message());
  } else {
    if (!setup->has_scenario) return fail(kExitRuntime, "replay: " + path + " holds no scenario (metadata \"scenario\")");
    rq.setup = setup->runner;
    rq.scenario = setup->scenario;
    if (observed) {
      // As for a real run: the world's conditions come from what was sensed, the requirements
      // (targets, latency bound, power budget) and unit outages stay the recorded scenario's.
      const env::Scenario obs = scenario_from_host(*ld, setup->platform, period_s);
      std::erase_if(rq.scenario.events, [](const env::ScenarioEvent& e) {
        return e.type == env::EventType::kBackgroundLoad || e.type == env::EventType::kContention ||
               e.type == env::EventType::kAmbientC;
      });
      rq.scenario.events.insert(rq.scenario.events.end(), obs.events.begin(), obs.events.end());
      std::stable_sort(rq.scenario.events.begin(), rq.scenario.events.end(), [](const auto& a, const auto& b) { return a.t_s < b.t_s; });
      if (Status st = add_observed_ambient(*ld, *rq.setup, period_s, &rq.scenario, &thermal_note); !st.ok())
        return fail(kExitRuntime, "replay: " + st.message());
      if (thermal_note.empty()) thermal_note = "no temperatures observed: ambient kept from the scenario";
    }
  }
  rq.seed = ld->id.seeds.empty() ? 1 : ld->id.seeds[0];
  rq.policy = policy;
  char tmpl[] = "/tmp/hetsched_counterfactual_XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd < 0) return fail(kExitRuntime, "replay: cannot create a temporary trace in /tmp");
  ::close(fd);
  rq.record_path = tmpl;
  rq.producer = "hetsched replay --counterfactual";
  auto run = run_sim_controller(rq);
  if (!run.ok()) {
    std::remove(tmpl);
    return fail(run.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRuntime, "replay: " + run.status().message());
  }
  auto cf = load_replay(tmpl);
  std::remove(tmpl);
  if (!cf.ok()) return fail(kExitRuntime, "replay: counterfactual trace: " + cf.status().message());
  const env::Metrics rec_m = metrics_from_trace(*ld, setup->platform, period_s);
  const env::Metrics cf_m = metrics_from_trace(*cf, rq.setup->platform, period_s);
  if (json) {
    nlohmann::json j;
    j["trace"] = path;
    j["recorded_policy"] = ld->id.policy;
    j["policy"] = policy;
    j["scenario_events"] = rq.scenario.events.size();
    if (!thermal_note.empty()) j["temperatures"] = thermal_note;
    j["scenario"] = nlohmann::json::parse(scenario_json(rq.scenario));  // the conditions re-run
    j["recorded"] = metrics_json(rec_m);
    j["counterfactual"] = metrics_json(cf_m);
    j["counterfactual_simulator"] = metrics_json(run->metrics);  // the simulator's exact metrics
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("counterfactual %s: recorded policy %s vs %s, %zu scenario events, %.1f s\n", path.c_str(), ld->id.policy.c_str(),
                policy.c_str(), rq.scenario.events.size(), rq.scenario.duration_s);
    if (!thermal_note.empty()) std::printf("  %s\n", thermal_note.c_str());
    std::printf("  %-22s %14s %14s\n", "metric (from traces)", "recorded", "counterfactual");
    auto row = [](const char* k, double a, double b, const char* fmt) {
      char x[32], y[32];
      std::snprintf(x, sizeof x, fmt, a);
      std::snprintf(y, sizeof y, fmt, b);
      std::printf("  %-22s %14s %14s\n", k, x, y);
    };
    row("fps_mean", rec_m.fps_mean, cf_m.fps_mean, "%.3f");
    row("qos_violation_pct", rec_m.qos_violation_pct, cf_m.qos_violation_pct, "%.2f");
    row("energy_per_frame_mj", rec_m.energy_per_frame_mj, cf_m.energy_per_frame_mj, "%.2f");
    row("avg_power_mw", rec_m.avg_power_mw, cf_m.avg_power_mw, "%.1f");
    row("peak_temp_c", rec_m.peak_temp_c, cf_m.peak_temp_c, "%.2f");
    row("throttled_pct", rec_m.throttled_pct, cf_m.throttled_pct, "%.2f");
    row("reconfigs", static_cast<double>(rec_m.reconfigs), static_cast<double>(cf_m.reconfigs), "%.0f");
    row("frames", static_cast<double>(rec_m.frames), static_cast<double>(cf_m.frames), "%.0f");
    row("dropped_frames", static_cast<double>(rec_m.dropped_frames), static_cast<double>(cf_m.dropped_frames), "%.0f");
  }
  return kExitOk;
}

}  // namespace hetsched::tools
