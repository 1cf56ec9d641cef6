// hetsched eval: runs every (policy, scenario) pair in the simulator and prints the metrics
// (env/metrics.hpp) as a table or JSON. Policies: a policy file path or a builtin name
// (trained, static-best, static:CONFIG, governor:performance|powersave|schedutil, heuristic, oracle).
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "env/policy_runner.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace hetsched::tools {
namespace {

int cmd_eval(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched eval --platform P --model M --policy NAME|FILE [--policy ...] --scenario S.json [...] [--seed N] [--json]",
      "run policies over scenarios in the simulator and compare their metrics",
      {{"platform", "P", "platform name (env/platforms/P.json)"},
       {"model", "M", "model name or alias"},
       {"policy", "NAME|FILE", "trained, static-best, static:CONFIG, governor:performance, governor:powersave, "
                               "governor:schedutil, heuristic, oracle, or a .policy file", true},
       {"scenario", "S.json", "scenario file", true},
       {"seed", "N", "noise seed (default 1)"},
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
      if (a.has("json")) {
        nlohmann::json j = env::to_json(m);
        j["scenario"] = sc.name;
        j["policy"] = name;
        j["recovery_median_periods"] = med;
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
