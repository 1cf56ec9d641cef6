// The exact oracle's search. docs/oracle.md has the derivation; the short version:
//
// A pipeline config = an order (distinct units u_1..u_k), hosts for its accelerators, one OPP
// per DVFS unit, and split points 0 = b_0 < b_1 < ... < b_k = n. With the order, hosts and
// the OPPs of the units that matter fixed, stage s costs t_s = slow_u (P[b_s] - P[b_{s-1}]) +
// F(key) + (first stage: input I(key), else the transfer X(b_{s-1} - 1, u_{s-1}, u_s)), and
// adds D'_s t_s to S = sum_s D'_s t_s, D'_s = stage power minus the background load it
// displaces (oracle_table.hpp). Per frame:
//   target F > 0: E = base / F + S / 1000, needs every t_s <= 1000 / F;
//   target 0:     E = (base T + S) / 1000 with T = max_s t_s (the pipeline runs flat out).
// This file: create/prepare, the per-query tables, the phases of a query and the walk over
// orders, hosts and OPPs. The DP over split points (labels, dominance, leaves) is in
// oracle_dp.cpp.
#include "env/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace hetsched::env {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::int64_t binom_sat(int n, int k, std::int64_t cap) {
  if (k < 0 || n < k) return 0;
  std::int64_t r = 1;
  for (int i = 1; i <= k; ++i) {
    r = r * (n - k + i) / i;
    if (r > cap) return cap;
  }
  return r;
}

Status bad(const std::string& field, double v, const char* rule) {
  return Error(StatusCode::kInvalidArgument, "oracle: conditions." + field + " = " + std::to_string(v) + " (" + rule + ")");
}

}  // namespace

Result<Oracle> Oracle::create(OracleTable table, const Options& options) {
  Oracle o;
  o.t_ = std::move(table);
  HETSCHED_RETURN_IF_ERROR(o.prepare(options));
  return o;
}

Status Oracle::prepare(const Options& options) {
  if (options.max_labels_per_cell < 1)
    return Error(StatusCode::kInvalidArgument, "oracle: Options.max_labels_per_cell must be >= 1");
  if (!t_.base_power) return Error(StatusCode::kInvalidArgument, "oracle: table has no base_power callback");
  const int n = t_.num_blocks, U = t_.num_units;
  if (n < 1 || U < 1 || t_.time_prefix.size() != static_cast<size_t>(t_.num_keys()) * (n + 1))
    return Error(StatusCode::kInvalidArgument, "oracle: table not sized (call OracleTable::resize)");
  opt_ = options;
  std::int64_t combos = 1;
  for (int u = 0; u < U; ++u) {
    stride_[static_cast<size_t>(u)] = static_cast<int>(combos);
    combos *= t_.units[static_cast<size_t>(u)].num_opps;
    if ((combos << U) > options.max_base_entries)
      return Error(StatusCode::kOutOfRange, "oracle: 2^units x OPP combinations exceeds Options.max_base_entries (" +
                                                std::to_string(options.max_base_entries) + ")");
  }
  combos_ = static_cast<int>(combos);
  base_.assign(static_cast<size_t>(combos) << U, kInf);
  eff_.assign(static_cast<size_t>(t_.num_keys()), 0.0);
  base_arg_.assign(base_.size(), 0);

  // Label pools: level s = stages 0..s covering blocks [0, j); at most C(j-1, s) partitions.
  for (int s = 0; s < U; ++s) {
    auto& off = off_[static_cast<size_t>(s)];
    auto& cap = cap_[static_cast<size_t>(s)];
    off.assign(static_cast<size_t>(n + 2), 0);
    cap.assign(static_cast<size_t>(n + 1), 0);
    cnt_[static_cast<size_t>(s)].assign(static_cast<size_t>(n + 1), 0);
    for (int j = 0; j <= n; ++j) {
      cap[static_cast<size_t>(j)] = static_cast<int>(binom_sat(j - 1, s, options.max_labels_per_cell));
      off[static_cast<size_t>(j + 1)] = off[static_cast<size_t>(j)] + cap[static_cast<size_t>(j)];
    }
    pool_[static_cast<size_t>(s)].assign(static_cast<size_t>(off[static_cast<size_t>(n + 1)]), Label{});
  }
  return Status::Ok();
}

// D' per key for this query: the stage power minus the background load its time displaces on
// its unit and (driver thread, 1 / cores) on its host. Negative D' voids the "energy only
// grows" bound, so pruning by bound is switched off for such queries.
void Oracle::compute_stage_power(const Conditions& cond) noexcept {
  negative_ = false;
  double disp_max = 0;  // mW: the most background power one stage displaces
  for (int u = 0; u < t_.num_units; ++u) {
    const OracleUnit& d = t_.units[static_cast<size_t>(u)];
    for (int o = 0; o < d.num_opps; ++o)
      for (int h = 0; h < (d.accel ? t_.num_units : 1); ++h)
        for (int ho = 0; ho < (d.accel ? t_.units[static_cast<size_t>(h)].num_opps : 1); ++ho) {
          const int key = t_.key_of(u, o, h, ho);
          double w = t_.stage_power_mw[static_cast<size_t>(key)] -
                     t_.unit_power_mw[static_cast<size_t>(u * t_.max_opps + o)] * cond.unit[static_cast<size_t>(u)].bg_util;
          if (d.accel && (d.host_mask >> h & 1u))
            w -= t_.unit_power_mw[static_cast<size_t>(h * t_.max_opps + ho)] * cond.unit[static_cast<size_t>(h)].bg_util /
                 std::max(1, t_.units[static_cast<size_t>(h)].cores);
          eff_[static_cast<size_t>(key)] = w;
          negative_ = negative_ || w < 0;
          disp_max = std::max(disp_max, t_.stage_power_mw[static_cast<size_t>(key)] - w);
        }
  }
  // A stage adds D (t - wait) - disp t = D' (t - wait) - disp wait >= -disp wait (t >= wait, D' >= 0):
  // with background load the later stages' sum may go below 0 by at most (units - 1) wait_max disp_max.
  double wait_max = 0;
  for (double v : t_.handoff_wait) wait_max = std::max(wait_max, v);
  slack_ = (t_.num_units - 1) * wait_max * disp_max;
}

void Oracle::compute_base(const Conditions& cond) noexcept {
  const int U = t_.num_units;
  std::fill(base_.begin(), base_.end(), kInf);
  base_lo_ = kInf;
  double& base_hi = base_hi_;
  base_hi = -kInf;
  std::array<int, kMaxUnits> d{};
  for (int c = 0; c < combos_; ++c) {
    bool allowed = true;
    for (int u = 0; u < U; ++u) {
      d[static_cast<size_t>(u)] = c / stride_[static_cast<size_t>(u)] % t_.units[static_cast<size_t>(u)].num_opps;
      allowed = allowed && d[static_cast<size_t>(u)] <= cap_opp_[static_cast<size_t>(u)];
    }
    if (!allowed) continue;
    const double v = t_.base_power(opp_vector_for_base(t_, d), cond);
    base_lo_ = std::min(base_lo_, v);
    base_hi = std::max(base_hi, v);
    // Units outside the mask do not touch the placement: the best of their OPPs is the one
    // with the least base power, so the search reads min over them in O(1).
    for (std::uint32_t m = 0; m < (1u << U); ++m) {
      int key = 0;
      for (int u = 0; u < U; ++u)
        if (m >> u & 1u) key += d[static_cast<size_t>(u)] * stride_[static_cast<size_t>(u)];
      const size_t at = static_cast<size_t>(m) * combos_ + key;
      if (v < base_[at]) base_[at] = v, base_arg_[at] = c;
    }
  }
}

Status Oracle::query(const Conditions& cond, OracleResult* out) noexcept {
  if (out == nullptr) return Error(StatusCode::kInvalidArgument, "oracle: null result");
  auto ok_num = [](double v) { return std::isfinite(v) && v >= 0; };
  if (!ok_num(cond.target_fps)) return bad("target_fps", cond.target_fps, "fps, finite and >= 0; 0 = as fast as possible");
  if (!ok_num(cond.max_latency_ms)) return bad("max_latency_ms", cond.max_latency_ms, "ms, finite and >= 0; 0 = no bound");
  if (!ok_num(cond.power_budget_mw)) return bad("power_budget_mw", cond.power_budget_mw, "mW, finite and >= 0; 0 = no budget");
  if (!std::isfinite(cond.die_temp_c)) return bad("die_temp_c", cond.die_temp_c, "degC, finite");
  bool any = false;
  for (int u = 0; u < t_.num_units; ++u) {
    const UnitConditions& uc = cond.unit[static_cast<size_t>(u)];
    if (!(std::isfinite(uc.slowdown) && uc.slowdown > 0))
      return bad("unit[" + std::to_string(u) + "].slowdown", uc.slowdown, "factor, finite and > 0");
    if (!(uc.bg_util >= 0 && uc.bg_util <= 1))
      return bad("unit[" + std::to_string(u) + "].bg_util", uc.bg_util, "fraction in [0, 1]");
    const OracleUnit& o = t_.units[static_cast<size_t>(u)];
    cap_opp_[static_cast<size_t>(u)] = std::clamp(uc.max_opp, 0, o.num_opps - 1);
    any = any || (uc.online && !o.accel);
  }
  if (!any) return Error(StatusCode::kUnavailable, "oracle: no CPU unit is online (every order needs one to run or host)");
  cond_ = &cond;
  budget_ = cond.power_budget_mw;
  compute_base(cond);
  compute_stage_power(cond);
  overflow_ = false;
  leaves_ = 0;

  // Phase 0 (flat out, or when phase 1 finds nothing): the smallest bottleneck T*.
  double t_star = -1;
  auto bottleneck = [&]() {
    use_L_ = use_T_ = use_budget_ = false;
    budget_ = l_max_ = 0;
    search(Mode::kBottleneck, false);
    t_star = have_best_ ? best_obj_ : kInf;
  };
  // Phase 1: least energy among configurations meeting every set constraint.
  bool seeded = false;
  double seed_obj = kInf;
  policies::Config seed{};
  if (cond.target_fps <= 0) {
    // Flat out, the (S, T) label sets are wide and the bound needs an incumbent: seed it with
    // the least-energy configs whose stages fit tau in {1, 1.5, 2.5} x T* (cheap, one label
    // per cell), evaluated as they really run (flat out).
    bottleneck();
    if (!(t_star < kInf)) return Error(StatusCode::kUnavailable, "oracle: no unit can run the model under these conditions");
    for (double f : {1.0, 1.5, 2.5}) {
      F_ = 1000.0 / (t_star * f);
      t_lim_ = t_star * f * (1 + 1e-9);
      search(Mode::kEnergy, false);
      if (!have_best_) continue;
      const OracleEval e = evaluate_config(t_, cond, best_);
      const bool ok = e.valid && (cond.max_latency_ms <= 0 || e.latency_ms <= cond.max_latency_ms) &&
                      (cond.power_budget_mw <= 0 || e.power_mw <= cond.power_budget_mw);
      if (ok && e.energy_mj < seed_obj) seed_obj = e.energy_mj, seed = best_, seeded = true;
    }
  }
  F_ = cond.target_fps;
  t_lim_ = F_ > 0 ? 1000.0 / F_ * (1 + 1e-12) : kInf;
  budget_ = cond.power_budget_mw;
  l_max_ = cond.max_latency_ms;
  use_L_ = l_max_ > 0;
  use_T_ = F_ <= 0;
  use_budget_ = F_ <= 0 && budget_ > 0;
  if (seeded) {
    have_best_ = true;
    best_obj_ = seed_obj * (1 + 1e-12);  // the search may re-find it (same config, rounding)
    best_ = seed;
  }
  // Relax first: the latency bound and (flat out) the budget widen the label sets. The
  // optimum without them, if it happens to meet them, is the optimum with them.
  if (use_L_ || use_budget_) {
    use_L_ = use_budget_ = false;
    const double budget = budget_, l_max = l_max_;
    budget_ = l_max_ = 0;
    search(Mode::kEnergy, seeded);
    budget_ = budget;
    l_max_ = l_max;
    use_L_ = l_max_ > 0;
    use_budget_ = F_ <= 0 && budget_ > 0;
    if (have_best_) {
      const OracleEval e = evaluate_config(t_, cond, best_);
      if (e.valid && (l_max_ <= 0 || e.latency_ms <= l_max_) && (budget_ <= 0 || e.power_mw <= budget_)) {
        finish(cond, out);
        out->feasible = true;
        return Status::Ok();
      }
    }
    have_best_ = seeded;  // the relaxed optimum is infeasible: back to the feasible seed
    best_obj_ = seeded ? seed_obj * (1 + 1e-12) : kInf;
    best_ = seed;
  }
  search(Mode::kEnergy, seeded);
  if (have_best_) {
    finish(cond, out);
    out->feasible = true;
    return Status::Ok();
  }
  // Phase 2: nothing qualifies. T* (if not known yet) ...
  if (t_star < 0) bottleneck();
  if (!(t_star < kInf)) return Error(StatusCode::kUnavailable, "oracle: no unit can run the model under these conditions");
  // ... then the least energy among configurations running that fast. They deliver the
  // target when T* meets it (the failed constraint was latency or power), else 1000 / T*.
  use_L_ = use_T_ = use_budget_ = false;
  budget_ = l_max_ = 0;
  const bool target_met = cond.target_fps > 0 && t_star <= 1000.0 / cond.target_fps * (1 + 1e-12);
  F_ = target_met ? cond.target_fps : (t_star > 0 ? 1000.0 / t_star : 0);
  t_lim_ = t_star * (1 + 1e-9);
  search(Mode::kEnergy, false);
  finish(cond, out);
  out->feasible = false;
  return Status::Ok();
}

void Oracle::search(Mode mode, bool keep_incumbent) noexcept {
  mode_ = mode;
  if (!keep_incumbent) {
    have_best_ = false;
    best_obj_ = kInf;
  }
  if (mode == Mode::kBottleneck) t_lim_ = kInf;
  choose_tracked();
  // Tracked hosts give back at most w_max P of background power per frame: the bound uses
  // base_lo - sum w_max (base_b_), the budget rule c_hi + sum w_max.
  double w_sum = 0;
  for (int q = 0; q < n_tracked_; ++q) {
    const int h = tracked_[static_cast<size_t>(q)];
    double w = 0;
    for (int o = 0; o <= cap_opp_[static_cast<size_t>(h)]; ++o)
      w = std::max(w, t_.unit_power_mw[static_cast<size_t>(h * t_.max_opps + o)] * cond_->unit[static_cast<size_t>(h)].bg_util);
    w_sum += w;
  }
  c_budget_ = std::max(0.0, budget_ - base_lo_ + w_sum);
  base_b_ = base_lo_ - w_sum;
  bounded_ = !negative_ && base_b_ >= 0;
  cur_.fill(-1);
  host_of_.fill(-1);
  ord_.len = 0;
  for (int u = 0; u < t_.num_units; ++u)
    if (cond_->unit[static_cast<size_t>(u)].online) grow(0, u, 0);
}

// Hosts whose utilisation may pass 1 (own stage + driver threads of accelerators) and that
// carry background load: only for them is max(0, 1 - util_h) not linear in the stage times,
// so their busy time becomes a label dimension. Chosen per query for every order (tracking
// a host that never saturates is still exact, just more labels).
void Oracle::choose_tracked() noexcept {
  slot_.fill(-1);
  n_tracked_ = 0;
  if (mode_ == Mode::kBottleneck) return;
  for (int h = 0; h < t_.num_units; ++h) {
    if (cond_->unit[static_cast<size_t>(h)].bg_util <= 0 || t_.units[static_cast<size_t>(h)].accel) continue;
    bool hosts = false;
    for (int u = 0; u < t_.num_units; ++u)
      hosts = hosts || (t_.units[static_cast<size_t>(u)].accel && (t_.units[static_cast<size_t>(u)].host_mask >> h & 1u));
    if (!hosts) continue;
    if (n_tracked_ == kMaxTracked) {
      overflow_ = true;  // more CPU hosts than slots: flagged rather than silently wrong
      continue;
    }
    slot_[static_cast<size_t>(h)] = n_tracked_;
    tracked_[static_cast<size_t>(n_tracked_++)] = h;
  }
}

// Stage s runs on unit u: choose its host (accelerators), then its OPPs; close the pipeline
// here (leaf) and, if blocks and units remain, extend the DP one level and grow further.
// Orders sharing a prefix share its DP levels (the order space is walked as a trie).
void Oracle::grow(int s, int u, std::uint32_t mask) noexcept {
  const OracleUnit& d = t_.units[static_cast<size_t>(u)];
  ord_.unit[static_cast<size_t>(s)] = static_cast<std::int8_t>(u);
  ord_.len = s + 1;
  if (!d.accel) return with_opps(s, u, mask | 1u << u);
  for (int h = 0; h < t_.num_units; ++h) {
    if (!(d.host_mask >> h & 1u) || !cond_->unit[static_cast<size_t>(h)].online) continue;
    host_of_[static_cast<size_t>(u)] = h;
    ord_.len = s + 1;
    with_opps(s, u, mask | 1u << u | 1u << h);
  }
  host_of_[static_cast<size_t>(u)] = -1;
}

void Oracle::with_opps(int s, int u, std::uint32_t mask) noexcept {
  const OracleUnit& d = t_.units[static_cast<size_t>(u)];
  const int h = d.accel ? host_of_[static_cast<size_t>(u)] : -1;
  const bool own = d.dvfs && cur_[static_cast<size_t>(u)] < 0;
  const bool host = h >= 0 && t_.units[static_cast<size_t>(h)].dvfs && cur_[static_cast<size_t>(h)] < 0;
  const int own_hi = own ? cap_opp_[static_cast<size_t>(u)] : 0;
  const int host_hi = host ? cap_opp_[static_cast<size_t>(h)] : 0;
  const bool more = s + 1 < t_.num_blocks && s + 1 < t_.num_units;
  for (int a = 0; a <= own_hi; ++a) {
    if (own) cur_[static_cast<size_t>(u)] = a;
    for (int b = 0; b <= host_hi; ++b) {
      if (host) cur_[static_cast<size_t>(h)] = b;
      const int opp = std::max(0, cur_[static_cast<size_t>(u)]);
      const int key = h < 0 ? t_.key_of(u, opp, 0, 0) : t_.key_of(u, opp, h, std::max(0, cur_[static_cast<size_t>(h)]));
      ord_.len = s + 1;
      mask_ = mask;
      leaf(key);
      if (!more) continue;
      // Stage s's time depends on the next unit only through the hand-over O[., u, v]: one
      // level serves every next unit without it, then one rebuilt level per next unit with it
      // (grow(s + 1, ...) overwrites only deeper levels, so the shared level stays valid).
      // Bound: later stages only add energy (and base >= its minimum); void with negative D'
      // or tracked hosts (their displaced background power is subtracted at the leaf).
      // level_lb_ is read right after its build_level (deeper levels overwrite it).
      bool built = false, any_out = false, pruned = false;
      for (int v = 0; v < t_.num_units; ++v) {
        if (in_order(v, s) || !cond_->unit[static_cast<size_t>(v)].online) continue;
        if (t_.has_out[static_cast<size_t>(u * t_.num_units + v)]) {
          any_out = true;
          continue;
        }
        if (!built) {
          build_level(s, key, -1);
          built = true;
          pruned = !(level_lb_ < best_obj_ || (!bounded_ && level_lb_ < kInf));
        }
        if (pruned) break;
        grow(s + 1, v, mask);
      }
      for (int v = 0; v < t_.num_units && any_out; ++v) {
        if (in_order(v, s) || !cond_->unit[static_cast<size_t>(v)].online) continue;
        if (!t_.has_out[static_cast<size_t>(u * t_.num_units + v)]) continue;
        build_level(s, key, v);
        if (!(level_lb_ < best_obj_ || (!bounded_ && level_lb_ < kInf))) continue;
        grow(s + 1, v, mask);
      }
    }
  }
  if (own) cur_[static_cast<size_t>(u)] = -1;
  if (host) cur_[static_cast<size_t>(h)] = -1;
}

bool Oracle::in_order(int v, int upto) const noexcept {
  for (int s = 0; s <= upto; ++s)
    if (ord_.unit[static_cast<size_t>(s)] == v) return true;
  return false;
}

void Oracle::finish(const Conditions& cond, OracleResult* out) noexcept {
  const OracleEval ev = evaluate_config(t_, cond, best_);
  out->config = best_;
  out->exact = !overflow_;
  out->fps = ev.fps;
  out->latency_ms = ev.latency_ms;
  out->bottleneck_ms = ev.bottleneck_ms;
  out->power_mw = ev.power_mw;
  out->energy_mj = ev.energy_mj;
  out->leaves = leaves_;
}

}  // namespace hetsched::env
