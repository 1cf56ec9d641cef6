// Simulator::step(): the event loop of one decision period, the thermal tick and the
// period's bookkeeping (split from sim.cpp to keep files readable in one sitting).
#include <algorithm>
#include <cmath>

#include "env/sim.hpp"

namespace hetsched::env {

double Simulator::board_power_mw() const noexcept {
  // P = idle(OPPs, T_die) + Σ_stages active_mw·busy + Σ_units dyn(u, 1)·bg_u·(1 - util_u):
  // background threads add power only in the time our stages leave the unit idle, because a
  // unit already fully busy cannot draw more dynamic power by time sharing.
  std::array<std::int8_t, kMaxUnits> opp8{};
  for (int u = 0; u < num_units_; ++u) opp8[u] = static_cast<std::int8_t>(act_opp_[u]);
  double p = costs_->board_idle_mw(opp8, net_.die_c());
  std::array<double, kMaxUnits> util{};
  const double inv = 1.0 / static_cast<double>(tick_ns_);
  for (int s = 0; s < num_stages_; ++s) {
    const double f = st_[s].busy_ns_tick * inv;
    p += st_[s].active_mw * f;
    for (int u = 0; u < num_units_; ++u) util[u] += f * st_[s].share[u];
  }
  for (int u = 0; u < num_units_; ++u)
    p += dyn1_mw_[u] * cond_.unit[u].bg_util * std::max(0.0, 1.0 - util[u]);
  return p;
}

void Simulator::on_tick(std::int64_t t) noexcept {
  accrue_busy(t);
  const double dt_s = static_cast<double>(tick_ns_) * 1e-9;
  const double p = board_power_mw();
  period_energy_mj_ += p * dt_s;  // mW·s = mJ
  const double inv = 1.0 / static_cast<double>(tick_ns_);
  for (int s = 0; s < num_stages_; ++s) {
    const double f = st_[s].busy_ns_tick * inv;
    for (int u = 0; u < num_units_; ++u)
      p_util_s_[u] += dt_s * std::min(1.0, f * st_[s].share[u]);
    st_[s].busy_ns_tick = 0;
  }
  for (int u = 0; u < num_units_; ++u) p_util_s_[u] += dt_s * cond_.unit[u].bg_util;
  if (gov_.any_capped()) period_throttled_s_ += dt_s;
  net_.tick(p, cond_.ambient_c);
  if (pinned_) net_.reset(pin_c_, net_.board_c());  // held by a die_temp_c event
  cond_.die_temp_c = net_.die_c();
  // Every zone's sensor reads the die node (one package; see docs/simulator.md).
  std::array<double, kMaxZones> temps;
  temps.fill(net_.die_c());
  if (gov_.evaluate(t / 1000000, temps.data())) {
    for (int u = 0; u < num_units_; ++u) cond_.unit[u].max_opp = gov_.cap(u);
    ++cond_version_;
    update_dvfs_targets(t);
    if (config_.per_block_freq && have_config_) recompute_stages();
  }
}

const Observation& Simulator::step() noexcept {
  if (done()) return obs_;
  const std::int64_t t1 = t_ns_ + period_ns_;
  for (int s = 0; s < num_stages_; ++s) st_[s].svc_sum_ms = 0, st_[s].svc_n = 0;
  p_frames_ = p_dropped_ = 0;
  p_first_s_ = p_last_s_ = p_max_lat_ms_ = p_lat_sum_ms_ = 0;
  period_energy_mj_ = period_throttled_s_ = 0;
  p_util_s_.fill(0);

  try_start(t_ns_);
  for (;;) {
    // Next event: a linear scan over at most 16 stages + 6 units + 4 timers beats a heap here
    // (no allocation, branch-predictable, cache-resident). Ties resolve in scan order.
    std::int64_t t = t1 + 1;
    int kind = -1, which = 0;
    for (int s = 0; s < num_stages_; ++s)
      if (st_[s].done_ns < t) t = st_[s].done_ns, kind = 0, which = s;
    for (int u = 0; u < num_units_; ++u)
      if (dvfs_done_ns_[u] < t) t = dvfs_done_ns_[u], kind = 1, which = u;
    if (setup_done_ns_ < t) t = setup_done_ns_, kind = 2;
    if (next_change_ < change_ns_.size() && change_ns_[next_change_] < t) t = change_ns_[next_change_], kind = 3;
    if (next_arrival_ns_ < t) t = next_arrival_ns_, kind = 4;
    if (next_tick_ns_ < t) t = next_tick_ns_, kind = 5;
    if (kind < 0) break;
    t_ns_ = t;
    switch (kind) {
      case 0: finish_stage(which, t); break;
      case 1:
        act_opp_[which] = to_opp_[which];
        dvfs_done_ns_[which] = kNever;
        // Frames already in service keep their start-time speed; new ones see the new OPP.
        accrue_busy(t);
        recompute_stages();
        update_dvfs_targets(t);
        break;
      case 2: {
        setup_done_ns_ = kNever;
        setup_pending_ = draining_ = false;
        build_stages(pending_);
        config_ = pending_;
        set_requested(config_);
        update_dvfs_targets(t);
        recompute_stages();
        break;
      }
      case 3:
        ++next_change_;
        refresh_conditions(true);
        break;
      case 4:
        // A frame that finds the input queue full (or no pipeline configured yet) is dropped.
        ++truth_.frames_in;
        if (have_config_ && st_[0].q_len < opt_.queue_capacity) {
          push_q(st_[0], t);
        } else {
          ++p_dropped_;
          ++truth_.frames_dropped;
        }
        next_arrival_f_ += arrival_period_ns_;
        next_arrival_ns_ = static_cast<std::int64_t>(std::ceil(next_arrival_f_));
        break;
      case 5:
        on_tick(t);
        next_tick_ns_ += tick_ns_;
        break;
    }
    if (draining_ && !setup_pending_ && pipeline_empty()) {
      // Drained: pay the re-setup (fixed graph setup + moving each relocated block's tensors).
      const auto& p = platform();
      double ms = opt_.reconfig_setup_ms;
      for (int b = 0; b < pending_.num_blocks; ++b)
        if (pending_.unit[b] != config_.unit[b])
          ms += costs_->transfer_ms(b, p.unit_index(config_.unit[b]), p.unit_index(pending_.unit[b]));
      setup_pending_ = true;
      setup_done_ns_ = t + std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(ms * 1e6)));
    }
    try_start(t);
  }
  t_ns_ = t1;

  // Period bookkeeping.
  PeriodSample& ps = truth_.sample;
  ps.t_start_s = static_cast<double>(t1 - period_ns_) * 1e-9;
  ps.period_s = static_cast<double>(period_ns_) * 1e-9;
  ps.frames = p_frames_;
  ps.first_done_s = p_first_s_;
  ps.last_done_s = p_last_s_;
  ps.max_latency_ms = p_max_lat_ms_;
  ps.energy_mj = period_energy_mj_ * rng_.power_factor();  // the meter's reading
  ps.max_temp_c = net_.die_c();
  ps.throttled_s = period_throttled_s_;
  ps.dropped = p_dropped_;
  ps.reconfigs = p_reconfigs_;  // includes apply() calls made just before this step
  p_reconfigs_ = 0;
  ps.target_fps = cond_.target_fps;
  ps.latency_bound_ms = cond_.max_latency_ms;
  ps.power_budget_mw = cond_.power_budget_mw;
  truth_.verdict = acc_.add(ps);
  truth_.conditions = cond_;
  truth_.dvfs_changed = p_dvfs_;
  p_dvfs_ = false;
  int in_sys = 0;
  for (int s = 0; s < num_stages_; ++s) in_sys += st_[s].q_len + (st_[s].busy ? 1 : 0);
  truth_.frames_in_system = in_sys;

  const auto& p = platform();
  Observation& o = obs_;
  o.t_s = static_cast<double>(t1) * 1e-9;
  o.period_s = ps.period_s;
  o.num_stages = num_stages_;
  o.stage_latency_ms.fill(0);
  o.queue_depth.fill(0);
  for (int s = 0; s < num_stages_; ++s) {
    o.stage_latency_ms[s] = st_[s].svc_n > 0 ? st_[s].svc_sum_ms / st_[s].svc_n : 0;
    o.queue_depth[s] = st_[s].q_len;
  }
  o.fps = truth_.verdict.fps;
  o.latency_ms = p_frames_ > 0 ? p_lat_sum_ms_ / p_frames_ : 0;
  o.max_latency_ms = p_max_lat_ms_;
  o.frames = p_frames_;
  o.dropped = p_dropped_;
  o.reconfiguring = draining_;
  o.num_units = num_units_;
  for (int u = 0; u < num_units_; ++u) {
    const auto& ud = p.units[u];
    o.freq_khz[u] = ud.has_dvfs() ? ud.opps[act_opp_[u]].freq_khz : 0;
    o.max_freq_khz[u] = ud.has_dvfs() ? ud.opps[gov_.cap(u)].freq_khz : 0;
    o.util[u] = std::min(1.0, p_util_s_[u] / ps.period_s);
  }
  o.num_zones = num_zones_;
  for (int z = 0; z < num_zones_; ++z) o.zone_temp_c[z] = net_.die_c();
  o.power_mw = truth_.verdict.power_mw;
  o.target_fps = cond_.target_fps;
  o.max_latency_target_ms = cond_.max_latency_ms;
  o.power_budget_mw = cond_.power_budget_mw;
  ++period_index_;
  return o;
}

}  // namespace hetsched::env
