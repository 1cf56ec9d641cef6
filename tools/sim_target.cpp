#include "tools/sim_target.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tools/recorder.hpp"

namespace hetsched::tools {

Result<std::unique_ptr<SimTarget>> SimTarget::create(std::shared_ptr<env::RunnerSetup> setup, const env::Scenario& scenario,
                                                     const policies::Config& initial, ManualClock& clock,
                                                     const SimTargetOptions& o) {
  if (!setup) return Error(StatusCode::kInvalidArgument, "SimTarget: no runner setup");
  if (scenario.decision_period_ms <= 0)
    return Error(StatusCode::kInvalidArgument, "SimTarget: scenario decision_period_ms must be > 0");
  auto sim = env::Simulator::create(setup->costs, setup->thermal, o.sim);
  if (!sim.ok()) return sim.status();
  std::unique_ptr<SimTarget> t(new SimTarget());
  t->sim_ = std::make_unique<env::Simulator>(std::move(sim.value()));
  HETSCHED_RETURN_IF_ERROR(t->sim_->reset(scenario, o.seed));
  if (Status st = t->sim_->apply(initial); !st.ok()) return Error(st.code(), "initial configuration: " + st.message());
  t->setup_ = std::move(setup);
  t->clock_ = &clock;
  t->sink_ = o.sink;
  t->scenario_source_ = o.scenario_source;
  t->det_ = std::make_unique<env::OfflineDetector>(t->setup_->platform);
  t->cfg_ = initial;
  t->last_.current = initial;
  t->period_ns_ = static_cast<std::int64_t>(std::llround(scenario.decision_period_ms * 1e6));
  t->cond_seen_ = t->sim_->conditions_version();
  t->violated_.reserve(static_cast<size_t>(scenario.duration_s * 1e3 / scenario.decision_period_ms) + 2);
  clock.set_ns(0);
  return t;
}

bool SimTarget::advance() noexcept {
  if (sim_->done()) return false;
  const double t0_s = sim_->now_s();
  const env::Observation& o = sim_->step();
  const env::PeriodTruth& tr = sim_->truth();
  if (violated_.size() < violated_.capacity()) violated_.push_back(tr.verdict.qos_counted && tr.verdict.violated ? 1 : 0);
  const std::int64_t now = static_cast<std::int64_t>(std::llround(sim_->now_s() * 1e9));
  clock_->set_ns(now);
  // The same bridge env::run_scenario uses, once per period (the detector counts periods).
  env::frame_from_observation(o, &last_.frame);
  last_.mask = det_->update(o, cfg_);
  last_.t_ns = now;
  last_.current = cfg_;
  last_.guard.sensors_ok = true;
  last_.guard.has_temp = o.num_zones > 0;
  double hottest = -1e9;
  for (int z = 0; z < o.num_zones; ++z) hottest = std::max(hottest, o.zone_temp_c[static_cast<size_t>(z)]);
  last_.guard.max_temp_mc = o.num_zones > 0 ? static_cast<int>(std::lround(hottest * 1000.0)) : 0;
  last_.guard.frames = static_cast<std::uint64_t>(std::max<std::int64_t>(0, tr.frames_done));
  if (sink_) {
    try {
      // A partly capped period: its capped time (kThrottleNotePrefix), exact to the bit.
      bool capped_at_end = false;
      const policies::PlatformDesc& p = setup_->platform;
      for (int u = 0; u < p.num_units() && u < policies::kMaxUnits; ++u) {
        const auto& d = p.units[static_cast<size_t>(u)];
        const auto cap = o.max_freq_khz[static_cast<size_t>(u)];
        if (d.has_dvfs() && cap > 0 && cap < d.opps.back().freq_khz) capped_at_end = true;
      }
      const double whole = capped_at_end ? tr.sample.period_s : 0.0;
      if (tr.sample.throttled_s != whole) {
        char text[64];
        std::snprintf(text, sizeof text, "%s%a", kThrottleNotePrefix, tr.sample.throttled_s);
        sink_->on_event(telemetry::Event{now, telemetry::EventKind::kNote, scenario_source_, text});
      }
      // Scenario events that fired in this period, in the scenario file's schema.
      const auto& evs = sim_->scenario().events;
      for (const auto& e : evs)
        if (e.t_s >= t0_s && e.t_s < sim_->now_s())
          sink_->on_event(telemetry::Event{static_cast<std::int64_t>(std::llround(e.t_s * 1e9)), telemetry::EventKind::kScenario,
                                           scenario_source_, scenario_event_json(e)});
    } catch (...) {  // out of memory while recording: the run goes on
    }
  }
  return true;
}

Status SimTarget::observe(runtime::ControlSample* out) noexcept {
  *out = last_;
  return Status::Ok();
}

Status SimTarget::apply(const policies::Config& c) noexcept {
  // A configuration the simulator refuses keeps the last one (as env::run_scenario does).
  Status st = sim_->apply(c);
  if (st.ok()) {
    cfg_ = c;
    last_.current = c;
  }
  return st;
}

namespace {

class SimOracle final : public policies::Controller {
 public:
  SimOracle(std::shared_ptr<env::RunnerSetup> s, const SimTarget& t) : s_(std::move(s)), t_(&t) {}
  std::string_view name() const noexcept override { return "oracle"; }
  void reset(const policies::Config& initial) noexcept override {
    c_ = initial;
    seen_ = t_->sim().conditions_version();
  }
  // Re-plans on every change of the hidden conditions, like `hetsched sim --policy oracle`.
  const policies::Config& decide(const policies::TelemetryFrame&, const policies::MaskInput&) noexcept override {
    if (t_->sim().conditions_version() != seen_) {
      seen_ = t_->sim().conditions_version();
      if (s_->oracle->query(t_->sim().conditions(), &best_).ok()) c_ = best_.config;
    }
    return c_;
  }

 private:
  std::shared_ptr<env::RunnerSetup> s_;
  const SimTarget* t_;
  policies::Config c_{};
  env::OracleResult best_;
  std::uint64_t seen_ = 0;
};

}  // namespace

std::unique_ptr<policies::Controller> make_sim_oracle(std::shared_ptr<env::RunnerSetup> setup, const SimTarget& target) {
  return std::make_unique<SimOracle>(std::move(setup), target);
}

policies::Config oracle_start(env::RunnerSetup& setup, SimTarget& target, const policies::Config& initial) {
  env::OracleResult r;
  if (!setup.oracle->query(target.sim().conditions(), &r).ok() || r.config == initial) return initial;
  return target.apply(r.config).ok() ? r.config : initial;
}

runtime::GuardOptions sim_guard_options(const policies::PlatformDesc& p) {
  runtime::GuardOptions g;
  // The simulated step_wise governor handles the passive trips; the guard is the last resort
  // at the critical trip (the lowest one over the zones), as on a device.
  int critical = 0;
  for (const auto& z : p.zones)
    for (const auto& t : z.trips)
      if (t.type == "critical" && (critical == 0 || t.temp_mc < critical)) critical = t.temp_mc;
  g.trip_temp_mc = critical > 0 ? critical : 95000;
  g.miss_burst = 0;  // no per-frame deadline in the simulator's telemetry
  return g;
}

}  // namespace hetsched::tools
