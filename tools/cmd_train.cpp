// hetsched train: trains the agent (Double DQN over the jump+nudge action space) in the
// simulator with domain randomisation over scenarios, then writes the policy file and a
// learning-curve CSV beside it (POLICY.csv).
//
// Loop: each episode draws a scenario (seeded RNG), resets a BatchedEnv of --envs copies with
// distinct noise seeds, starts from the scenario's static-best configuration and steps until
// the scenario ends. The teacher is the oracle's candidate for the hidden conditions with unit
// availability as the policy senses it (DAgger labels; dqn: exploration hints); the policy
// never sees it. Oracle answers go through env::OracleCache (--cache DIR).
// Determinism: with --steps the run is a pure function of (seed, envs); --minutes is a
// wall-clock cap (candidate grid included), so a run it cuts short depends on machine speed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "agent/export.hpp"
#include "agent/trainer.hpp"
#include "env/policy_runner.hpp"
#include "env/rl_env.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"
#include "tools/train_from.hpp"

namespace hetsched::tools {
namespace {

namespace fs = std::filesystem;
using policies::Config;

// Conditions that change the oracle's answer (die temperature alone does not re-plan).
bool changed(const env::Conditions& a, const env::Conditions& b) {
  if (a.target_fps != b.target_fps || a.max_latency_ms != b.max_latency_ms || a.power_budget_mw != b.power_budget_mw) return true;
  for (size_t u = 0; u < a.unit.size(); ++u)
    if (a.unit[u].online != b.unit[u].online || a.unit[u].slowdown != b.unit[u].slowdown ||
        a.unit[u].max_opp != b.unit[u].max_opp || a.unit[u].bg_util != b.unit[u].bg_util)
      return true;
  return false;
}

// Domain randomisation: the suite names a handful of target FPS values; the deployed agent
// meets others. 3 episodes in 4 scale every target FPS by one factor in [0.6, 1.5] and snap it
// to the candidate grid of env::oracle_candidates (2..30 FPS), so the teacher's answer is
// always among the candidates (a label for every visited state). Other magnitudes stay as in
// the suite: off-grid slowdowns or budgets would leave states without a label.
env::Scenario randomise(const env::Scenario& base, Rng& rng) {
  if (rng.uniform() < 0.25) return base;
  env::Scenario s = base;
  const double f = 0.6 + 0.9 * rng.uniform();
  auto fps = [&](double v) {
    if (v <= 0) return 0.0;
    double best = 2;
    for (double g : {2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0})
      if (std::abs(g - v * f) < std::abs(best - v * f)) best = g;
    return best;
  };
  s.initial.target_fps = fps(s.initial.target_fps);
  for (auto& e : s.events)
    if (e.type == env::EventType::kTargetFps) e.value = fps(e.value);
  return s;
}

int cmd_train(const std::vector<std::string>& argv) {
  for (const auto& w : argv)  // online learning from a device's stream (tools/train_from.hpp)
    if (w == "--from" || w.rfind("--from=", 0) == 0) return train_from(argv);
  const CommandSpec spec{
      "hetsched train --platform P --model M [--scenarios DIR|FILES ...] --out POLICY --seed N [--minutes T] [--steps N]",
      "train the placement/split/DVFS agent in the simulator and write a policy file",
      {{"platform", "P", "platform name"},
       {"model", "M", "model name or alias"},
       {"scenarios", "DIR|FILE", "training scenarios: directories (their *.json) or files (default env/scenarios/<model> if it exists, else env/scenarios)", true},
       {"out", "POLICY", "policy file to write (learning curve goes to POLICY.csv)"},
       {"seed", "N", "seed for weights, exploration, scenario draws and noise"},
       {"minutes", "T", "wall-clock cap in minutes (default 10)"},
       {"steps", "N", "environment-step budget (default 3000000); the deterministic stopping rule"},
       {"envs", "N", "environments stepped together (default 8)"},
       {"threads", "N", "threads stepping them (default 1; results do not depend on it)"},
       {"learner", "L", "dagger (default: imitate the oracle on visited states, DQN regression) or dqn (Double DQN on the env reward)"},
       {"min-map", "X", "accuracy budget for int8 NPU blocks (mAP, models with a table only; default 0 = none)"},
       {"cache", "DIR", "oracle answer cache (default $HETSCHED_CACHE_DIR or ~/.cache/hetsched; 'none' = off); results do not depend on it"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"platform", "model", "out", "seed"})
    if (!a.has(req)) return fail(kExitUsage, std::string("train: --") + req + " is required (hetsched train --help)");
  const auto seed = a.get_int("seed", 1), steps = a.get_int("steps", 3000000), envs = a.get_int("envs", 8),
             threads = a.get_int("threads", 1);
  const auto minutes = a.get_double("minutes", 10), min_map = a.get_double("min-map", 0);
  if (!seed || !steps || !envs || !threads || !minutes || !min_map) return kExitUsage;
  if (*seed < 0) return fail(kExitUsage, "train: --seed must be >= 0");
  const std::string learner = a.get("learner", "dagger");
  if (learner != "dagger" && learner != "dqn") return fail(kExitUsage, "train: --learner must be dagger or dqn, not '" + learner + "'");
  const bool dagger = learner == "dagger";
  if (*steps < 1) return fail(kExitUsage, "train: --steps must be >= 1");
  if (*envs < 1 || *envs > 256) return fail(kExitUsage, "train: --envs must be in 1..256");
  if (*threads < 0 || *threads > 64) return fail(kExitUsage, "train: --threads must be in 0..64");
  if (!(*minutes > 0) || !std::isfinite(*minutes)) return fail(kExitUsage, "train: --minutes must be > 0");

  auto setup = env::make_runner_setup(data_dir(), a.get("platform"), a.get("model"));
  if (!setup.ok()) return fail(kExitRuntime, "train: " + setup.status().message());
  env::RunnerSetup& s = **setup;
  std::vector<std::string> files;
  std::vector<std::string> srcs = a.get_all("scenarios");
  // Default: the model's own suite (targets it can reach) when there is one.
  if (srcs.empty()) {
    srcs.push_back(env::default_scenario_dir(data_dir(), s.model.name));
    std::fprintf(stderr, "train: scenarios from %s\n", srcs.back().c_str());
  }
  for (const auto& src : srcs) {
    std::error_code ec;
    if (fs::is_directory(src, ec)) {
      const std::vector<std::string> in = env::scenario_files(src);
      files.insert(files.end(), in.begin(), in.end());
    } else {
      files.push_back(src);
    }
  }
  std::vector<env::Scenario> scen;
  for (const auto& f : files) {
    auto sc = env::load_scenario(f);
    if (!sc.ok()) return fail(kExitRuntime, "train: " + sc.status().message());
    if (Status st = env::validate_scenario(*sc, s.platform); !st.ok()) return fail(kExitRuntime, "train: " + st.message());
    scen.push_back(std::move(sc.value()));
  }
  if (scen.empty()) return fail(kExitUsage, "train: no scenario files found in --scenarios");

  const auto t_start = std::chrono::steady_clock::now();
  std::string cache_dir = a.get("cache", "");
  if (cache_dir.empty()) {
    if (const char* d = std::getenv("HETSCHED_CACHE_DIR"); d && *d) cache_dir = d;
    else if (const char* h = std::getenv("HOME"); h && *h) cache_dir = std::string(h) + "/.cache/hetsched";
  }
  if (cache_dir == "none") cache_dir.clear();
  env::OracleCache ocache = env::OracleCache::open(s, cache_dir);
  if (!ocache.note().empty()) std::fprintf(stderr, "train: %s\n", ocache.note().c_str());
  auto cands = env::oracle_candidates(s, scen, 96, std::max<int>(1, static_cast<int>(*threads)), &ocache);
  if (!cands.ok()) return fail(kExitRuntime, "train: " + cands.status().message());
  auto costs = env::candidate_costs(s, *cands);
  if (!costs.ok()) return fail(kExitRuntime, "train: " + costs.status().message());
  auto parts = env::make_agent_parts(s, *cands, *min_map, *costs);
  if (!parts.ok()) return fail(kExitRuntime, "train: " + parts.status().message());
  const auto& space = *parts->space;
  const auto& enc = parts->encoder;
  const int N = static_cast<int>(*envs), O = enc.size(), A = space.size();

  agent::TrainerOptions to;
  to.dqn.observation_size = O;
  to.dqn.num_actions = A;
  to.dqn.hidden_sizes = {64, 64};
  to.dqn.gamma = 0.9f;
  to.dqn.batch_size = 64;
  to.dqn.target_sync_every = 500;
  to.dqn.seed = static_cast<std::uint64_t>(*seed) + 1;
  to.epsilon = dagger ? agent::EpsilonScheduleOptions{agent::EpsilonDecay::kLinear, 0.1, 0.02, std::max<std::int64_t>(1, *steps / 2)}
                     : agent::EpsilonScheduleOptions{agent::EpsilonDecay::kLinear, 1.0, 0.05, std::max<std::int64_t>(1, *steps / 2)};
  to.warmup = std::min<int>(2000, static_cast<int>(std::max<std::int64_t>(1, *steps / 4)));
  to.seed = static_cast<std::uint64_t>(*seed) * 7919 + 3;
  auto trainer = agent::DqnTrainer::create(to);
  if (!trainer.ok()) return fail(kExitRuntime, "train: " + trainer.status().message());

  env::RewardOptions ro;
  auto batch = env::BatchedEnv::create(N, static_cast<int>(*threads), s.costs, s.thermal, {}, ro);
  if (!batch.ok()) return fail(kExitRuntime, "train: " + batch.status().message());
  env::BatchedEnv& B = **batch;

  const std::string out = a.get("out");
  std::ofstream csv(out + ".csv");
  if (!csv) return fail(kExitRuntime, "train: cannot write " + out + ".csv");
  csv << "episode,steps,scenario,mean_reward,epsilon,loss\n";

  std::vector<Config> cfg(static_cast<size_t>(N)), next_cfg(static_cast<size_t>(N));
  std::vector<env::OfflineDetector> det(static_cast<size_t>(N), env::OfflineDetector(s.platform));
  std::vector<float> obs(static_cast<size_t>(N * O)), nobs(static_cast<size_t>(N * O));
  std::vector<std::uint8_t> mask(static_cast<size_t>(N * A)), nmask(static_cast<size_t>(N * A));
  std::vector<int> act(static_cast<size_t>(N)), hint(static_cast<size_t>(N), -1);
  std::vector<std::uint64_t> seen(static_cast<size_t>(N), ~0ull);
  std::vector<std::uint64_t> seeds(static_cast<size_t>(N));
  std::vector<env::Conditions> last_cond(static_cast<size_t>(N));
  std::vector<policies::EncoderState> est(static_cast<size_t>(N));
  // Teacher answers by conditions, shared by all envs and episodes (and with --cache across
  // runs): the oracle is the expensive part of a DAgger step (up to ~0.5 s per query for
  // mobilenet_v1). The die temperature only moves leakage; it is rounded to 5 °C so answers
  // can be reused, and the rounded conditions are what the oracle is asked, so labels are the
  // same whether they come from the cache or from a query.
  auto teacher = [&](const env::Conditions& c) {
    env::Conditions q = c;
    q.die_temp_c = 5.0 * std::round(c.die_temp_c / 5.0);
    q.ambient_c = 5.0 * std::round(c.ambient_c / 5.0);
    Config cfg;
    return ocache.query(s, q, &cfg) ? space.find_candidate(cfg) : -1;
  };
  policies::TelemetryFrame frame;
  Rng rng(static_cast<std::uint64_t>(*seed) ^ 0xabcdefull);
  const auto t0 = t_start;  // --minutes caps the whole run, candidate grid included
  const double cap_s = *minutes * 60.0;
  std::int64_t total = 0, episode = 0;
  float last_loss = std::nanf("");
  double elapsed = 0;
  // Live progress line on stderr (every 20 000 steps and at each episode end).
  auto progress = [&](std::int64_t steps_done, std::int64_t episodes, double mean_reward) {
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double sps = static_cast<double>(steps_done) / std::max(elapsed, 1e-9);
    const double eta = std::min((static_cast<double>(*steps) - static_cast<double>(steps_done)) / std::max(sps, 1e-9), cap_s - elapsed);
    std::fprintf(stderr, "\rtrain: %lld steps  %.0f steps/s  episodes %lld  mean reward %.3f  eps %.3f  ETA %.0f s   ",
                 static_cast<long long>(steps_done), sps, static_cast<long long>(episodes), mean_reward, trainer->epsilon(),
                 std::max(0.0, eta));
  };
  while (total < *steps && elapsed < cap_s) {
    const env::Scenario sc = randomise(scen[rng.below(static_cast<std::uint32_t>(scen.size()))], rng);
    for (int i = 0; i < N; ++i) seeds[static_cast<size_t>(i)] = rng.next();
    if (Status st = B.reset(seeds, sc); !st.ok()) return fail(kExitRuntime, "train: " + st.message());
    auto best = env::static_best(s, sc);
    if (!best.ok()) return fail(kExitRuntime, "train: " + best.status().message());
    std::fill(cfg.begin(), cfg.end(), *best);
    for (auto& d : det) d.reset();
    std::fill(est.begin(), est.end(), policies::EncoderState{});
    std::fill(seen.begin(), seen.end(), ~0ull);
    B.step(cfg);  // the first period runs the offline pick; the agent decides from then on
    auto encode_all = [&](std::vector<float>& o, std::vector<std::uint8_t>& m) {
      for (int i = 0; i < N; ++i) {
        const env::StepResult& r = B.results()[static_cast<size_t>(i)];
        frame_from_observation(r.obs, &frame);
        const auto& mi = det[static_cast<size_t>(i)].update(r.obs, cfg[static_cast<size_t>(i)]);
        const int cur = space.find_candidate(cfg[static_cast<size_t>(i)]);
        enc.observe(frame, cfg[static_cast<size_t>(i)], cur, &est[static_cast<size_t>(i)]);
        enc.encode(frame, cfg[static_cast<size_t>(i)], cur, est[static_cast<size_t>(i)],
                   std::span<float>(o).subspan(static_cast<size_t>(i * O), static_cast<size_t>(O)));
        space.mask(cfg[static_cast<size_t>(i)], mi, std::span<std::uint8_t>(m).subspan(static_cast<size_t>(i * A), static_cast<size_t>(A)));
      }
    };
    encode_all(obs, mask);
    double rsum = 0;
    std::int64_t rn = 0;
    bool done = false;
    while (!done) {
      for (int i = 0; i < N; ++i) {
        const size_t k = static_cast<size_t>(i);
        // Teacher hint: the oracle's choice for the hidden conditions, re-queried when they
        // change, with unit availability as the policy senses it (OfflineDetector): the policy
        // cannot know that a masked unit is back, nor that a forgotten one is still down, so
        // labels that assume it would teach it what it cannot infer.
        env::Conditions c = B.results()[k].info.conditions;
        for (int u = 0; u < s.platform.num_units(); ++u) c.unit[static_cast<size_t>(u)].online = det[k].mask().online[static_cast<size_t>(u)];
        if (seen[k] == ~0ull || changed(c, last_cond[k])) {
          hint[k] = teacher(c);
          last_cond[k] = c;
          seen[k] = 0;
        }
        const auto ok = std::span<const float>(obs).subspan(k * static_cast<size_t>(O), static_cast<size_t>(O));
        const auto mk = std::span<const std::uint8_t>(mask).subspan(k * static_cast<size_t>(A), static_cast<size_t>(A));
        const bool hint_ok = hint[k] >= 0 && mk[static_cast<size_t>(hint[k])];
        if (dagger) {
          // DAgger: label the visited state with the teacher's action; act with the teacher
          // with probability beta (1 -> 0 over the first half of the budget), else the learner.
          if (hint_ok) {
            const float l = trainer->imitate(ok, mk, hint[k], 3);
            if (!std::isnan(l)) last_loss = l;
          }
          const double beta = std::max(0.0, 1.0 - 2.0 * static_cast<double>(total) / static_cast<double>(*steps));
          act[k] = hint_ok && trainer->uniform() < beta ? hint[k] : trainer->act(ok, mk, -1);
        } else {
          act[k] = trainer->act(ok, mk, hint[k]);
        }
        next_cfg[k] = space.apply(act[k], cfg[k]);
      }
      cfg = next_cfg;
      B.step(cfg);
      encode_all(nobs, nmask);
      for (int i = 0; i < N; ++i) {
        const size_t k = static_cast<size_t>(i);
        const env::StepResult& r = B.results()[k];
        const float rew = static_cast<float>(r.reward);
        rsum += rew, ++rn;
        if (dagger) { done = done || r.done; continue; }
        const float l = trainer->observe(std::span<const float>(obs).subspan(k * static_cast<size_t>(O), static_cast<size_t>(O)), act[k],
                                         rew, std::span<const float>(nobs).subspan(k * static_cast<size_t>(O), static_cast<size_t>(O)),
                                         std::span<const std::uint8_t>(nmask).subspan(k * static_cast<size_t>(A), static_cast<size_t>(A)), r.done);
        if (!std::isnan(l)) last_loss = l;
        done = done || r.done;
      }
      obs.swap(nobs);
      mask.swap(nmask);
      total += N;
      if (total % 20000 < N) progress(total, episode, rn ? rsum / static_cast<double>(rn) : 0.0);
    }
    progress(total, episode + 1, rn ? rsum / static_cast<double>(rn) : 0.0);
    ++episode;
    csv << episode << "," << total << "," << sc.name << "," << (rn ? rsum / static_cast<double>(rn) : 0.0) << ","
        << trainer->epsilon() << "," << (std::isnan(last_loss) ? 0.0f : last_loss) << "\n";
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::fprintf(stderr, "\n");
  if (Status cs = ocache.flush(); !cs.ok()) std::fprintf(stderr, "train: warning: %s\n", cs.message().c_str());
  std::string names;
  for (const auto& sc : scen) names += (names.empty() ? "" : ",") + sc.name;
  Status st = agent::save_dqn_policy(out, trainer->dqn(), parts->schema,
                                     {{"candidates", env::join_candidates(*cands, s.platform)},
                                      {"candidate_costs", env::join_costs(*costs, s.platform.num_units())},
                                      {"min_map", std::to_string(*min_map)},
                                      {"scenarios", names},
                                      {"env_steps", std::to_string(total)},
                                      {"episodes", std::to_string(episode)},
                                      {"envs", std::to_string(N)},
                                      {"train_seed", std::to_string(*seed)},
                                      {"trainer", learner}});
  if (!st.ok()) return fail(kExitRuntime, "train: " + st.message());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::fprintf(stderr, "train: wrote %s (%lld steps, %lld episodes, %lld oracle queries (%lld from the cache), %.0f s training, %.0f s wall incl. candidates, weights checksum %016llx) and %s.csv\n", out.c_str(),
               static_cast<long long>(total), static_cast<long long>(episode), static_cast<long long>(ocache.misses()), static_cast<long long>(ocache.hits()), elapsed, wall,
               static_cast<unsigned long long>(trainer->dqn().online().checksum()), out.c_str());
  return kExitOk;
}

const CommandRegistrar kReg{"train", "train the RL agent in the simulator and write a policy file", cmd_train};

}  // namespace
}  // namespace hetsched::tools
