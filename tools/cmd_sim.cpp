// hetsched sim: run a scenario on the simulator with a static configuration or the oracle and
// print the metrics (env/metrics.hpp definitions). --platform/--model override the scenario's
// "platform"/"model" keys; one of the two sources must name each.
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "env/cost_model.hpp"
#include "env/metrics.hpp"
#include "env/oracle.hpp"
#include "env/scenario.hpp"
#include "env/sim.hpp"
#include "env/thermal.hpp"
#include "policies/config.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace hetsched::tools {
namespace {

int cmd_sim(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched sim --scenario S.json --policy static:CONFIG|oracle [--platform P] [--model M] [--seed N] [--json]",
      "run a scenario on the simulated SoC and print the run metrics",
      {{"scenario", "S.json", "scenario file (env/scenarios/*.json)"},
       {"policy", "POLICY", "static:ORDER:HOSTS:FREQS (a fixed configuration) or oracle (best config per conditions)"},
       {"platform", "P", "platform name (default: the scenario's \"platform\")"},
       {"model", "M", "model name or alias (default: the scenario's \"model\")"},
       {"seed", "N", "noise seed (default 1; same seed = same run)"},
       {"json", "", "print one JSON object: scenario, policy, platform, model + the metric keys"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"scenario", "policy"})
    if (!a.has(req)) return fail(kExitUsage, std::string("sim: --") + req + " is required (hetsched sim --help)");
  const auto seed = a.get_int("seed", 1);
  if (!seed) return kExitUsage;
  if (*seed < 0) return fail(kExitUsage, "sim: --seed must be >= 0");
  const std::string policy = a.get("policy");
  const bool oracle = policy == "oracle";
  if (!oracle && policy.rfind("static:", 0) != 0)
    return fail(kExitUsage, "sim: --policy must be 'static:CONFIG' or 'oracle', not '" + policy + "'");

  auto scenario = env::load_scenario(a.get("scenario"));
  if (!scenario.ok()) return fail(kExitRuntime, scenario.status().message());
  const std::string pname = a.get("platform", scenario->platform), mname = a.get("model", scenario->model);
  if (pname.empty()) return fail(kExitUsage, "sim: no platform: pass --platform or set \"platform\" in " + a.get("scenario"));
  if (mname.empty()) return fail(kExitUsage, "sim: no model: pass --model or set \"model\" in " + a.get("scenario"));
  const std::string data = data_dir();
  auto platform = policies::load_platform_by_name(data, pname);
  if (!platform.ok()) return fail(kExitRuntime, platform.status().message());
  auto model = policies::load_model_by_name(data, mname);
  if (!model.ok()) return fail(kExitRuntime, model.status().message());
  env::CostModel::Options co;
  co.data_dir = data;
  auto cost = env::CostModel::create(*platform, *model, co);
  if (!cost.ok()) return fail(kExitRuntime, cost.status().message());
  auto shared = std::make_shared<const env::CostModel>(std::move(cost.value()));
  auto thermal = env::load_thermal_params(*platform);
  if (!thermal.ok()) return fail(kExitRuntime, thermal.status().message());
  auto sim = env::Simulator::create(std::make_shared<env::CostModelCosts>(shared), *thermal, {});
  if (!sim.ok()) return fail(kExitRuntime, sim.status().message());
  if (Status st = sim->reset(*scenario, static_cast<std::uint64_t>(*seed)); !st.ok()) return fail(kExitRuntime, st.message());

  policies::Config fixed{};
  std::unique_ptr<env::Oracle> orc;
  if (oracle) {
    auto o = env::Oracle::create(*shared, {});
    if (!o.ok()) return fail(kExitRuntime, "sim: oracle: " + o.status().message());
    orc = std::make_unique<env::Oracle>(std::move(o.value()));
  } else {
    auto c = policies::parse_config(policy.substr(7), *platform, *model);
    if (!c.ok()) return fail(kExitUsage, "sim: --policy " + policy + ": " + c.status().message());
    fixed = *c;
  }

  // The oracle re-plans whenever the hidden conditions change (scenario event or thermal cap),
  // checked once per decision period.
  std::uint64_t seen = ~0ull;
  env::OracleResult best;
  while (!sim->done()) {
    if (!oracle) {
      if (Status st = sim->apply(fixed); !st.ok()) return fail(kExitRuntime, "sim: " + st.message());
    } else if (sim->conditions_version() != seen) {
      seen = sim->conditions_version();
      if (Status st = orc->query(sim->conditions(), &best); st.ok()) {
        if (Status s2 = sim->apply(best.config); !s2.ok()) return fail(kExitRuntime, "sim: oracle config: " + s2.message());
      }
      // No online unit: keep the last configuration (it stalls, and QoS shows it).
    }
    sim->step();
  }
  const env::Metrics m = sim->metrics().result();
  if (a.has("json")) {
    nlohmann::json j = env::to_json(m);
    j["scenario"] = scenario->name;
    j["policy"] = policy;
    j["platform"] = platform->name;
    j["model"] = model->name;
    std::cout << j.dump() << "\n";
    return kExitOk;
  }
  std::printf("scenario %s  platform %s  model %s  policy %s  seed %lld\n", scenario->name.c_str(),
              platform->name.c_str(), model->name.c_str(), policy.c_str(), static_cast<long long>(*seed));
  std::printf("  %-22s %12.3f\n", "fps_mean", m.fps_mean);
  std::printf("  %-22s %12.2f\n", "qos_violation_pct", m.qos_violation_pct);
  if (m.frames > 0) std::printf("  %-22s %12.2f\n", "energy_per_frame_mj", m.energy_per_frame_mj);
  else std::printf("  %-22s %12s\n", "energy_per_frame_mj", "-");
  std::printf("  %-22s %12.1f\n", "avg_power_mw", m.avg_power_mw);
  std::printf("  %-22s %12.2f\n", "peak_temp_c", m.peak_temp_c);
  std::printf("  %-22s %12.2f\n", "throttled_pct", m.throttled_pct);
  std::printf("  %-22s %12lld\n", "reconfigs", static_cast<long long>(m.reconfigs));
  std::printf("  %-22s %12lld\n", "frames", static_cast<long long>(m.frames));
  std::printf("  %-22s %12lld\n", "dropped_frames", static_cast<long long>(m.dropped_frames));
  return kExitOk;
}

const CommandRegistrar kReg{"sim", "run a scenario on the simulator (static config or oracle) and print metrics", cmd_sim};

}  // namespace
}  // namespace hetsched::tools
