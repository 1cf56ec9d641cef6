// The oracle's dynamic program over split points (see oracle.cpp for the search around it).
// The forward DP keeps, per (stage s, end block j), the Pareto set of labels (S, T, L = sum t,
// X = busy time of tracked hosts): only the dimensions the query's objective and constraints
// can still distinguish (dominates()), so with a target and no latency bound it is one label
// per cell. Derivations: docs/oracle.md section 3.
#include <algorithm>
#include <cmath>
#include <limits>

#include "env/oracle.hpp"

namespace hetsched::env {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

// a may replace b when a's every completion is at least as good and at least as feasible as
// b's. Target 0: the objective Phi = base P + S - sum_h w_h min(X_h, P) (P = final bottleneck)
// grows with P at a slope of at most base_hi and falls with X, so a slower a still wins if its
// S is lower by base_hi (T_a - T_b). With a budget, power = Phi / P <= budget, i.e.
// S - c P - sum_h w_h min(X_h, P) <= 0 with c = budget - base: a faster a keeps b's
// feasibility if its S is lower by C (T_b - T_a), C = max(0, c_hi + sum_h w_h,max) (c_budget_).
// docs/oracle.md has the derivation.
bool Oracle::dominates(const Label& a, const Label& b) const noexcept {
  if (mode_ == Mode::kBottleneck) return a.T <= b.T;
  if (a.S > b.S) return false;
  if (use_T_) {
    if (a.T > b.T && a.S > b.S - base_hi_ * (a.T - b.T)) return false;
    if (use_budget_ && a.T < b.T && a.S > b.S - c_budget_ * (b.T - a.T)) return false;
  }
  if (use_L_ && a.L > b.L) return false;
  // Tracked hosts: more busy time displaces more background power (never worse).
  for (int q = 0; q < n_tracked_; ++q)
    if (a.X[static_cast<size_t>(q)] < b.X[static_cast<size_t>(q)]) return false;
  return true;
}

bool Oracle::insert(int s, int j, const Label& l) noexcept {
  Label* cell = pool_[static_cast<size_t>(s)].data() + off_[static_cast<size_t>(s)][static_cast<size_t>(j)];
  int& n = cnt_[static_cast<size_t>(s)][static_cast<size_t>(j)];
  for (int i = 0; i < n; ++i)
    if (dominates(cell[i], l)) return false;
  for (int i = 0; i < n;) {
    if (dominates(l, cell[i])) cell[i] = cell[--n];
    else ++i;
  }
  if (n == cap_[static_cast<size_t>(s)][static_cast<size_t>(j)]) {
    overflow_ = true;  // cannot keep it: the result is no longer guaranteed exact
    return false;
  }
  cell[n++] = l;
  return true;
}

// Lower bound on the final objective of a label: later stages only add to S (minus at most
// slack_ from hand-over waits under background load), T and L (when no D' < 0), the base power is at least its minimum over the allowed OPPs, and tracked hosts
// give back at most w_max per ms of period (base_b_ = base_lo - sum w_max).
double Oracle::bound(const Label& l) const noexcept {
  if (mode_ == Mode::kBottleneck) return l.T;
  return F_ > 0 ? base_b_ / F_ + (l.S - slack_) / 1000.0 : (base_b_ * l.T + l.S - slack_) / 1000.0;
}

// Stage power for the DP: D' (eff_) with the displacement of tracked hosts added back (it is
// subtracted exactly, saturated, at the leaf from the X dimensions).
Oracle::StageAdj Oracle::stage_adj(int u, int key) const noexcept {
  StageAdj a;
  a.D = eff_[static_cast<size_t>(key)];
  a.D_wait = t_.stage_power_mw[static_cast<size_t>(key)];
  const OracleUnit& d = t_.units[static_cast<size_t>(u)];
  a.own_slot = slot_[static_cast<size_t>(u)];
  if (a.own_slot >= 0)
    a.D += t_.unit_power_mw[static_cast<size_t>(u * t_.max_opps + std::max(0, cur_[static_cast<size_t>(u)]))] *
           cond_->unit[static_cast<size_t>(u)].bg_util;
  if (d.accel) {
    const int h = host_of_[static_cast<size_t>(u)];
    a.host_slot = slot_[static_cast<size_t>(h)];
    a.host_coef = 1.0 / std::max(1, t_.units[static_cast<size_t>(h)].cores);
    if (a.host_slot >= 0)
      a.D += t_.unit_power_mw[static_cast<size_t>(h * t_.max_opps + std::max(0, cur_[static_cast<size_t>(h)]))] *
             cond_->unit[static_cast<size_t>(h)].bg_util * a.host_coef;
  }
  return a;
}

Oracle::Label Oracle::extend(const Label& prev, const StageAdj& a, double t, double wait, int i, int q) const noexcept {
  Label l{prev.S + a.D * t - a.D_wait * wait, std::max(prev.T, t), prev.L + t, i, q, prev.X};
  if (a.own_slot >= 0) l.X[static_cast<size_t>(a.own_slot)] += t;
  if (a.host_slot >= 0) l.X[static_cast<size_t>(a.host_slot)] += t * a.host_coef;
  return l;
}

// Longest useful stage: the fps target's period; flat out, also incumbent * 1000 / base_lo,
// because a bottleneck T costs at least base_lo T / 1000 mJ per frame (when S >= 0).
double Oracle::stage_limit() const noexcept {
  if (mode_ == Mode::kBottleneck) return best_obj_;
  if (F_ <= 0 && bounded_ && have_best_ && base_b_ > 0) return std::min(t_lim_, (best_obj_ * 1000.0 + slack_) / base_b_);
  return t_lim_;
}

// next_unit: the unit of stage s + 1 (its hand-over cost O[j - 1, u, next] lengthens stage s),
// or -1 when no hand-over to any next unit is charged (the table has none from u).
void Oracle::build_level(int s, int key, int next_unit) noexcept {
  const int n = t_.num_blocks;
  const int u = ord_.unit[static_cast<size_t>(s)];
  const int prev_unit = s > 0 ? ord_.unit[static_cast<size_t>(s - 1)] : 0;
  const double* p = t_.prefix(key);
  const double slow = cond_->unit[static_cast<size_t>(u)].slowdown;
  const StageAdj adj = stage_adj(u, key);
  const Label start{0, 0, 0, 0, 0, {}};
  // Later stages only add energy (base >= its minimum) unless D' < 0 or hosts are tracked.
  const double lim = stage_limit();
  const double fixed = t_.stage_fixed_ms[static_cast<size_t>(key)], first = t_.first_fixed_ms[static_cast<size_t>(key)];
  level_lb_ = kInf;
  // Stage s ends at j in [s+1, n-1] (a later stage needs a block); stage s-1 ends at i in [s, j-1].
  for (int j = s + 1; j <= n - 1; ++j) {
    cnt_[static_cast<size_t>(s)][static_cast<size_t>(j)] = 0;
    const double out = next_unit >= 0 ? t_.xout(j - 1, u, next_unit) : 0.0;  // constant in i
    if (s == 0) {  // the first stage starts at block 0, reads the frame, receives nothing
      const double t = slow * (p[j] - p[0]) + fixed + first + out;
      const Label l = extend(start, adj, t, 0.0, 0, 0);
      if (bounded_ && bound(l) >= best_obj_) continue;
      if (t <= lim && insert(0, j, l)) level_lb_ = std::min(level_lb_, bound(l));
      continue;
    }
    for (int i = j - 1; i >= s; --i) {
      const double c = slow * (p[j] - p[i]) + fixed + out;
      if (c > lim) break;  // earlier starts only make the compute longer (transfers are >= 0)
      const double t = c + t_.xfer(i - 1, prev_unit, u);
      if (t > lim) continue;
      const Label* prev = pool_[static_cast<size_t>(s - 1)].data() + off_[static_cast<size_t>(s - 1)][static_cast<size_t>(i)];
      const int pn = cnt_[static_cast<size_t>(s - 1)][static_cast<size_t>(i)];
      const double wait = t_.xwait(i - 1, prev_unit, u);
      for (int q = 0; q < pn; ++q) {
        const Label l = extend(prev[q], adj, t, wait, i, q);
        if (use_L_ && l.L > l_max_) continue;
        if (bounded_ && bound(l) >= best_obj_) continue;  // cannot beat the incumbent
        if (insert(s, j, l)) level_lb_ = std::min(level_lb_, bound(l));
      }
    }
  }
}

void Oracle::leaf(int key) noexcept {
  ++leaves_;
  const int n = t_.num_blocks, k = ord_.len;
  const int u = ord_.unit[static_cast<size_t>(k - 1)];
  int mkey = 0;
  for (int v = 0; v < t_.num_units; ++v)
    if (mask_ >> v & 1u) mkey += std::max(0, cur_[static_cast<size_t>(v)]) * stride_[static_cast<size_t>(v)];
  const double base = base_[static_cast<size_t>(mask_) * combos_ + mkey];
  if (!(base < kInf)) return;
  std::array<double, kMaxTracked> w{};  // background power a tracked host can give back (mW)
  for (int q = 0; q < n_tracked_; ++q) {
    const int h = tracked_[static_cast<size_t>(q)];
    w[static_cast<size_t>(q)] = t_.unit_power_mw[static_cast<size_t>(h * t_.max_opps + std::max(0, cur_[static_cast<size_t>(h)]))] *
                                cond_->unit[static_cast<size_t>(h)].bg_util;
  }
  const double* p = t_.prefix(key);
  const double slow = cond_->unit[static_cast<size_t>(u)].slowdown;
  const StageAdj adj = stage_adj(u, key);
  const int prev_unit = k > 1 ? ord_.unit[static_cast<size_t>(k - 2)] : 0;
  const Label start{0, 0, 0, 0, 0, {}};
  const double lim = stage_limit();
  const double fixed = t_.stage_fixed_ms[static_cast<size_t>(key)], first = t_.first_fixed_ms[static_cast<size_t>(key)];
  for (int i = (k == 1 ? 0 : n - 1); i >= k - 1; --i) {
    const double c = slow * (p[n] - p[i]) + fixed;
    if (c > lim) break;
    const double t = c + (k > 1 ? t_.xfer(i - 1, prev_unit, u) : first);
    if (t > lim) continue;
    const Label* prev = k == 1 ? &start : pool_[static_cast<size_t>(k - 2)].data() + off_[static_cast<size_t>(k - 2)][static_cast<size_t>(i)];
    const int pn = k == 1 ? 1 : cnt_[static_cast<size_t>(k - 2)][static_cast<size_t>(i)];
    const double wait = k > 1 ? t_.xwait(i - 1, prev_unit, u) : 0.0;
    for (int q = 0; q < pn; ++q) {
      const Label l = extend(prev[q], adj, t, wait, i, q);
      double obj;
      if (mode_ == Mode::kBottleneck) {
        obj = l.T;
      } else {
        if (use_L_ && l.L > l_max_) continue;
        // Period P (ms per frame) and the saturated background power the tracked hosts give back.
        const double P = F_ > 0 ? 1000.0 / F_ : l.T;
        double disp = 0;
        for (int z = 0; z < n_tracked_; ++z) disp += w[static_cast<size_t>(z)] * std::min(l.X[static_cast<size_t>(z)], P);
        obj = (base * P + l.S - disp) / 1000.0;
        if (budget_ > 0 && !(P > 0 && obj * 1000.0 / P <= budget_)) continue;
      }
      if (obj < best_obj_) record(key, i, q, obj);
    }
  }
}

// Rebuilds the config of a new best from the backpointers (before later leaves overwrite them).
void Oracle::record(int /*key_last*/, int i, int idx, double objective) noexcept {
  have_best_ = true;
  best_obj_ = objective;
  const int n = t_.num_blocks, k = ord_.len;
  policies::Config& c = best_;
  c = policies::Config{};
  c.num_blocks = n;
  int end = n, begin = i;
  for (int s = k - 1; s >= 0; --s) {
    if (s < k - 1) {
      const Label& l = pool_[static_cast<size_t>(s)][static_cast<size_t>(off_[static_cast<size_t>(s)][static_cast<size_t>(end)] + idx)];
      begin = s == 0 ? 0 : l.from_i;
      idx = l.from_idx;
    }
    for (int b = begin; b < end; ++b) c.unit[static_cast<size_t>(b)] = t_.units[static_cast<size_t>(ord_.unit[static_cast<size_t>(s)])].letter;
    end = begin;
  }
  const int full = base_arg_[static_cast<size_t>(mask_) * combos_ + [&] {
    int m = 0;
    for (int v = 0; v < t_.num_units; ++v)
      if (mask_ >> v & 1u) m += std::max(0, cur_[static_cast<size_t>(v)]) * stride_[static_cast<size_t>(v)];
    return m;
  }()];
  c.freq_idx.fill(-1);
  for (int v = 0; v < t_.num_units; ++v) {
    const OracleUnit& d = t_.units[static_cast<size_t>(v)];
    if (!d.dvfs) continue;
    const int digit = (mask_ >> v & 1u) ? cur_[static_cast<size_t>(v)] : full / stride_[static_cast<size_t>(v)] % d.num_opps;
    c.freq_idx[static_cast<size_t>(v)] = static_cast<std::int8_t>(digit);
  }
  // Hosts: the chosen ones for accelerators in the order; otherwise any allowed online host.
  for (int v = 0; v < t_.num_units; ++v) {
    const OracleUnit& d = t_.units[static_cast<size_t>(v)];
    if (!d.accel) continue;
    int h = -1;
    for (int s = 0; s < k; ++s)
      if (ord_.unit[static_cast<size_t>(s)] == v) h = host_of_[static_cast<size_t>(v)];
    for (int g = 0; g < t_.num_units && h < 0; ++g)
      if ((d.host_mask >> g & 1u) && cond_->unit[static_cast<size_t>(g)].online) h = g;
    for (int g = 0; g < t_.num_units && h < 0; ++g)
      if (d.host_mask >> g & 1u) h = g;
    (d.npu ? c.npu_host : c.gpu_host) = t_.units[static_cast<size_t>(h)].letter;
  }
}

}  // namespace hetsched::env
