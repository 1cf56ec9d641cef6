#include "policies/baselines.hpp"

#include <algorithm>
#include <cmath>

namespace hetsched::policies {

bool qos_violated(const TelemetryFrame& f) noexcept {
  if (f.target_fps > 0 && (!f.fps_ok || f.fps < 0.95 * f.target_fps)) return true;
  if (f.max_latency_us_target > 0 && f.latency_ok && f.max_latency_us > f.max_latency_us_target) return true;
  if (f.power_budget_mw > 0 && f.power_ok && f.power_mw > f.power_budget_mw) return true;
  return false;
}

namespace {

class StaticController final : public Controller {
 public:
  StaticController(const Config& c, std::string name) : c_(c), name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  void reset(const Config&) noexcept override {}
  const Config& decide(const TelemetryFrame&, const MaskInput&) noexcept override { return c_; }

 private:
  Config c_;
  std::string name_;
};

class GovernorController final : public Controller {
 public:
  GovernorController(const PlatformDesc& p, const Config& m, Governor g) : p_(p), c_(m), g_(g) {
    name_ = g == Governor::kPerformance ? "governor:performance"
            : g == Governor::kPowersave ? "governor:powersave"
                                        : "governor:schedutil";
    for (int u = 0; u < p_.num_units(); ++u) {
      const UnitDesc& d = p_.units[static_cast<size_t>(u)];
      if (!d.has_dvfs()) continue;
      c_.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(g == Governor::kPowersave ? 0 : d.max_opp());
    }
  }
  std::string_view name() const noexcept override { return name_; }
  void reset(const Config&) noexcept override {
    for (int u = 0; u < p_.num_units(); ++u)
      if (p_.units[static_cast<size_t>(u)].has_dvfs() && g_ == Governor::kSchedutil)
        c_.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(p_.units[static_cast<size_t>(u)].max_opp());
  }
  const Config& decide(const TelemetryFrame& f, const MaskInput&) noexcept override {
    if (g_ != Governor::kSchedutil) return c_;
    // schedutil: util is the busy fraction at the current frequency, so the frequency-invariant
    // utilisation is util·f_cur/f_max and next_f = 1.25·f_max·that = 1.25·f_cur·util.
    for (int u = 0; u < p_.num_units(); ++u) {
      const UnitDesc& d = p_.units[static_cast<size_t>(u)];
      if (!d.has_dvfs() || !f.unit_ok[static_cast<size_t>(u)]) continue;
      const double fcur = f.freq_khz[static_cast<size_t>(u)] > 0
                              ? static_cast<double>(f.freq_khz[static_cast<size_t>(u)])
                              : static_cast<double>(d.opps[static_cast<size_t>(c_.freq_idx[static_cast<size_t>(u)])].freq_khz);
      const double next = 1.25 * fcur * std::clamp(f.util[static_cast<size_t>(u)], 0.0, 1.0);
      int idx = d.max_opp();
      for (int i = 0; i <= d.max_opp(); ++i)
        if (static_cast<double>(d.opps[static_cast<size_t>(i)].freq_khz) >= next) { idx = i; break; }
      c_.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(idx);
    }
    return c_;
  }

 private:
  PlatformDesc p_;
  Config c_;
  Governor g_;
  std::string name_;
};

class HeuristicController final : public Controller {
 public:
  HeuristicController(const PlatformDesc& p, const ModelDesc&, const Config& start, const HeuristicOptions& o)
      : p_(p), start_(start), c_(start), o_(o) {}
  std::string_view name() const noexcept override { return "heuristic"; }
  void reset(const Config&) noexcept override {
    c_ = start_;
    calm_ = hold_ = 0;
    probe_unit_ = -1;
    locked_.fill(0);
  }

  const Config& decide(const TelemetryFrame& f, const MaskInput& m) noexcept override {
    for (auto& l : locked_) l = l > 0 ? l - 1 : 0;
    // Offline units: their blocks go to the accelerator's host (or the first online CPU).
    bool moved = false;
    for (int b = 0; b < c_.num_blocks; ++b) {
      const int u = p_.unit_index(c_.unit[static_cast<size_t>(b)]);
      if (u >= 0 && !m.online[static_cast<size_t>(u)]) {
        const UnitKind k = p_.units[static_cast<size_t>(u)].kind;
        c_.unit[static_cast<size_t>(b)] = k == UnitKind::kGpu ? c_.gpu_host : k == UnitKind::kNpu ? c_.npu_host : 'B';
        moved = true;
      }
    }
    if (moved) { hold_ = 5; return c_; }
    if (f.reconfiguring || hold_ > 0) { hold_ = std::max(0, hold_ - 1); return c_; }
    const bool bad = qos_violated(f);
    if (bad) {
      calm_ = 0;
      if (probe_unit_ >= 0) {  // the last lowering broke QoS: undo it and leave that unit alone
        bump(probe_unit_, +1, m);
        locked_[static_cast<size_t>(probe_unit_)] = 100;
        probe_unit_ = -1;
        hold_ = 3;
        return c_;
      }
      if (f.power_budget_mw > 0 && f.power_ok && f.power_mw > f.power_budget_mw) {
        lower_busiest(m);
      } else {
        speed_up_slowest(f, m);
      }
      hold_ = 5;
      return c_;
    }
    probe_unit_ = -1;
    const bool margin = f.target_fps <= 0 || f.fps >= o_.margin * 0.95 * f.target_fps;
    if (f.target_fps > 0 && margin && ++calm_ >= o_.calm_periods) {
      calm_ = 0;
      // Lower the least-utilised used DVFS unit by one OPP (probe; reverted if QoS breaks).
      int best = -1;
      double best_util = 2;
      for (int u = 0; u < p_.num_units(); ++u) {
        const size_t s = static_cast<size_t>(u);
        if (!p_.units[s].has_dvfs() || c_.freq_idx[s] <= 0 || locked_[s] || !uses(u)) continue;
        if (f.util[s] < best_util) best_util = f.util[s], best = u;
      }
      if (best >= 0) {
        bump(best, -1, m);
        probe_unit_ = best;
        hold_ = 10;  // the FPS window is 1 s: judge the probe after it has refilled
      }
    }
    return c_;
  }

 private:
  bool uses(int u) const noexcept {
    const char L = p_.units[static_cast<size_t>(u)].letter;
    for (int b = 0; b < c_.num_blocks; ++b) {
      const char x = c_.unit[static_cast<size_t>(b)];
      if (x == L || (x == 'G' && c_.gpu_host == L) || (x == 'N' && c_.npu_host == L)) return true;
    }
    return false;
  }
  bool bump(int u, int d, const MaskInput& m) noexcept {
    const UnitDesc& ud = p_.units[static_cast<size_t>(u)];
    if (!ud.has_dvfs()) return false;
    const int top = std::min(ud.max_opp(), m.max_opp[static_cast<size_t>(u)]);
    const int f = c_.freq_idx[static_cast<size_t>(u)] + d;
    if (f < 0 || f > top) return false;
    c_.freq_idx[static_cast<size_t>(u)] = static_cast<std::int8_t>(f);
    return true;
  }
  void lower_busiest(const MaskInput& m) noexcept {
    int best = -1, bf = 0;
    for (int u = 0; u < p_.num_units(); ++u)
      if (p_.units[static_cast<size_t>(u)].has_dvfs() && c_.freq_idx[static_cast<size_t>(u)] > bf)
        bf = c_.freq_idx[static_cast<size_t>(u)], best = u;
    if (best >= 0) bump(best, -1, m);
  }
  void speed_up_slowest(const TelemetryFrame& f, const MaskInput& m) noexcept {
    // Stages = runs of equal letters; the slowest by measured service time.
    int s_best = -1, s = -1, a_best = 0, e_best = 0;
    double worst = -1;
    for (int b = 0; b < c_.num_blocks;) {
      int e = b;
      while (e < c_.num_blocks && c_.unit[static_cast<size_t>(e)] == c_.unit[static_cast<size_t>(b)]) ++e;
      ++s;
      const double t = s < kObsMaxStages ? f.stage_latency_us[static_cast<size_t>(s)] : 0;
      if (t > worst) worst = t, s_best = s, a_best = b, e_best = e;
      b = e;
    }
    if (s_best < 0) return;
    const char letter = c_.unit[static_cast<size_t>(a_best)];
    const int u = p_.unit_index(letter);
    if (u < 0) return;
    const UnitDesc& ud = p_.units[static_cast<size_t>(u)];
    // Raise the unit's OPP, or for an accelerator without DVFS its host's.
    int target = u;
    if (!ud.has_dvfs() && ud.kind != UnitKind::kCpu)
      target = p_.unit_index(ud.kind == UnitKind::kGpu ? c_.gpu_host : c_.npu_host);
    if (target >= 0 && bump(target, +1, m)) return;
    // At the top: rebalance, moving one boundary block to the faster neighbouring stage.
    if (e_best - a_best < 2) return;
    const double prev = s_best > 0 ? f.stage_latency_us[static_cast<size_t>(s_best - 1)] : 1e300;
    const double next = s_best + 1 < std::min(f.num_stages, kObsMaxStages) ? f.stage_latency_us[static_cast<size_t>(s_best + 1)] : 1e300;
    if (next <= prev && e_best < c_.num_blocks)
      c_.unit[static_cast<size_t>(e_best - 1)] = c_.unit[static_cast<size_t>(e_best)];
    else if (a_best > 0)
      c_.unit[static_cast<size_t>(a_best)] = c_.unit[static_cast<size_t>(a_best - 1)];
  }

  PlatformDesc p_;
  Config start_, c_;
  HeuristicOptions o_;
  int calm_ = 0, hold_ = 0, probe_unit_ = -1;
  std::array<int, kMaxUnits> locked_{};
};

}  // namespace

std::unique_ptr<Controller> make_static(const Config& config, std::string name) {
  return std::make_unique<StaticController>(config, std::move(name));
}
std::unique_ptr<Controller> make_governor(const PlatformDesc& platform, const Config& mapping, Governor g) {
  return std::make_unique<GovernorController>(platform, mapping, g);
}
std::unique_ptr<Controller> make_heuristic(const PlatformDesc& platform, const ModelDesc& model, const Config& start,
                                           const HeuristicOptions& options) {
  return std::make_unique<HeuristicController>(platform, model, start, options);
}
}  // namespace hetsched::policies
