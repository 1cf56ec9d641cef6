// hetsched replay TRACE [--policy P] [--json] [--show N]
// hetsched replay TRACE --counterfactual --policy P [--json]
//
// Replay: the recorded decision periods go back through runtime::Controller (ReplayTarget under a
// ManualClock, tools/replay_target.hpp). With the recorded policy every decision must come out
// bit-identical (action, observation vector, configuration text); the first difference is
// printed and the exit code is 3. With another policy the differences are the result (exit 0).
// Exit codes: 0 ok, 1 runtime error or a damaged trace (its intact part is still replayed and
// reported), 2 usage, 3 decisions diverged from the recording. docs/replay.md.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/args.hpp"
#include "tools/commands.hpp"
#include "tools/counterfactual.hpp"
#include "tools/replay_policy.hpp"
#include "tools/replay_target.hpp"

namespace hetsched::tools {
namespace {

constexpr int kExitDiverged = 3;

std::string obs_text(const std::vector<float>& v) {
  std::string s = "[";
  char b[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(b, sizeof b, "%s%.9g", i ? "," : "", static_cast<double>(v[i]));
    s += b;
  }
  return s + "]";
}

// Label of an action for histograms: the policy's index when it has an action table, else the
// chosen configuration.
std::string action_label(const telemetry::Decision& d) {
  return d.action >= 0 ? std::to_string(d.action) + " " + d.text : d.text;
}

nlohmann::json decision_json(const telemetry::Decision& d) {
  return {{"action", d.action}, {"config", d.text}, {"observation", d.observation}};
}

int cmd_replay(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched replay TRACE [--policy P] [--json] [--show N] | hetsched replay TRACE --counterfactual --policy P [--observed] [--json]",
      "replay a recorded run through the controller: check its decisions bit for bit, or compare another policy",
      {{"policy", "P", "policy to replay (default: the recorded one): trained, a .policy file, heuristic, static-best, "
                       "static:CONFIG, governor:..., balance (host)"},
       {"counterfactual", "", "re-run the recorded conditions in the simulator under --policy and compare the metrics"},
       {"observed", "", "with --counterfactual: conditions from the observed telemetry (slowdowns, temperatures) even for a simulated run"},
       {"show", "N", "differing decisions to list with another policy (default 5)"},
       {"json", "", "print one JSON object"}},
      1, 1};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  const auto show = a.get_int("show", 5);
  if (!show) return kExitUsage;
  if (*show < 0 || *show > 100000) return fail(kExitUsage, "replay: --show must be in [0, 100000]");
  const std::string path = a.positional[0];
  if (a.has("counterfactual")) {
    if (!a.has("policy")) return fail(kExitUsage, "replay: --counterfactual needs --policy P");
    return run_counterfactual(path, a.get("policy"), a.has("json"), a.has("observed"));
  }

  auto ld = load_replay(path);
  if (!ld.ok()) return fail(kExitRuntime, "replay: " + ld.status().message());
  if (!ld->has_frames)
    return fail(kExitRuntime, "replay: " + path + " has no decisions to replay (no frame records: " +
                                  (ld->id.mode == "import" ? "an imported measurement" : "not written by sim/run --record") +
                                  "); inspect it with hetsched trace info/dump");
  if (ld->frames.empty())
    return fail(kExitRuntime, "replay: " + path + ": no intact decision period" + (ld->damage.empty() ? "" : " (" + ld->damage + ")"));
  auto setup = replay_setup(*ld, data_dir());
  if (!setup.ok()) return fail(kExitRuntime, "replay: " + path + ": " + setup.status().message());
  const std::string recorded = ld->id.policy;
  const std::string policy = a.get("policy", recorded);
  std::uint64_t checksum = 0;
  auto pol = make_replay_policy(*setup, policy, &checksum);
  if (!pol.ok()) return fail(a.has("policy") ? kExitUsage : kExitRuntime, "replay: policy '" + policy + "': " + pol.status().message());
  const bool same_policy = policy == recorded;
  if (same_policy && checksum != ld->id.policy_checksum)
    return fail(kExitRuntime, "replay: policy '" + policy + "' now has checksum " + checksum_hex(checksum) +
                                  " but the run was recorded with " + checksum_hex(ld->id.policy_checksum) +
                                  " (the policy file changed; pass --policy to compare anyway)");
  auto got = replay_run(*ld, setup->platform, setup->model, std::move(pol.value()), setup->run);
  if (!got.ok()) return fail(kExitRuntime, "replay: " + got.status().message());

  const auto& rec = ld->decisions;
  const auto& rep = got.value();
  const size_t n = std::min(rec.size(), rep.size());
  std::vector<size_t> differ;
  for (size_t i = 0; i < n; ++i)
    if (!same_decision(rec[i], rep[i])) differ.push_back(i);
  std::map<std::string, std::pair<int, int>> hist;  // label -> (recorded, replayed)
  if (!same_policy)
    for (size_t i = 0; i < n; ++i) ++hist[action_label(rec[i])].first, ++hist[action_label(rep[i])].second;
  const bool damaged = !ld->damage.empty();
  const double t_end_s = static_cast<double>(ld->frames.back().t_ns) / 1e9;

  if (a.has("json")) {
    nlohmann::json j;
    j["trace"] = path;
    j["policy"] = policy;
    j["recorded_policy"] = recorded;
    j["decisions_recorded"] = ld->decisions_total;
    j["decisions_replayed"] = n;
    j["replayed_until_s"] = t_end_s;
    j["damaged"] = damaged;
    if (damaged) j["damage"] = ld->damage;
    j["differ"] = differ.size();
    j["identical"] = differ.empty();
    nlohmann::json list = nlohmann::json::array();
    for (size_t k = 0; k < differ.size() && static_cast<std::int64_t>(k) < (same_policy ? 1 : *show); ++k) {
      const size_t i = differ[k];
      list.push_back({{"index", i}, {"t_s", static_cast<double>(rec[i].t_ns) / 1e9}, {"recorded", decision_json(rec[i])},
                      {"replayed", decision_json(rep[i])}});
    }
    j["first_differences"] = list;
    if (!same_policy) {
      nlohmann::json h = nlohmann::json::object();
      for (const auto& [label, c] : hist) h[label] = {{"recorded", c.first}, {"replayed", c.second}};
      j["histogram"] = h;
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("replay %s: policy %s%s, %zu of %" PRIu64 " recorded decisions replayed (until t=%.3f s)\n", path.c_str(),
                policy.c_str(), same_policy ? " (recorded)" : (" (recorded: " + recorded + ")").c_str(), n,
                ld->decisions_total, t_end_s);
    if (same_policy && differ.empty()) {
      std::printf("  identical: every action, observation vector and configuration matches bit for bit\n");
    } else if (same_policy) {
      const size_t i = differ[0];
      std::printf("  DIVERGED at decision %zu, t=%.3f s\n", i, static_cast<double>(rec[i].t_ns) / 1e9);
      std::printf("    recorded: action %d %s\n    replayed: action %d %s\n", rec[i].action, rec[i].text.c_str(), rep[i].action,
                  rep[i].text.c_str());
      std::printf("    recorded observation %s\n    replayed observation %s\n", obs_text(rec[i].observation).c_str(),
                  obs_text(rep[i].observation).c_str());
    } else {
      std::printf("  %zu of %zu decisions differ (%.1f %%)\n", differ.size(), n, n ? 100.0 * static_cast<double>(differ.size()) / static_cast<double>(n) : 0.0);
      for (size_t k = 0; k < differ.size() && static_cast<std::int64_t>(k) < *show; ++k) {
        const size_t i = differ[k];
        std::printf("    t=%9.3f s  recorded %-34s replayed %s\n", static_cast<double>(rec[i].t_ns) / 1e9, action_label(rec[i]).c_str(),
                    action_label(rep[i]).c_str());
      }
      std::printf("  actions (recorded / replayed):\n");
      for (const auto& [label, c] : hist) std::printf("    %6d %6d  %s\n", c.first, c.second, label.c_str());
    }
  }
  if (same_policy && !differ.empty()) return kExitDiverged;
  if (damaged)
    return fail(kExitRuntime, "replay: " + path + " is damaged (" + ld->damage + "): replayed the intact part, " +
                                  std::to_string(n) + " decisions up to t=" + std::to_string(t_end_s) + " s");
  return kExitOk;
}

const CommandRegistrar kReg{"replay", "replay a recorded trace through the controller (bit-exact check, other policies, counterfactual)",
                            cmd_replay};

}  // namespace
}  // namespace hetsched::tools
