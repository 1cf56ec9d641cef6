#include "env/policy_runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <cstdlib>
#include <map>
#include <thread>

#include "env/sim.hpp"
#include "policies/config.hpp"

namespace hetsched::env {

using policies::Config;

Result<std::shared_ptr<RunnerSetup>> make_runner_setup(const std::string& data_dir, const std::string& platform,
                                                       const std::string& model) {
  auto s = std::make_shared<RunnerSetup>();
  s->data_dir = data_dir;
  auto p = policies::load_platform_by_name(data_dir, platform);
  if (!p.ok()) return p.status();
  s->platform = std::move(p.value());
  auto m = policies::load_model_by_name(data_dir, model);
  if (!m.ok()) return m.status();
  s->model = std::move(m.value());
  CostModel::Options co;
  co.data_dir = data_dir;
  auto c = CostModel::create(s->platform, s->model, co);
  if (!c.ok()) return c.status();
  s->cost = std::make_shared<const CostModel>(std::move(c.value()));
  s->costs = std::make_shared<CostModelCosts>(s->cost);
  auto t = load_thermal_params(s->platform);
  if (!t.ok()) return t.status();
  s->thermal = *t;
  auto o = Oracle::create(*s->cost, {});
  if (!o.ok()) return Error(o.status().code(), "oracle: " + o.status().message());
  s->oracle = std::make_shared<Oracle>(std::move(o.value()));
  return s;
}

void frame_from_observation(const Observation& o, policies::TelemetryFrame* f) noexcept {
  f->fps = o.fps;
  f->fps_ok = o.period_s > 0;
  f->latency_ok = o.frames > 0;
  f->latency_us = o.latency_ms * 1e3;
  f->max_latency_us = o.max_latency_ms * 1e3;
  f->power_mw = o.power_mw;
  f->power_ok = o.period_s > 0;
  f->frames = o.frames;
  f->dropped = o.dropped;
  f->reconfiguring = o.reconfiguring;
  f->num_stages = std::min(o.num_stages, policies::kObsMaxStages);
  for (int s = 0; s < f->num_stages; ++s) {
    f->stage_latency_us[static_cast<size_t>(s)] = o.stage_latency_ms[static_cast<size_t>(s)] * 1e3;
    f->queue_depth[static_cast<size_t>(s)] = o.queue_depth[static_cast<size_t>(s)];
  }
  for (int u = 0; u < std::min(o.num_units, policies::kMaxUnits); ++u) {
    const size_t i = static_cast<size_t>(u);
    f->freq_khz[i] = o.freq_khz[i];
    f->max_freq_khz[i] = o.max_freq_khz[i];
    f->util[i] = o.util[i];
    f->unit_ok[i] = true;
  }
  for (int z = 0; z < std::min(o.num_zones, policies::kObsMaxZones); ++z) {
    f->temp_mc[static_cast<size_t>(z)] = static_cast<std::int32_t>(std::lround(o.zone_temp_c[static_cast<size_t>(z)] * 1000.0));
    f->temp_ok[static_cast<size_t>(z)] = true;
  }
  f->target_fps = o.target_fps;
  f->max_latency_us_target = o.max_latency_target_ms * 1e3;
  f->power_budget_mw = o.power_budget_mw;
}

const policies::MaskInput& OfflineDetector::update(const Observation& o, const Config& c) noexcept {
  const int n = std::min(p_->num_units(), policies::kMaxUnits);
  // Stage s = s-th run of equal letters in the order.
  int s = -1;
  for (int b = 0; b < c.num_blocks && !o.reconfiguring;) {
    int e = b;
    while (e < c.num_blocks && c.unit[static_cast<size_t>(e)] == c.unit[static_cast<size_t>(b)]) ++e;
    ++s;
    const int u = p_->unit_index(c.unit[static_cast<size_t>(b)]);
    // Not in the first period after a re-split: the new stages may not have completed a frame yet.
    if (u >= 0 && !prev_reconf_ && s < o.num_stages && s < kMaxStages && o.queue_depth[static_cast<size_t>(s)] > 0 &&
        o.stage_latency_ms[static_cast<size_t>(s)] <= 0 && o.util[static_cast<size_t>(u)] < 0.01 &&
        left_[static_cast<size_t>(u)] == 0) {
      const size_t i = static_cast<size_t>(u);
      strikes_[i] = since_[i] <= retry_ ? std::min(strikes_[i] + 1, 1) : 0;
      left_[i] = forget_ << strikes_[i];
    }
    b = e;
  }
  prev_reconf_ = o.reconfiguring;
  for (int u = 0; u < n; ++u) {
    const size_t i = static_cast<size_t>(u);
    if (left_[i] > 0 && --left_[i] == 0) since_[i] = 0;
    else if (left_[i] == 0 && since_[i] < (1 << 20)) ++since_[i];
    m_.online[i] = left_[i] == 0;
    const policies::UnitDesc& d = p_->units[i];
    int cap = 127;
    if (d.has_dvfs() && o.max_freq_khz[i] > 0) {
      cap = 0;
      for (int k = 0; k <= d.max_opp(); ++k)
        if (d.opps[static_cast<size_t>(k)].freq_khz <= o.max_freq_khz[i]) cap = k;
    }
    m_.max_opp[i] = cap;
  }
  return m_;
}

namespace {

Conditions nominal(const RunnerSetup& s) {
  Scenario sc;
  sc.duration_s = 10;
  return conditions_at(sc, s.platform, 0.5);
}

ScenarioEvent ev(EventType t, char unit = 0, int cores = 0, double util = 0, double slowdown = 1, double value = 0) {
  ScenarioEvent e;
  e.t_s = 0;
  e.type = t;
  e.unit = unit;
  e.cores = cores;
  e.util = util;
  e.slowdown = slowdown;
  e.value = value;
  return e;
}

}  // namespace

namespace {
// The configuration as a policy file stores it (text round trip): candidates, cached answers
// and the starting configuration all compare equal to what a loaded policy rebuilds.
Config canonical(const Config& c, const RunnerSetup& s) {
  auto p = policies::parse_config(policies::format_config(c, s.platform), s.platform, s.model);
  return p.ok() ? *p : c;
}
struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  }
  void d(double v) { bytes(&v, sizeof v); }
  template <class T>
  void vec(const std::vector<T>& v) { bytes(v.data(), v.size() * sizeof(T)); }
};
}  // namespace

OracleCache OracleCache::open(RunnerSetup& s, const std::string& dir) {
  OracleCache c;
  c.platform_ = &s.platform;
  c.model_ = &s.model;
  const OracleTable& t = s.oracle->table();
  Fnv f;
  f.bytes(s.platform.name.data(), s.platform.name.size());
  f.bytes(s.model.name.data(), s.model.name.size());
  f.vec(t.time_prefix), f.vec(t.stage_power_mw), f.vec(t.stage_fixed_ms), f.vec(t.first_fixed_ms), f.vec(t.transfer),
      f.vec(t.unit_power_mw);
  if (t.base_power) {
    // Base power at a few probe points (all-low / all-high OPPs, cool / hot die, background load).
    for (int hi = 0; hi < 2; ++hi)
      for (double temp : {25.0, 70.0}) {
        OppVector opp{};
        for (int u = 0; u < t.num_units; ++u)
          opp[static_cast<size_t>(u)] = t.units[static_cast<size_t>(u)].dvfs
                                            ? static_cast<std::int8_t>(hi ? t.units[static_cast<size_t>(u)].num_opps - 1 : 0)
                                            : static_cast<std::int8_t>(-1);
        Conditions cond;
        cond.die_temp_c = temp;
        cond.unit[0].bg_util = hi ? 0.5 : 0.0;
        f.d(t.base_power(opp, cond));
      }
  }
  c.identity_ = f.h;
  if (dir.empty()) return c;
  char hex[32];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(c.identity_));
  c.path_ = dir + "/oracle_" + s.platform.name + "_" + s.model.name + "_" + hex + ".txt";
  std::ifstream in(c.path_);
  if (!in) return c;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const size_t sp = line.find(' ');
    char* end = nullptr;
    const unsigned long long k = sp == 16 ? std::strtoull(line.c_str(), &end, 16) : 0;
    if (sp != 16 || end != line.c_str() + 16 || sp + 1 >= line.size()) {
      c.note_ = c.path_ + ":" + std::to_string(n) + ": not 'key config'; the cache is ignored";
      c.entries_.clear();
      return c;
    }
    c.entries_[k] = line.substr(sp + 1);
  }
  return c;
}

std::uint64_t OracleCache::key(const Conditions& c) const noexcept {
  Fnv f;
  f.bytes(&identity_, sizeof identity_);
  f.d(c.target_fps), f.d(c.max_latency_ms), f.d(c.power_budget_mw), f.d(c.ambient_c), f.d(c.die_temp_c);
  for (const auto& u : c.unit) {
    const std::uint8_t on = u.online ? 1 : 0;
    f.bytes(&on, 1), f.d(u.slowdown), f.bytes(&u.max_opp, sizeof u.max_opp), f.d(u.bg_util);
  }
  return f.h;
}

bool OracleCache::lookup(const Conditions& c, Config* out, bool* ok) const {
  auto it = entries_.find(key(c));
  if (it == entries_.end()) return false;
  if (it->second == "-") {
    *ok = false;
  } else {
    auto cfg = policies::parse_config(it->second, *platform_, *model_);
    if (!cfg.ok()) return false;  // stale or damaged entry: ask the oracle
    *out = *cfg;
    *ok = true;
  }
  ++hits_;
  return true;
}

void OracleCache::store(const Conditions& c, const Config& config, bool ok) {
  entries_[key(c)] = ok ? policies::format_config(config, *platform_) : "-";
  dirty_ = true;
}

bool OracleCache::query(RunnerSetup& s, const Conditions& c, Config* out) {
  bool ok = false;
  if (lookup(c, out, &ok)) return ok;
  ++misses_;
  OracleResult r;
  ok = s.oracle->query(c, &r).ok();
  if (ok) *out = canonical(r.config, s);
  store(c, r.config, ok);
  return ok;
}

Status OracleCache::flush() {
  if (path_.empty() || !dirty_) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  const std::string tmp = path_ + ".tmp" + std::to_string(static_cast<long long>(::getpid()));
  {
    std::ofstream o(tmp);
    char hex[32];
    for (const auto& [k, v] : entries_) {
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(k));
      o << hex << ' ' << v << '\n';
    }
    if (!o) return Error(StatusCode::kIoError, "oracle cache: cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) return Error(StatusCode::kIoError, "oracle cache: cannot rename " + tmp + " to " + path_);
  dirty_ = false;
  return Status::Ok();
}

Result<std::vector<Config>> oracle_candidates(RunnerSetup& s, const std::vector<Scenario>& scenarios, int max_candidates,
                                              int threads, OracleCache* cache) {
  std::vector<Conditions> grid;
  const auto& P = s.platform;
  std::vector<std::vector<ScenarioEvent>> variants = {{}};
  for (const auto& u : P.units) {
    if (u.kind == policies::UnitKind::kCpu) {
      variants.push_back({ev(EventType::kBackgroundLoad, u.letter, u.cores, 1.0)});
      variants.push_back({ev(EventType::kBackgroundLoad, u.letter, std::max(1, u.cores / 2), 1.0)});
    } else {
      variants.push_back({ev(EventType::kContention, u.letter, 0, 0, 1.6)});
      variants.push_back({ev(EventType::kUnitOffline, u.letter)});
    }
  }
  variants.push_back({ev(EventType::kMaxLatencyMs, 0, 0, 0, 1, 250)});
  variants.push_back({ev(EventType::kPowerBudgetMw, 0, 0, 0, 1, 5000)});
  variants.push_back({ev(EventType::kPowerBudgetMw, 0, 0, 0, 1, 4500)});
  for (const auto& v : variants)
    for (double fps : {0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0}) {
      Scenario sc;
      sc.duration_s = 10;
      sc.initial.target_fps = fps;
      sc.events = v;
      grid.push_back(conditions_at(sc, P, 0.5));
    }
  // Thermal caps: every DVFS unit `drop` OPPs below its top (clamped at its lowest), for every
  // depth step_wise throttling walks through (it lowers each cooled unit's cap one OPP per
  // poll), on a nominal and a hot die (leakage moves the flat-out optimum). Only 1 and 2 OPPs
  // below the top were here before: under a 40 °C ambient every cap reaches OPP 0 and the
  // oracle's configuration for that (googlenet: NNNNNNNNBGGLL:LB:0,0,0, 9 FPS) was no
  // candidate, so the agent ran 6 FPS at 1.27x its energy per frame (hot_ambient).
  int max_drop = 0;
  for (const auto& u : P.units) max_drop = std::max(max_drop, u.has_dvfs() ? u.max_opp() : 0);
  for (int drop = 1; drop <= max_drop; ++drop)
    for (double die_c : {0.0, 80.0})
      for (double fps : {0.0, 5.0, 10.0, 15.0, 20.0, 30.0}) {
        Conditions c = nominal(s);
        c.target_fps = fps;
        if (die_c > 0) c.die_temp_c = die_c, c.ambient_c = 40;
        for (int u = 0; u < P.num_units(); ++u)
          if (P.units[static_cast<size_t>(u)].has_dvfs())
            c.unit[static_cast<size_t>(u)].max_opp = std::max(0, P.units[static_cast<size_t>(u)].max_opp() - drop);
        grid.push_back(c);
      }
  for (const Scenario& sc : scenarios) {
    grid.push_back(conditions_at(sc, P, 0.0));
    for (double t : change_points(sc)) grid.push_back(conditions_at(sc, P, t + 1e-6));
  }
  // Answer the grid: worker w takes entries w, w+W, ...; each has its own Oracle (query() uses
  // the oracle's buffers), results land by index, so the order below is thread-independent.
  const int W = std::clamp(threads, 1, 16);
  std::vector<OracleResult> res(grid.size());
  std::vector<std::uint8_t> ok(grid.size(), 0), known(grid.size(), 0);
  if (cache)
    for (size_t i = 0; i < grid.size(); ++i) {
      bool a = false;
      if (cache->lookup(grid[i], &res[i].config, &a)) known[i] = 1, ok[i] = a ? 1 : 0;
    }
  std::vector<std::shared_ptr<Oracle>> oracles{s.oracle};
  for (int w = 1; w < W; ++w) {
    auto o = Oracle::create(*s.cost, {});
    if (!o.ok()) return Error(o.status().code(), "oracle: " + o.status().message());
    oracles.push_back(std::make_shared<Oracle>(std::move(o.value())));
  }
  auto work = [&](int w) {
    for (size_t i = static_cast<size_t>(w); i < grid.size(); i += static_cast<size_t>(W))
      if (!known[i]) ok[i] = oracles[static_cast<size_t>(w)]->query(grid[i], &res[i]).ok() ? 1 : 0;  // fails e.g. with nothing online
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < W; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < grid.size(); ++i)
    if (!known[i]) {
      res[i].config = canonical(res[i].config, s);
      if (cache) cache->store(grid[i], res[i].config, ok[i] != 0);
    }
  std::map<std::string, std::pair<int, Config>> seen;  // text → (count, config)
  std::vector<std::string> first_order;
  for (size_t i = 0; i < grid.size(); ++i) {
    if (!ok[i]) continue;
    const OracleResult& r = res[i];
    const std::string key = policies::format_config(r.config, P);
    auto [it, fresh] = seen.try_emplace(key, 0, r.config);
    if (fresh) first_order.push_back(key);
    ++it->second.first;
  }
  if (seen.empty()) return Error(StatusCode::kInvalidArgument, "oracle_candidates: the oracle answered no query");
  std::stable_sort(first_order.begin(), first_order.end(),
                   [&](const std::string& a, const std::string& b) { return seen[a].first > seen[b].first; });
  std::vector<Config> out;
  for (const auto& k : first_order)
    if (static_cast<int>(out.size()) < max_candidates) out.push_back(seen[k].second);
  return out;
}

Result<Config> static_best(RunnerSetup& s, const Scenario& scenario) {
  OracleResult r;
  HETSCHED_RETURN_IF_ERROR(s.oracle->query(conditions_at(scenario, s.platform, 0.0), &r));
  return canonical(r.config, s);
}

Result<std::unique_ptr<policies::Controller>> make_builtin(RunnerSetup& s, const std::string& name, const Scenario& scenario) {
  if (name.rfind("static:", 0) == 0) {
    auto c = policies::parse_config(name.substr(7), s.platform, s.model);
    if (!c.ok()) return c.status();
    return policies::make_static(*c, name);
  }
  auto best = static_best(s, scenario);
  if (!best.ok()) return best.status();
  if (name == "static-best") return policies::make_static(*best, name);
  if (name == "governor:performance") return policies::make_governor(s.platform, *best, policies::Governor::kPerformance);
  if (name == "governor:powersave") return policies::make_governor(s.platform, *best, policies::Governor::kPowersave);
  if (name == "governor:schedutil") return policies::make_governor(s.platform, *best, policies::Governor::kSchedutil);
  if (name == "heuristic") return policies::make_heuristic(s.platform, s.model, *best);
  return Error(StatusCode::kInvalidArgument, "unknown policy '" + name +
                                                 "' (builtin: trained, static-best, static:CONFIG, governor:performance, "
                                                 "governor:powersave, governor:schedutil, heuristic, oracle, or a policy file)");
}

std::vector<int> recovery_periods(const Scenario& scenario, const std::vector<std::uint8_t>& v) {
  std::vector<int> out;
  const double period_s = scenario.decision_period_ms * 1e-3;
  for (double t : change_points(scenario)) {
    size_t p = static_cast<size_t>(std::ceil(t / period_s - 1e-9));
    if (p >= v.size()) continue;
    size_t k = p;
    while (k < v.size() && v[k]) ++k;
    out.push_back(static_cast<int>(k - p));
  }
  return out;
}

namespace {

// The runtime controller's acceptance rule (runtime/controller.cpp with runtime/guard.hpp and
// tools::sim_guard_options), which every `hetsched sim`, eval --record and counterfactual run goes
// through, so a policy scores the same here (one loop semantics, one set of metrics; env may not
// include runtime/'s implementation, hence this mirror, checked by tests/replay/test_loops.cpp):
//   * thermal trip: hottest zone >= the platform's lowest critical trip (95 C without one),
//     latched until 5 C below it: the safe configuration, nothing asked of the policy;
//   * a policy output that differs from the configuration in force and does not validate or puts
//     a block on a unit the mask reports offline: the safe configuration instead;
//   * after either, the safe configuration is held for 10 decisions (the policy is not asked).
class LoopGuard {
 public:
  explicit LoopGuard(const policies::PlatformDesc& p) {
    for (const auto& z : p.zones)
      for (const auto& t : z.trips)
        if (t.type == "critical" && (trip_mc_ == 0 || t.temp_mc < trip_mc_)) trip_mc_ = t.temp_mc;
    if (trip_mc_ <= 0) trip_mc_ = 95000;
  }
  // Guard::check: true = the policy decides this period.
  bool admit(const Observation& o) noexcept {
    if (o.num_zones > 0) {
      double hottest = -1e9;
      for (int z = 0; z < o.num_zones; ++z) hottest = std::max(hottest, o.zone_temp_c[static_cast<size_t>(z)]);
      const long mc = std::lround(hottest * 1000.0);
      if (mc >= trip_mc_) tripped_ = true;
      else if (mc < trip_mc_ - kHysteresisMc) tripped_ = false;
    }
    if (tripped_) {
      hold_ = kHoldPeriods;
      return false;
    }
    const bool holding = hold_ > 0;
    if (hold_ > 0) --hold_;
    return !holding;
  }
  void policy_invalid() noexcept { hold_ = kHoldPeriods; }
  // Controller::valid_output.
  static bool valid(const Config& c, const policies::MaskInput& m, const RunnerSetup& s) noexcept {
    for (int b = 0; b < c.num_blocks && b < policies::kMaxBlocks; ++b) {
      const int u = s.platform.unit_index(c.unit[static_cast<size_t>(b)]);
      if (u < 0 || u >= policies::kMaxUnits || !m.online[static_cast<size_t>(u)]) return false;
    }
    try {
      return policies::validate_config(c, s.platform, s.model).ok();
    } catch (...) {
      return false;
    }
  }

 private:
  static constexpr int kHysteresisMc = 5000, kHoldPeriods = 10;
  int trip_mc_ = 0, hold_ = 0;
  bool tripped_ = false;
};

}  // namespace

Result<RunResult> run_scenario(RunnerSetup& s, const Scenario& scenario, std::uint64_t seed, policies::Controller* ctl) {
  auto sim = Simulator::create(s.costs, s.thermal, {});
  if (!sim.ok()) return sim.status();
  HETSCHED_RETURN_IF_ERROR(sim->reset(scenario, seed));
  auto start = static_best(s, scenario);
  if (!start.ok()) return start.status();
  const Config safe = *start;
  Config cfg = *start;
  HETSCHED_RETURN_IF_ERROR(sim->apply(cfg));
  OracleResult best;
  // The oracle (ctl == nullptr) re-plans before the first period on the simulator's own
  // conditions, then whenever they change (asked like a policy, after each period).
  Config oracle_cfg = cfg;
  if (!ctl && s.oracle->query(sim->conditions(), &best).ok() && !(best.config == cfg) && sim->apply(best.config).ok())
    cfg = oracle_cfg = best.config;
  std::uint64_t seen = sim->conditions_version();
  if (ctl) ctl->reset(cfg);
  OfflineDetector det(s.platform);
  LoopGuard guard(s.platform);
  policies::TelemetryFrame frame;
  RunResult rr;
  while (!sim->done()) {
    const Observation& o = sim->step();
    rr.violated.push_back(sim->truth().verdict.qos_counted && sim->truth().verdict.violated ? 1 : 0);
    frame_from_observation(o, &frame);
    const policies::MaskInput& m = det.update(o, cfg);
    Config next = safe;
    if (guard.admit(o)) {
      if (ctl) {
        next = ctl->decide(frame, m);
      } else {
        if (sim->conditions_version() != seen) {
          seen = sim->conditions_version();
          if (s.oracle->query(sim->conditions(), &best).ok()) oracle_cfg = best.config;
        }
        next = oracle_cfg;
      }
      if (!(next == cfg) && !LoopGuard::valid(next, m, s)) {
        guard.policy_invalid();
        next = safe;
      }
    }
    // A configuration the simulator refuses keeps the last one.
    if (!(next == cfg) && sim->apply(next).ok()) cfg = next;
  }
  rr.metrics = sim->metrics().result();
  rr.recovery_periods = recovery_periods(scenario, rr.violated);
  return rr;
}

std::string join_candidates(const std::vector<Config>& c, const policies::PlatformDesc& p) {
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) out += (i ? "|" : "") + policies::format_config(c[i], p);
  return out;
}

Result<std::vector<policies::CandidateCost>> candidate_costs(const RunnerSetup& s, const std::vector<Config>& cands) {
  const auto& P = s.platform;
  const CostModel& cm = *s.cost;
  std::vector<policies::CandidateCost> out;
  for (size_t k = 0; k < cands.size(); ++k) {
    const Config& c = cands[k];
    for (int b = 0; b < c.num_blocks; ++b) {
      const int u = P.unit_index(c.unit[static_cast<size_t>(b)]);
      if (u < 0) return Error(StatusCode::kInvalidArgument, "candidate_costs: candidate " + std::to_string(k) + ": unknown unit");
      const policies::UnitKind kind = P.units[static_cast<size_t>(u)].kind;
      const char h = kind == policies::UnitKind::kGpu ? c.gpu_host : c.npu_host;
      if (kind != policies::UnitKind::kCpu && P.unit_index(h) < 0)
        return Error(StatusCode::kInvalidArgument, "candidate_costs: candidate " + std::to_string(k) + ": unknown host '" + h + "'");
    }
    // predict_pipeline's per-unit sums: busy time (incl. transfers, hand-overs, input, segment
    // overheads), hand-over waits (no dynamic power) and the host's accelerator-driving power.
    const PipelineSums sums = pipeline_sums(cm, c);
    const auto& busy = sums.busy_ms;
    const auto& wait = sums.wait_ms;
    const auto& drive = sums.drive_mw;
    policies::CandidateCost cc;
    for (int u = 0; u < P.num_units(); ++u) {
      const size_t i = static_cast<size_t>(u);
      if (!(busy[i] < 1e8))
        return Error(StatusCode::kInvalidArgument, "candidate_costs: candidate " + policies::format_config(c, P) + " cannot run");
      cc.busy_ms[i] = static_cast<float>(busy[i]);
      // Energy per frame of unit u = (dynamic + driving power at full use) x its non-waiting
      // time; folded into one power over the busy time: dyn_mw · busy_ms = that energy.
      // (predict_pipeline clamps the dynamic part's utilisation at 1, not the driving part's;
      // a negative hand-over wait can push busy - wait above busy.)
      const double work = std::max(0.0, busy[i] - wait[i]);
      cc.dyn_mw[i] = busy[i] > 0 ? static_cast<float>((cm.dynamic_power_mw(u, c.freq_idx[i], 1.0) * std::min(work, busy[i]) +
                                                       drive[i] * work) / busy[i])
                                 : 0.0f;
    }
    cc.idle_mw = static_cast<float>(cm.idle_power_mw(c.freq_idx, 25.0) - cm.leakage_power_mw(25.0));
    out.push_back(cc);
  }
  return out;
}

std::string join_costs(const std::vector<policies::CandidateCost>& c, int num_units) {
  std::string out;
  char buf[64];
  for (size_t k = 0; k < c.size(); ++k) {
    if (k) out += '|';
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(c[k].idle_mw));
    out += buf;
    for (int u = 0; u < num_units; ++u) {
      std::snprintf(buf, sizeof buf, ";%.9g,%.9g", static_cast<double>(c[k].busy_ms[static_cast<size_t>(u)]),
                    static_cast<double>(c[k].dyn_mw[static_cast<size_t>(u)]));
      out += buf;
    }
  }
  return out;
}

Result<std::vector<policies::CandidateCost>> parse_costs(const std::string& text, int num_units, size_t expected) {
  return policies::parse_candidate_costs(text, num_units, expected);
}

Result<AgentParts> make_agent_parts(RunnerSetup& s, const std::vector<Config>& candidates, double min_map,
                                    const std::vector<policies::CandidateCost>& costs) {
  return policies::make_agent_parts(s.platform, s.model, s.data_dir, candidates, min_map, costs);
}

std::string shipped_policy_path(const RunnerSetup& s) {
  return s.data_dir + "/policies/trained/" + s.platform.name + "_" + s.model.name + ".policy";
}

std::string default_scenario_dir(const std::string& data_dir, const std::string& model) {
  std::error_code ec;
  const std::string own = data_dir + "/env/scenarios/" + model;
  if (!model.empty() && model.find('/') == std::string::npos && model != "heldout" && std::filesystem::is_directory(own, ec))
    return own;
  return data_dir + "/env/scenarios";
}

Result<std::unique_ptr<policies::Controller>> load_trained(RunnerSetup& s, const std::string& path,
                                                           const policies::AgentOptions& options) {
  auto a = policies::load_agent_file(path, s.platform, s.model, s.data_dir, options);
  if (!a.ok()) return a.status();
  return std::move(a->controller);
}

}  // namespace hetsched::env
