#include "env/sim.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hetsched::env {

using policies::UnitKind;

namespace {
std::int64_t ms_to_ns(double ms) noexcept { return static_cast<std::int64_t>(std::llround(ms * 1e6)); }
}  // namespace

Result<Simulator> Simulator::create(std::shared_ptr<const SimCosts> costs, const ThermalParams& thermal,
                                    const SimOptions& o) {
  if (!costs) return Error(StatusCode::kInvalidArgument, "Simulator: no cost model");
  if (o.queue_capacity < 1 || o.queue_capacity > kQueueMax)
    return Error(StatusCode::kInvalidArgument, "SimOptions.queue_capacity must be in [1, 8]");
  if (!(o.time_cov >= 0 && o.time_cov <= 0.5) || !(o.power_cov >= 0 && o.power_cov <= 0.5))
    return Error(StatusCode::kInvalidArgument, "SimOptions.time_cov / power_cov must be in [0, 0.5]");
  if (o.thermal_tick_ms < 0 || o.thermal_tick_ms > 10000)
    return Error(StatusCode::kInvalidArgument, "SimOptions.thermal_tick_ms must be in [0, 10000]");
  if (!(o.reconfig_setup_ms >= 0 && o.reconfig_setup_ms <= 1e5))
    return Error(StatusCode::kInvalidArgument, "SimOptions.reconfig_setup_ms must be in [0, 1e5]");
  const auto& p = costs->platform();
  if (p.num_units() < 1 || p.num_units() > kMaxUnits)
    return Error(StatusCode::kInvalidArgument, "platform " + p.name + ": needs 1..6 units");
  if (p.zones.size() > static_cast<size_t>(kMaxObsZones))
    return Error(StatusCode::kInvalidArgument, "platform " + p.name + ": more than 8 thermal zones");
  // Validate the thermal parameters now so reset() can only fail on the scenario.
  auto net = ThermalNetwork::create(thermal, {});
  if (!net.ok()) return net.status();
  auto gov = StepWiseGovernor::create(p, thermal, {});
  if (!gov.ok()) return gov.status();
  Simulator s;
  s.costs_ = std::move(costs);
  s.opt_ = o;
  s.thermal_params_ = thermal;
  s.net_ = std::move(net.value());
  s.gov_ = std::move(gov.value());
  s.num_units_ = p.num_units();
  s.num_zones_ = static_cast<int>(p.zones.size());
  s.rng_.init(o.time_cov, o.power_cov);
  return s;
}

Status Simulator::reset(const Scenario& scenario, std::uint64_t seed) {
  const auto& p = platform();
  HETSCHED_RETURN_IF_ERROR(validate_scenario(scenario, p));
  scenario_ = scenario;
  const int period_ms = static_cast<int>(scenario.decision_period_ms);
  // Thermal tick: the shortest passive polling interval (so step_wise runs at its real rate),
  // shrunk to divide the decision period so every period holds whole ticks.
  int tick_ms = opt_.thermal_tick_ms;
  if (tick_ms == 0) {
    tick_ms = 100;
    for (size_t z = 0; z < p.zones.size(); ++z)
      if (z < thermal_params_.zones.size()) tick_ms = std::min(tick_ms, thermal_params_.zones[z].polling_passive_ms);
  }
  tick_ms = std::gcd(std::max(1, tick_ms), period_ms);
  auto net = ThermalNetwork::create(thermal_params_, {tick_ms * 1e-3});
  if (!net.ok()) return net.status();
  auto gov = StepWiseGovernor::create(p, thermal_params_, {tick_ms});
  if (!gov.ok()) return gov.status();
  net_ = std::move(net.value());
  gov_ = std::move(gov.value());
  change_s_ = change_points(scenario);
  change_ns_.clear();
  for (double c : change_s_) change_ns_.push_back(ms_to_ns(c * 1000));
  next_change_ = 0;
  rng_.seed(seed);

  period_ns_ = std::int64_t{period_ms} * 1000000;
  tick_ns_ = std::int64_t{tick_ms} * 1000000;
  num_periods_ = static_cast<int>(std::ceil(scenario.duration_s * 1000.0 / period_ms - 1e-9));
  period_index_ = 0;
  t_ns_ = 0;
  next_tick_ns_ = tick_ns_;
  last_acc_ns_ = 0;

  have_config_ = draining_ = setup_pending_ = false;
  config_ = pending_ = policies::Config{};
  num_stages_ = 0;
  st_ = {};
  busy_mask_ = 0;
  setup_done_ns_ = kNever;
  for (int u = 0; u < kMaxUnits; ++u) {
    req_opp_[u] = act_opp_[u] = to_opp_[u] = 0;  // boards idle at their lowest OPP
    dvfs_done_ns_[u] = kNever;
    dyn1_mw_[u] = u < num_units_ ? costs_->dynamic_power_mw(u, 0, 1.0) : 0;
  }
  acc_.reset();
  truth_ = PeriodTruth{};
  obs_ = Observation{};
  cond_version_ = 0;

  scen_cond_ = conditions_at(scenario_, p, 0.0);
  // Warm start: the idle steady state, iterated because leakage depends on temperature.
  double die = scen_cond_.ambient_c, board = scen_cond_.ambient_c;
  if (opt_.start_warm) {
    std::array<std::int8_t, kMaxUnits> opp8{};
    for (int i = 0; i < 20; ++i) {
      const double pw = costs_->board_idle_mw(opp8, die);
      die = net_.steady_die_c(pw, scen_cond_.ambient_c);
      board = net_.steady_board_c(pw, scen_cond_.ambient_c);
    }
  }
  net_.reset(die, board);
  arrival_period_ns_ = 0;
  next_arrival_ns_ = kNever;
  next_arrival_f_ = 0;
  refresh_conditions(false);
  if (cond_.target_fps > 0) {
    arrival_period_ns_ = 1e9 / cond_.target_fps;
    next_arrival_f_ = 0;
    next_arrival_ns_ = 0;
  }
  return Status::Ok();
}

void Simulator::refresh_conditions(bool scenario_changed) noexcept {
  const double old_fps = cond_.target_fps;
  if (scenario_changed) scen_cond_ = conditions_at(scenario_, platform(), now_s());
  cond_ = scen_cond_;
  for (int u = 0; u < num_units_; ++u) cond_.unit[u].max_opp = gov_.cap(u);
  // A pinned die (die_temp_c event): the sensed temperature is a condition, not a state.
  pinned_ = pinned_die_c(scenario_, now_s(), &pin_c_);
  if (pinned_) net_.reset(pin_c_, net_.board_c());
  cond_.die_temp_c = net_.die_c();
  ++cond_version_;
  if (scenario_changed && cond_.target_fps != old_fps) {
    // A new frame rate takes effect from the next frame of the periodic source.
    if (cond_.target_fps <= 0) {
      next_arrival_ns_ = kNever;
      arrival_period_ns_ = 0;
    } else {
      const double last = next_arrival_f_ - arrival_period_ns_;
      arrival_period_ns_ = 1e9 / cond_.target_fps;
      next_arrival_f_ = std::max(static_cast<double>(t_ns_), old_fps > 0 ? last + arrival_period_ns_ : 0.0);
      next_arrival_ns_ = static_cast<std::int64_t>(std::ceil(next_arrival_f_));
    }
  }
  if (have_config_) recompute_stages();
}

Status Simulator::apply(const policies::Config& c) noexcept {
  const auto& p = platform();
  if (c.num_blocks != costs_->num_blocks())
    return Error(StatusCode::kInvalidArgument, "config has " + std::to_string(c.num_blocks) + " blocks, the model " +
                                                   std::to_string(costs_->num_blocks()));
  int stages = 0;
  for (int b = 0; b < c.num_blocks; ++b) {
    const int u = p.unit_index(c.unit[b]);
    if (u < 0) return Error(StatusCode::kInvalidArgument, "config block " + std::to_string(b) + ": unknown unit '" + std::string(1, c.unit[b]) + "'");
    const auto k = p.units[u].kind;
    const char h = k == UnitKind::kGpu ? c.gpu_host : (k == UnitKind::kNpu ? c.npu_host : 0);
    if (h && p.unit_index(h) < 0) return Error(StatusCode::kInvalidArgument, "config: unknown host unit '" + std::string(1, h) + "'");
    if (b == 0 || c.unit[b] != c.unit[b - 1]) ++stages;
  }
  if (!c.per_block_freq && stages > kMaxStages)
    return Error(StatusCode::kInvalidArgument, "config has " + std::to_string(stages) + " stages (at most 16)");
  auto same_placement = [](const policies::Config& a, const policies::Config& b) {
    return a.unit == b.unit && a.gpu_host == b.gpu_host && a.npu_host == b.npu_host &&
           a.per_block_freq == b.per_block_freq && !a.per_block_freq;
  };
  if (!have_config_) {
    build_stages(c);
    config_ = c;
    have_config_ = true;
    set_requested(c);
    update_dvfs_targets(t_ns_);
    recompute_stages();
    return Status::Ok();
  }
  if (draining_) {
    if (same_placement(c, config_)) {  // changed its mind: cancel the drain
      draining_ = setup_pending_ = false;
      setup_done_ns_ = kNever;
    } else {
      pending_ = c;
      return Status::Ok();
    }
  }
  if (c == config_) return Status::Ok();
  if (same_placement(c, config_)) {
    config_ = c;
    set_requested(c);
    update_dvfs_targets(t_ns_);
    return Status::Ok();
  }
  pending_ = c;
  draining_ = true;
  ++p_reconfigs_;
  return Status::Ok();
}

void Simulator::set_requested(const policies::Config& cfg) noexcept {
  const auto& p = platform();
  for (int u = 0; u < num_units_; ++u) {
    if (!p.units[u].has_dvfs()) continue;
    // Switch mode: per-block OPPs are part of the serial stage's time and power; between
    // blocks the cluster-level OPP (idle power, telemetry) is the lowest, as predict_switch assumes.
    const int r = cfg.per_block_freq ? 0 : cfg.freq_idx[u];
    if (r >= 0) req_opp_[u] = std::min(r, p.units[u].max_opp());  // -1: leave the unit as it is
  }
  p_dvfs_ = true;
}

void Simulator::build_stages(const policies::Config& c) noexcept {
  const auto& p = platform();
  // Frames waiting at the input survive a reconfiguration (they are the camera's buffer).
  Stage in = st_[0];
  const int old_in = num_stages_ > 0 ? in.q_len : 0;
  st_ = {};
  num_stages_ = 0;
  auto host_of = [&](int u) {
    const auto k = p.units[u].kind;
    return k == UnitKind::kGpu ? p.unit_index(c.gpu_host) : (k == UnitKind::kNpu ? p.unit_index(c.npu_host) : -1);
  };
  for (int b = 0; b < c.num_blocks; ++b) {
    const int u = p.unit_index(c.unit[b]);
    if (c.per_block_freq) {
      if (b == 0) {
        num_stages_ = 1;
        st_[0].unit = u, st_[0].first = 0, st_[0].end = c.num_blocks;
      }
      st_[0].mask |= static_cast<std::uint8_t>(1u << u);
      st_[0].need |= static_cast<std::uint8_t>(1u << u);
      if (host_of(u) >= 0) st_[0].need |= static_cast<std::uint8_t>(1u << host_of(u));
      continue;
    }
    if (b == 0 || c.unit[b] != c.unit[b - 1]) {
      Stage& s = st_[num_stages_++];
      s.unit = u, s.host = host_of(u), s.first = b;
      s.mask = static_cast<std::uint8_t>(1u << u);
      s.need = static_cast<std::uint8_t>(s.mask | (s.host >= 0 ? 1u << s.host : 0u));
    }
    st_[num_stages_ - 1].end = b + 1;
  }
  for (int i = 0; i < old_in; ++i) push_q(st_[0], in.q[(in.q_head + i) % kQueueMax]);
}

void Simulator::recompute_stages() noexcept {
  const auto& p = platform();
  const auto& c = config_;
  for (int u = 0; u < num_units_; ++u) dyn1_mw_[u] = costs_->dynamic_power_mw(u, act_opp_[u], 1.0);
  for (int s = 0; s < num_stages_; ++s) {
    Stage& st = st_[s];
    st.share.fill(0);
    if (!c.per_block_freq) {
      const int u = st.unit, h = st.host;
      const int hopp = h >= 0 ? act_opp_[h] : 0;
      double t = 0;
      for (int b = st.first; b < st.end; ++b) t += costs_->block_time_ms(b, u, act_opp_[u], h, hopp);
      t *= cond_.unit[u].slowdown;
      // A stage pays the hand-off of its input from the previous stage's unit, as
      // predict_pipeline counts it, so per-unit busy times agree with the static prediction.
      if (s > 0) t += costs_->transfer_ms(st.first - 1, st_[s - 1].unit, u);
      t += costs_->stage_overhead_ms(u, act_opp_[u], h, hopp, s == 0);
      double wait = 0;  // hand-over wait: part of the service time without dynamic power
      t += costs_->stage_handoff_ms(st.first, st.end, s > 0 ? st_[s - 1].unit : -1, u, s + 1 < num_stages_ ? st_[s + 1].unit : -1, &wait);
      st.base_ms = t;
      st.share[u] = 1;
      // Host driver threads: counted in utilisation (1 core of the host); their power is the
      // fitted host_drive_mw (as in predict_pipeline).
      st.active_mw = (dyn1_mw_[u] + (h >= 0 ? costs_->host_drive_mw(u, h, hopp) : 0.0)) * (t > 0 ? (t - wait) / t : 1.0);
      if (h >= 0) st.share[h] += static_cast<float>(1.0 / std::max(1, p.units[h].cores));
      continue;
    }
    // Switch mode: one serial stage (the terms predict_switch sums): the frame's input stage,
    // each block at its own (thermally capped) OPP, a DVFS transition whenever a unit's or a
    // G/N host's OPP differs from the one it was last set to, transfers between units. The
    // loop is cyclic: the previous frame's last OPP is where each unit starts.
    std::array<int, kMaxUnits> last{};
    last.fill(-1);
    auto opp_of = [&](int b, int* u, int* h, int* opp, int* hopp) {
      *u = p.unit_index(c.unit[b]);
      const auto k = p.units[*u].kind;
      *h = k == UnitKind::kGpu ? p.unit_index(c.gpu_host) : (k == UnitKind::kNpu ? p.unit_index(c.npu_host) : -1);
      auto capped = [&](int unit, int want) { return p.units[unit].has_dvfs() ? std::min(std::max(want, 0), gov_.cap(unit)) : 0; };
      *opp = capped(*u, k == UnitKind::kNpu ? 0 : c.block_freq[b]);
      *hopp = *h < 0 ? 0 : capped(*h, k == UnitKind::kGpu ? c.block_host_freq[b] : c.block_freq[b]);
    };
    for (int b = 0; b < c.num_blocks; ++b) {
      int u, h, opp, hopp;
      opp_of(b, &u, &h, &opp, &hopp);
      last[u] = opp;
      if (h >= 0) last[h] = hopp;
    }
    double total = 0, energy = 0;
    std::array<double, kMaxUnits> on{};
    auto set_opp = [&](int unit, int opp) {
      if (unit < 0 || !p.units[unit].has_dvfs()) return 0.0;
      const double d = last[unit] >= 0 && last[unit] != opp ? costs_->dvfs_delay_ms(unit, last[unit], opp) : 0.0;
      last[unit] = opp;
      return d;
    };
    for (int b = 0; b < c.num_blocks; ++b) {
      int u, h, opp, hopp;
      opp_of(b, &u, &h, &opp, &hopp);
      if (b == 0) {  // the frame is read and preprocessed on the cluster driving block 0
        const int iu = h >= 0 ? h : u, iopp = h >= 0 ? hopp : opp;
        const double ti = costs_->input_ms(iu, iopp);
        total += ti, energy += ti * costs_->dynamic_power_mw(iu, iopp, 1.0), on[iu] += ti;
      }
      double t = set_opp(u, opp) + set_opp(h, hopp);
      if (b > 0 && c.unit[b] != c.unit[b - 1]) t += costs_->transfer_ms(b - 1, p.unit_index(c.unit[b - 1]), u);
      double tb = costs_->switch_block_ms(b, u, opp, h, hopp) * cond_.unit[u].slowdown;
      // Each contiguous accelerator segment pays the invocation cost (h >= 0: G/N). The CPU
      // stage hand-off of pipeline mode has no counterpart in a serial run.
      if (h >= 0 && (b == 0 || c.unit[b] != c.unit[b - 1])) tb += costs_->stage_overhead_ms(u, opp, h, hopp, false);
      total += t + tb;
      energy += tb * costs_->block_active_mw(b, u, opp, h, hopp);
      on[u] += tb;
    }
    st.base_ms = total;
    st.active_mw = total > 0 ? energy / total : 0;
    for (int u = 0; u < num_units_; ++u) st.share[u] = static_cast<float>(total > 0 ? on[u] / total : 0);
  }
}

void Simulator::update_dvfs_targets(std::int64_t t) noexcept {
  const auto& p = platform();
  for (int u = 0; u < num_units_; ++u) {
    if (!p.units[u].has_dvfs() || dvfs_done_ns_[u] != kNever) continue;  // in flight: re-checked on completion
    const int target = std::min(req_opp_[u], gov_.cap(u));
    if (target == act_opp_[u]) continue;
    to_opp_[u] = target;
    // The unit keeps running at the old OPP until the transition completes.
    dvfs_done_ns_[u] = t + std::max<std::int64_t>(1, ms_to_ns(costs_->dvfs_delay_ms(u, act_opp_[u], target)));
  }
}

void Simulator::push_q(Stage& st, std::int64_t arrival) noexcept {
  st.q[(st.q_head + st.q_len) % kQueueMax] = arrival;
  ++st.q_len;
}

std::int64_t Simulator::pop_q(Stage& st) noexcept {
  const std::int64_t a = st.q[st.q_head];
  st.q_head = (st.q_head + 1) % kQueueMax;
  --st.q_len;
  return a;
}

bool Simulator::pipeline_empty() const noexcept {
  for (int s = 0; s < num_stages_; ++s)
    if (st_[s].busy || st_[s].reserved || (s > 0 && st_[s].q_len > 0)) return false;
  return true;
}

void Simulator::try_start(std::int64_t t) noexcept {
  if (!have_config_ || setup_pending_) return;
  std::uint8_t offline = 0;
  for (int u = 0; u < num_units_; ++u)
    if (!cond_.unit[u].online) offline |= static_cast<std::uint8_t>(1u << u);
  const int cap = opt_.queue_capacity;
  for (int s = num_stages_ - 1; s >= 0; --s) {
    Stage& st = st_[s];
    if (st.busy || (st.need & offline) || (st.mask & busy_mask_)) continue;
    if (s == 0 && draining_) continue;
    if (s + 1 < num_stages_ && st_[s + 1].q_len + (st_[s + 1].reserved ? 1 : 0) >= cap) continue;
    std::int64_t t0;
    if (st.q_len > 0) t0 = pop_q(st);
    else if (s == 0 && cond_.target_fps <= 0) t0 = t, ++truth_.frames_in;  // as fast as possible: pull a frame
    else continue;
    st.busy = true;
    st.start_ns = st.acc_from_ns = t;
    st.frame_t0_ns = t0;
    st.done_ns = t + std::max<std::int64_t>(1, ms_to_ns(st.base_ms * rng_.time_factor()));
    busy_mask_ |= st.mask;
    if (s + 1 < num_stages_) st_[s + 1].reserved = true;
  }
}

void Simulator::finish_stage(int s, std::int64_t t) noexcept {
  Stage& st = st_[s];
  st.busy_ns_tick += static_cast<double>(t - st.acc_from_ns);
  st.busy = false;
  st.done_ns = kNever;
  busy_mask_ &= static_cast<std::uint8_t>(~st.mask);
  st.svc_sum_ms += (t - st.start_ns) * 1e-6;
  ++st.svc_n;
  if (s + 1 < num_stages_) {
    st_[s + 1].reserved = false;
    push_q(st_[s + 1], st.frame_t0_ns);
    return;
  }
  const double lat = (t - st.frame_t0_ns) * 1e-6, ts = t * 1e-9;
  if (p_frames_ == 0) p_first_s_ = ts;
  p_last_s_ = ts;
  ++p_frames_;
  p_lat_sum_ms_ += lat;
  p_max_lat_ms_ = std::max(p_max_lat_ms_, lat);
  ++truth_.frames_done;
}

void Simulator::accrue_busy(std::int64_t t) noexcept {
  for (int s = 0; s < num_stages_; ++s)
    if (st_[s].busy) {
      st_[s].busy_ns_tick += static_cast<double>(t - st_[s].acc_from_ns);
      st_[s].acc_from_ns = t;
    }
}

}  // namespace hetsched::env
