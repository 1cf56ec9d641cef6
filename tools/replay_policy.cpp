#include "tools/replay_policy.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <sstream>

#include "hetsched/runtime.hpp"
#include "policies/policy_file.hpp"
#include "runtime/agent_policy.hpp"
#include "tools/commands.hpp"
#include "runtime/balance_controller.hpp"
#include "runtime/host_config.hpp"
#include "tools/sim_target.hpp"

namespace hetsched::tools {

void describe_controller(RunIdentity* id, const runtime::ControllerOptions& o, const policies::PlatformDesc& p,
                         const policies::Config& initial, const policies::Config& safe) {
  auto& m = id->metadata;
  m["period_ns"] = std::to_string(o.period_ns);
  m["rate_limit_ns"] = std::to_string(o.rate_limit_ns);
  m["guard"] = std::to_string(o.guard.trip_temp_mc) + "," + std::to_string(o.guard.hysteresis_mc) + "," +
               std::to_string(o.guard.miss_burst) + "," + std::to_string(o.guard.hold_periods);
  m["initial_config"] = policies::format_config(initial, p);
  m["safe_config"] = policies::format_config(safe, p);
  if (id->platform == "host") {
    std::string units;
    for (const auto& u : p.units) {
      if (!units.empty()) units += ';';
      units += u.name + "@";
      for (size_t i = 0; i < u.cpu_ids.size(); ++i) units += (i ? "+" : "") + std::to_string(u.cpu_ids[i]);
    }
    m["host_units"] = units;
  }
}

namespace {

std::string meta(const RunIdentity& id, const char* key) {
  auto it = id.metadata.find(key);
  return it == id.metadata.end() ? std::string() : it->second;
}

bool parse_i64(const std::string& s, std::int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

Status bad_key(const char* key, const std::string& value, const std::string& what) {
  return Error(StatusCode::kCorrupt, std::string("trace metadata \"") + key + "\" = '" + value + "': " + what);
}

}  // namespace

Result<ReplaySetup> replay_setup(const ReplayLoad& ld, const std::string& data_dir) {
  const RunIdentity& id = ld.id;
  ReplaySetup s;
  s.host = id.platform == "host";
  if (id.model.empty()) return Error(StatusCode::kCorrupt, "trace header names no model");
  if (s.host) {
    const std::string units = meta(id, "host_units");
    std::vector<std::string> names;
    std::vector<std::vector<int>> cpus;
    std::stringstream ss(units);
    for (std::string item; std::getline(ss, item, ';');) {
      const auto at = item.find('@');
      if (at == std::string::npos || at == 0) return bad_key("host_units", units, "expected NAME@CPU[+CPU...];...");
      names.push_back(item.substr(0, at));
      cpus.emplace_back();
      std::stringstream cs(item.substr(at + 1));
      for (std::string c; std::getline(cs, c, '+');) {
        std::int64_t v = 0;
        if (!parse_i64(c, &v) || v < 0 || v > 4095) return bad_key("host_units", units, "cpu '" + c + "' is not a CPU number");
        cpus.back().push_back(static_cast<int>(v));
      }
    }
    if (names.empty())  // "unit.<name>" keys (hetsched run): the cores do not matter for decisions
      for (const auto& [k, v] : id.metadata)
        if (k.rfind("unit.", 0) == 0) names.push_back(k.substr(5)), cpus.push_back({});
    if (names.empty()) return Error(StatusCode::kCorrupt, "trace metadata names no host units (\"host_units\" or \"unit.<name>\")");
    s.platform = runtime::default_host_desc(names, cpus);
    if (std::string pf = meta(id, "platform_file"); !pf.empty()) {
      auto p = policies::load_platform(pf);
      if (!p.ok()) return Error(p.status().code(), "trace metadata \"platform_file\": " + p.status().message());
      s.platform = *p;
    }
    const RuntimeOptions ro;
    s.run.controller.period_ns = ro.decision_period_ns;
    s.run.controller.rate_limit_ns = ro.rate_limit_ns;
    s.run.controller.guard.miss_burst = ro.miss_burst;
    s.run.controller.guard.trip_temp_mc = ro.trip_temp_mc;
    s.min_gain = ro.min_gain;
    if (std::string v = meta(id, "min_gain"); !v.empty()) {
      char* end = nullptr;
      s.min_gain = std::strtod(v.c_str(), &end);
      if (*end != '\0' || !(s.min_gain >= 0 && s.min_gain < 10)) return bad_key("min_gain", v, "expected a number in [0, 10)");
    }
    auto m = policies::load_model_by_name(data_dir, id.model);
    if (!m.ok()) return m.status();
    s.model = *m;
  } else {
    if (id.platform.empty()) return Error(StatusCode::kCorrupt, "trace header names no platform");
    auto r = env::make_runner_setup(data_dir, id.platform, id.model);
    if (!r.ok()) return r.status();
    s.runner = r.value();
    s.platform = s.runner->platform;
    s.model = s.runner->model;
  }
  if (!id.scenario_json.empty()) {
    auto sc = env::parse_scenario(id.scenario_json, "trace metadata \"scenario\"");
    if (!sc.ok()) return sc.status();
    s.scenario = *sc;
    s.has_scenario = true;
  }
  runtime::ControllerOptions& co = s.run.controller;
  if (std::string v = meta(id, "period_ns"); !v.empty() && (!parse_i64(v, &co.period_ns) || co.period_ns <= 0))
    return bad_key("period_ns", v, "expected a positive integer");
  if (std::string v = meta(id, "rate_limit_ns"); !v.empty() && (!parse_i64(v, &co.rate_limit_ns) || co.rate_limit_ns < 0))
    return bad_key("rate_limit_ns", v, "expected an integer >= 0");
  if (std::string v = meta(id, "guard"); !v.empty()) {
    std::int64_t g[4];
    std::stringstream ss(v);
    int n = 0;
    for (std::string item; std::getline(ss, item, ',') && n < 5; ++n)
      if (n >= 4 || !parse_i64(item, &g[n]) || g[n] < INT32_MIN || g[n] > INT32_MAX) return bad_key("guard", v, "expected 4 integers");
    if (n != 4) return bad_key("guard", v, "expected 4 integers");
    co.guard = {static_cast<int>(g[0]), static_cast<int>(g[1]), static_cast<int>(g[2]), static_cast<int>(g[3])};
  } else if (!s.host) {
    co.guard = sim_guard_options(s.platform);
  }
  // Initial: recorded, else the configuration in force at the first recorded period (nothing is
  // applied before it).
  if (std::string v = meta(id, "initial_config"); !v.empty()) {
    auto c = policies::parse_config(v, s.platform, s.model);
    if (!c.ok()) return bad_key("initial_config", v, c.status().message());
    s.run.initial = *c;
  } else if (!ld.frames.empty() && ld.frames.front().has_current) {
    s.run.initial = ld.frames.front().current;
  } else {
    return Error(StatusCode::kCorrupt, "trace holds no initial configuration (metadata \"initial_config\" or a recorded one)");
  }
  if (std::string v = meta(id, "safe_config"); !v.empty()) {
    auto c = policies::parse_config(v, s.platform, s.model);
    if (!c.ok()) return bad_key("safe_config", v, c.status().message());
    s.run.safe = *c;
  } else if (!s.host && s.has_scenario) {
    auto b = env::static_best(*s.runner, s.scenario);  // hetsched run's safe configuration
    if (!b.ok()) return b.status();
    s.run.safe = *b;
  } else {
    s.run.safe = s.run.initial;  // the host's safe split is its initial one (traces without "safe_config")
  }
  if (s.host) {
    // Host units carry one nominal OPP (index 0) since commit 7620c8a; traces recorded before it
    // wrote -1 ("no DVFS") and cannot drive today's controller: say so instead of a bare range error.
    for (const auto& [what, c] : {std::pair<const char*, const policies::Config*>{"initial", &s.run.initial}, {"safe", &s.run.safe}}) {
      Status st = policies::validate_config(*c, s.platform, s.model);
      if (st.ok()) continue;
      const bool old_format = st.message().find("freq_idx") != std::string::npos &&
                              std::any_of(c->freq_idx.begin(), c->freq_idx.begin() + std::min(s.platform.num_units(), policies::kMaxUnits),
                                          [](std::int8_t f) { return f == -1; });
      if (old_format)
        return Error(StatusCode::kCorrupt, std::string("host trace: ") + what + " configuration: " + st.message() +
                                               ": the trace predates the current host platform format (host units now have one "
                                               "nominal OPP, index 0, where older traces recorded freq_idx -1); re-record it");
      return Error(StatusCode::kCorrupt, std::string("host trace: ") + what + " configuration: " + st.message());
    }
  }
  return s;
}

Result<std::unique_ptr<policies::Controller>> make_replay_policy(ReplaySetup& s, const std::string& name, std::uint64_t* checksum) {
  *checksum = 0;
  if (name == "oracle")
    return Error(StatusCode::kInvalidArgument,
                 "policy 'oracle' reads the simulator's hidden conditions, which a trace does not hold: its decisions "
                 "cannot be replayed (use --counterfactual --policy oracle)");
  if (s.host) {
    if (name == "balance")
      return std::unique_ptr<policies::Controller>(new runtime::BalanceController(s.platform, runtime::BalanceOptions{.min_gain = s.min_gain}));
    if (name.find('/') != std::string::npos || name.find(".policy") != std::string::npos) {
      auto a = runtime::load_agent_policy(name, s.platform, s.model, data_dir());
      if (!a.ok()) return a.status();
      *checksum = a->checksum;
      return std::move(a->controller);
    }
    if (name.rfind("static:", 0) == 0) {
      auto c = policies::parse_config(name.substr(7), s.platform, s.model);
      if (!c.ok()) return c.status();
      return policies::make_static(*c, name);
    }
    return Error(StatusCode::kInvalidArgument, "host policy '" + name + "' unknown (host: balance, static:CONFIG)");
  }
  if (name == "trained" || name.find('/') != std::string::npos || name.find(".policy") != std::string::npos) {
    const std::string path = name == "trained" ? env::shipped_policy_path(*s.runner) : name;
    auto a = runtime::load_agent_policy(path, s.platform, s.model, s.runner->data_dir);
    if (!a.ok()) return a.status();
    *checksum = a->checksum;
    return std::move(a->controller);
  }
  if (!s.has_scenario && name != "balance" && name.rfind("static:", 0) != 0)
    return Error(StatusCode::kInvalidArgument, "policy '" + name + "' needs the run's scenario, which the trace does not hold");
  return env::make_builtin(*s.runner, name, s.scenario);
}

}  // namespace hetsched::tools
