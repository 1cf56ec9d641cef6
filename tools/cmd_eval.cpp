// hetsched eval: runs every (policy, scenario) pair in the simulator and prints the metrics
// (env/metrics.hpp) as a table or JSON. Policies: a policy file path or a builtin name
// (trained, static-best, static:CONFIG, governor:performance|powersave|schedutil, heuristic, oracle).
// --record DIR also runs each pair through the runtime's controller (tools/replay_sim.hpp, what
// `hetsched sim --record` uses) and writes DIR/<policy>_<scenario>.trace; the printed metrics stay
// env::run_scenario's, and a pair whose recorded run differs from them is reported on stderr.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "env/policy_runner.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"
#include "tools/replay_sim.hpp"

namespace hetsched::tools {
namespace {

// A trace file name part: the file name of a path without ".policy", then every character
// outside [A-Za-z0-9._-] replaced by '_' ("governor:schedutil" -> "governor_schedutil").
std::string sanitise(std::string name) {
  if (const auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
  if (name.size() > 7 && name.ends_with(".policy")) name.resize(name.size() - 7);
  for (char& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  return name.empty() || name[0] == '.' ? "_" + name : name;
}

int cmd_eval(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched eval --platform P --model M --policy NAME|FILE [--policy ...] --scenario S.json [...] [--seed N] [--record DIR] [--json]",
      "run policies over scenarios in the simulator and compare their metrics",
      {{"platform", "P", "platform name (env/platforms/P.json)"},
       {"model", "M", "model name or alias"},
       {"policy", "NAME|FILE", "trained, static-best, static:CONFIG, governor:performance, governor:powersave, "
                               "governor:schedutil, heuristic, oracle, or a .policy file", true},
       {"scenario", "S.json", "scenario file", true},
       {"seed", "N", "noise seed (default 1)"},
       {"record", "DIR", "also write one trace per pair, DIR/<policy>_<scenario>.trace (replayable with hetsched replay)"},
       {"json", "", "print {\"results\": [{\"scenario\", \"policy\", <metric keys>, recovery_median_periods}]}"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"platform", "model", "policy", "scenario"})
    if (!a.has(req)) return fail(kExitUsage, std::string("eval: --") + req + " is required (hetsched eval --help)");
  const auto seed = a.get_int("seed", 1);
  if (!seed) return kExitUsage;
  if (*seed < 0) return fail(kExitUsage, "eval: --seed must be >= 0");
  auto setup = env::make_runner_setup(data_dir(), a.get("platform"), a.get("model"));
  if (!setup.ok()) return fail(kExitRuntime, "eval: " + setup.status().message());
  env::RunnerSetup& s = **setup;
  std::vector<env::Scenario> scenarios;
  for (const auto& path : a.get_all("scenario")) {
    auto sc = env::load_scenario(path);
    if (!sc.ok()) return fail(kExitRuntime, "eval: " + sc.status().message());
    if (Status st = env::validate_scenario(*sc, s.platform); !st.ok()) return fail(kExitRuntime, "eval: " + st.message());
    scenarios.push_back(std::move(sc.value()));
  }
  // Trace paths, checked for collisions before anything runs.
  std::map<std::pair<std::string, std::string>, std::string> trace_of;
  if (a.has("record")) {
    const std::string dir = a.get("record");
    if (dir.empty()) return fail(kExitUsage, "eval: --record needs a directory");
    std::map<std::string, std::string> seen;
    for (const auto& name : a.get_all("policy"))
      for (const auto& sc : scenarios) {
        const std::string file = dir + "/" + sanitise(name) + "_" + sanitise(sc.name) + ".trace";
        const std::string pair = name + " / " + sc.name;
        if (auto [it, fresh] = seen.emplace(file, pair); !fresh && it->second != pair)
          return fail(kExitUsage, "eval: --record: " + it->second + " and " + pair + " would both write " + file);
        trace_of[{name, sc.name}] = file;
      }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(kExitRuntime, "eval: --record: cannot create directory " + dir + ": " + ec.message());
  }
  nlohmann::json results = nlohmann::json::array();
  if (!a.has("json"))
    std::printf("%-18s %-24s %8s %7s %9s %9s %7s %6s %5s\n", "scenario", "policy", "fps", "qos%", "mJ/frame",
                "power_mW", "peak_C", "reconf", "recov");
  for (const auto& name : a.get_all("policy")) {
    for (const auto& sc : scenarios) {
      std::unique_ptr<policies::Controller> ctl;
      if (name == "trained" || name.find('/') != std::string::npos || name.find(".policy") != std::string::npos) {
        const std::string path = name == "trained" ? env::shipped_policy_path(s) : name;
        auto c = env::load_trained(s, path);
        if (!c.ok()) return fail(kExitRuntime, "eval: " + c.status().message());
        ctl = std::move(c.value());
      } else if (name != "oracle") {
        auto c = env::make_builtin(s, name, sc);
        if (!c.ok()) return fail(kExitUsage, "eval: --policy " + name + ": " + c.status().message());
        ctl = std::move(c.value());
      }
      auto r = env::run_scenario(s, sc, static_cast<std::uint64_t>(*seed), ctl.get());
      if (!r.ok()) return fail(kExitRuntime, "eval: " + sc.name + " / " + name + ": " + r.status().message());
      std::vector<int> rec = r->recovery_periods;
      std::sort(rec.begin(), rec.end());
      const double med = rec.empty() ? 0.0 : rec[rec.size() / 2];
      const env::Metrics& m = r->metrics;
      std::string trace;
      bool trace_same = true;
      if (a.has("record")) {
        SimRunRequest rq;
        rq.setup = setup.value();
        rq.scenario = sc;
        rq.seed = static_cast<std::uint64_t>(*seed);
        rq.policy = name;
        rq.record_path = trace = trace_of.at({name, sc.name});
        rq.producer = "hetsched eval";
        auto run = run_sim_controller(rq);
        if (!run.ok()) return fail(kExitRuntime, "eval: " + sc.name + " / " + name + ": " + run.status().message());
        // Same metrics = the trace is the run in the table; otherwise say so (the governor
        // baselines differ between env::run_scenario and the controller loop).
        trace_same = env::to_json(run->metrics) == env::to_json(m);
        if (!trace_same)
          std::fprintf(stderr, "eval: note: %s / %s: the recorded run (runtime controller loop) differs from the table's "
                               "(fps %.3f vs %.3f); %s holds the recorded one\n",
                       sc.name.c_str(), name.c_str(), run->metrics.fps_mean, m.fps_mean, trace.c_str());
      }
      if (a.has("json")) {
        nlohmann::json j = env::to_json(m);
        j["scenario"] = sc.name;
        j["policy"] = name;
        j["recovery_median_periods"] = med;
        if (!trace.empty()) j["trace"] = trace, j["trace_metrics_identical"] = trace_same;
        results.push_back(j);
      } else {
        std::printf("%-18s %-24s %8.2f %7.2f %9.1f %9.0f %7.1f %6lld %5.0f\n", sc.name.c_str(), name.c_str(), m.fps_mean,
                    m.qos_violation_pct, m.energy_per_frame_mj, m.avg_power_mw, m.peak_temp_c,
                    static_cast<long long>(m.reconfigs), med);
      }
    }
  }
  if (a.has("json")) std::cout << nlohmann::json{{"results", results}}.dump() << "\n";
  return kExitOk;
}

const CommandRegistrar kReg{"eval", "compare policies (trained, baselines, oracle) over scenarios in the simulator", cmd_eval};

}  // namespace
}  // namespace hetsched::tools
