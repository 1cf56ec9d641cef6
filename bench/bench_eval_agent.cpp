// The agent's acceptance figures (issue 4): every policy over the shipped suite and the
// held-out scenarios (env/scenarios/heldout, never trained on), for rockpi_n10 and the models
// with a shipped policy; a model with its own suite (env/scenarios/<model>{,/heldout}, e.g.
// resnet50) is judged on it, plus one SUMMARY line (not in the totals) for the shared suite. Prints one line per (model, scenario, policy) and the checks:
//   A1  energy/frame <= 1.10 x oracle while qos_violation_pct <= oracle + 3   (per scenario)
//   A2  changing scenarios: qos < static-best and every governor; energy < governor:performance
//   A3  median periods back within QoS after a change <= 10
// A plain program (not a timed unit test):
//   bench_eval_agent [--policies DIR] [--scenario NAME] [--economy X] [model ...]
// (--scenario: only that scenario file, by stem; --economy: AgentOptions::economy_saving);
// DIR holds rockpi_n10_<model>.policy (default: the shipped policies/trained/). The trained
// agent's line also shows its safety-layer counters (guard jumps, vetoed moves, policy jumps).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "env/policy_runner.hpp"

namespace he = hetsched::env;

int main(int argc, char** argv) {
  const std::string data = HETSCHED_ENV_DATA_DIR "/..";
  std::vector<std::string> models = {"googlenet", "mobilenet_v1", "resnet50"}, given;
  std::string dir, only;
  hetsched::policies::AgentOptions agent_opt;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--policies" && i + 1 < argc) dir = argv[++i];
    else if (std::string(argv[i]) == "--scenario" && i + 1 < argc) only = argv[++i];
    else if (std::string(argv[i]) == "--economy" && i + 1 < argc) agent_opt.economy_saving = std::atof(argv[++i]);
    else given.push_back(argv[i]);
  }
  if (!given.empty()) models = given;
  // A model's suite: env/scenarios/<model>{,/heldout} when it exists (resnet50: targets scaled
  // to what it can deliver), else env/scenarios{,/heldout} (env::default_scenario_dir).
  auto suite = [&](const std::string& top) {
    std::vector<std::string> files;
    for (const std::string& dir : {top, top + "/heldout"})
      for (const std::string& f : he::scenario_files(dir))
        if (only.empty() || std::filesystem::path(f).stem() == only) files.push_back(f);
    return files;
  };
  const std::vector<std::string> policies = {"trained", "oracle", "static-best", "governor:performance",
                                             "governor:powersave", "governor:schedutil", "heuristic"};
  int fails = 0, a1_pass = 0, a2_pass = 0, a2_total = 0, n_scen = 0;
  std::vector<int> all_rec;
  // Evaluates one model over `files`; verbose = print every line and count towards the totals,
  // else only the model's SUMMARY line, labelled with `label`.
  auto evaluate = [&](he::RunnerSetup& setup, const std::string& model, const std::vector<std::string>& files, bool verbose,
                      const std::string& label) -> bool {
    if (verbose)
      std::printf("\n== rockpi_n10 / %s (%s)\n%-22s %-22s %7s %9s %8s %6s\n", model.c_str(), label.c_str(), "scenario", "policy", "qos%",
                  "mJ/frame", "fps", "recov");
    int m_a1 = 0, m_a2 = 0, m_n = 0, m_n2 = 0, m_imp = 0, m_orc = 0, m_a1_held = 0, m_n_held = 0;
    std::vector<int> m_rec;
    for (const auto& f : files) {
      auto sc = he::load_scenario(f);
      if (!sc.ok()) { std::fprintf(stderr, "%s\n", sc.status().message().c_str()); return false; }
      std::map<std::string, he::RunResult> r;
      for (const auto& p : policies) {
        std::unique_ptr<hetsched::policies::Controller> ctl;
        if (p == "trained") {
          const std::string path = dir.empty() ? he::shipped_policy_path(setup) : dir + "/rockpi_n10_" + model + ".policy";
          auto c = he::load_trained(setup, path, agent_opt);
          if (!c.ok()) { std::fprintf(stderr, "%s\n", c.status().message().c_str()); return false; }
          ctl = std::move(c.value());
        } else if (p != "oracle") {
          auto c = he::make_builtin(setup, p, *sc);
          if (!c.ok()) return false;
          ctl = std::move(c.value());
        }
        auto rr = he::run_scenario(setup, *sc, 1, ctl.get());
        if (!rr.ok()) { std::fprintf(stderr, "%s\n", rr.status().message().c_str()); return false; }
        std::vector<int> rec = rr->recovery_periods;
        std::sort(rec.begin(), rec.end());
        if (verbose)
          std::printf("%-22s %-22s %7.2f %9.1f %8.2f %6s\n", sc->name.c_str(), p.c_str(), rr->metrics.qos_violation_pct,
                      rr->metrics.energy_per_frame_mj, rr->metrics.fps_mean,
                      rec.empty() ? "-" : std::to_string(rec[rec.size() / 2]).c_str());
        if (const auto* n = ctl ? hetsched::policies::agent_counters(*ctl) : nullptr; n && verbose)
          std::printf("%-22s %-22s guard jumps %ld, economy jumps %ld, vetoes %ld, policy jumps %ld, reconfigs %ld\n", "", "",
                      n->guard_jumps, n->economy_jumps, n->vetoes, n->policy_jumps, static_cast<long>(rr->metrics.reconfigs));
        r[p] = *rr;
      }
      const auto& t = r["trained"].metrics;
      const auto& o = r["oracle"].metrics;
      const bool a1 = t.energy_per_frame_mj <= 1.10 * o.energy_per_frame_mj && t.qos_violation_pct <= o.qos_violation_pct + 3;
      if (verbose)
        std::printf("  A1 energy %.3f x oracle, qos %+.2f points vs oracle: %s\n", t.energy_per_frame_mj / o.energy_per_frame_mj,
                    t.qos_violation_pct - o.qos_violation_pct, a1 ? "PASS" : "FAIL");
      else if (!a1)
        std::printf("  (%s) %s: A1 FAIL, energy %.3f x oracle, qos %+.2f points\n", label.c_str(), sc->name.c_str(),
                    t.energy_per_frame_mj / o.energy_per_frame_mj, t.qos_violation_pct - o.qos_violation_pct);
      m_a1 += a1, ++m_n;
      // Held-out scenarios (a heldout/ directory) are reported apart: choices of seeds and
      // controller parameters are made on the shipped ones only.
      if (f.find("/heldout/") != std::string::npos) m_a1_held += a1, ++m_n_held;
      if (verbose) fails += !a1, a1_pass += a1, ++n_scen;
      if (!sc->events.empty()) {
        bool a2 = t.energy_per_frame_mj < r["governor:performance"].metrics.energy_per_frame_mj;
        for (const char* b : {"static-best", "governor:performance", "governor:powersave", "governor:schedutil"})
          a2 = a2 && t.qos_violation_pct < r[b].metrics.qos_violation_pct;
        // "Strictly fewer" than a baseline at 0 % is impossible; where the clairvoyant oracle
        // is not below the best baseline either, the check is out of reach in practice.
        double best_base = 1e9;
        for (const char* b : {"static-best", "governor:performance", "governor:powersave", "governor:schedutil"})
          best_base = std::min(best_base, r[b].metrics.qos_violation_pct);
        const char* why = a2 ? "" : best_base <= 0 ? " (impossible: a baseline has 0 % violations)"
                                : o.qos_violation_pct >= best_base ? " (the oracle is not below the best baseline either)" : "";
        m_imp += !a2 && best_base <= 0, m_orc += !a2 && best_base > 0 && o.qos_violation_pct >= best_base;
        if (verbose) std::printf("  A2 fewer violations than static-best and governors, less energy than performance: %s%s\n", a2 ? "PASS" : "FAIL", why);
        m_a2 += a2, ++m_n2;
        m_rec.insert(m_rec.end(), r["trained"].recovery_periods.begin(), r["trained"].recovery_periods.end());
        if (verbose) {
          fails += !a2, a2_pass += a2, ++a2_total;
          all_rec.insert(all_rec.end(), r["trained"].recovery_periods.begin(), r["trained"].recovery_periods.end());
        }
      }
    }
    std::sort(m_rec.begin(), m_rec.end());
    std::printf("SUMMARY %s%s: A1 %d / %d (shipped %d / %d, held-out %d / %d), A2 %d / %d (failed: %d impossible, %d the oracle cannot either), median recovery %d periods over %zu changes\n",
                model.c_str(), verbose ? "" : (" (" + label + ")").c_str(), m_a1, m_n, m_a1 - m_a1_held, m_n - m_n_held, m_a1_held, m_n_held, m_a2, m_n2, m_imp, m_orc,
                m_rec.empty() ? 0 : m_rec[m_rec.size() / 2], m_rec.size());
    return true;
  };
  for (const auto& model : models) {
    auto setup = he::make_runner_setup(data, "rockpi_n10", model);
    if (!setup.ok()) { std::fprintf(stderr, "%s\n", setup.status().message().c_str()); return 1; }
    const std::string top = data + "/env/scenarios", own = he::default_scenario_dir(data, (*setup)->model.name);
    if (!evaluate(**setup, model, suite(own), true, own == top ? "env/scenarios" : "env/scenarios/" + (*setup)->model.name)) return 1;
    // A model with its own suite: one line for the shared (GoogLeNet-sized) suite too, so the
    // docs can report both (not counted in the totals).
    if (own != top && !evaluate(**setup, model, suite(top), false, "googlenet-sized env/scenarios")) return 1;
  }
  std::sort(all_rec.begin(), all_rec.end());
  const int med = all_rec.empty() ? 0 : all_rec[all_rec.size() / 2];
  std::printf("\nA3 median recovery over %zu changes: %d periods: %s\n", all_rec.size(), med, med <= 10 ? "PASS" : "FAIL");
  fails += med > 10;
  std::printf("A1 passed %d / %d, A2 passed %d / %d (all models)\n", a1_pass, n_scen, a2_pass, a2_total);
  std::printf("failed checks: %d\n", fails);
  return 0;
}
