#include "tools/train_from.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>

#include "agent/dqn.hpp"
#include "agent/replay_buffer.hpp"
#include "env/rl_env.hpp"
#include "policies/agent_file.hpp"
#include "policies/frame_records.hpp"
#include "policies/policy.hpp"
#include "policies/policy_file.hpp"
#include "runtime/stream_client.hpp"
#include "runtime/stream_verify.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace hetsched::tools {
namespace {

using Steady = std::chrono::steady_clock;

// Reward of one period (formula in train_from.hpp).
double period_reward(const policies::TelemetryFrame& f, bool reconfigured, const env::RewardOptions& w) {
  double r = 0;
  const double fps = f.fps_ok ? std::max(0.0, f.fps) : 0.0;
  if (f.target_fps > 0) r -= w.w_qos * std::max(0.0, 1 - fps / f.target_fps);
  else r += w.w_fps * std::min(fps / w.fps_ref, 4.0);
  if (f.max_latency_us_target > 0 && f.latency_ok) r -= w.w_qos * std::max(0.0, f.max_latency_us / f.max_latency_us_target - 1);
  if (f.power_budget_mw > 0 && f.power_ok) r -= w.w_qos * std::max(0.0, f.power_mw / f.power_budget_mw - 1);
  if (f.power_ok && fps > 0) r -= w.w_energy * (f.power_mw / fps) / w.energy_ref_mj;
  if (reconfigured) r -= w.w_reconfig;
  return std::isfinite(r) ? r : 0.0;
}

// What the device did between two of our pushes / rollbacks (printed as a "phase" line): the
// decisions it took and the FPS it delivered, read from the same stream we learn from.
struct Phase {
  std::string label;
  double t0_s = 0;
  std::uint64_t decisions = 0, guard = 0, reconfigs = 0, fps_periods = 0;
  double fps_sum = 0, fps_sq = 0;
  std::map<std::string, std::uint64_t> configs;
  std::string last_text;
  // Hot-swap check: the network the device should be running in this phase (START in phase 0,
  // the pushed one after a push, the one before it after a rollback) and how many of the
  // device's actions equal its masked argmax on the streamed observation (the agent's action
  // index is exactly that: policies::AgentController::last_action).
  std::shared_ptr<policies::MlpPolicy> ref;
  std::string ref_label;
  std::uint64_t ref_checked = 0, ref_agree = 0;
  void print(int index, double t1_s) const {
    std::string top = "-";
    std::uint64_t top_n = 0;
    for (const auto& [c, n] : configs)
      if (n > top_n) top = c, top_n = n;
    // Mean and sample standard deviation of the periods' FPS (each period's own window).
    const double n = static_cast<double>(fps_periods), mean = n > 0 ? fps_sum / n : 0.0;
    const double sd = n > 1 ? std::sqrt(std::max(0.0, (fps_sq - n * mean * mean) / (n - 1))) : 0.0;
    std::printf("phase %d (%s, %.1f-%.1f s): %llu decisions (%llu by the guard), %llu configuration changes, delivered fps mean %.2f (sd %.2f) over %llu periods, "
                "most used %s (%.0f %%)\n",
                index, label.c_str(), t0_s, t1_s, static_cast<unsigned long long>(decisions), static_cast<unsigned long long>(guard),
                static_cast<unsigned long long>(reconfigs), mean, sd, static_cast<unsigned long long>(fps_periods), top.c_str(), decisions ? 100.0 * static_cast<double>(top_n) / static_cast<double>(decisions) : 0.0);
    if (ref)
      std::printf("phase %d: the device's action = %s's masked argmax on %llu of %llu decisions\n", index, ref_label.c_str(),
                  static_cast<unsigned long long>(ref_agree), static_cast<unsigned long long>(ref_checked));
    std::fflush(stdout);
  }
};

struct Last {
  bool valid = false;
  std::vector<float> obs;
  int action = 0;
  std::string text;
  std::int64_t t_ns = 0;
};

}  // namespace

int train_from(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched train --from HOST:PORT --policy START.policy --out POLICY [--seconds S] [--push-every S] [--min-transitions N] "
      "[--seed N] [--token-file F] [--no-push] [--profile PROFILE.json] [--push-start S] [--rollback-at S]",
      "learn online from a device streaming with `hetsched run --listen` and push improved policies back",
      {{"from", "HOST:PORT", "the device's stream (hetsched run --listen)"},
       {"policy", "START.policy", "the policy the device runs: warm start, schema and metadata of every pushed policy"},
       {"out", "POLICY", "where each improved policy is written (overwritten at each push)"},
       {"seconds", "S", "stop after S seconds (default: until the stream ends)"},
       {"push-every", "S", "write and push every S seconds (default 30)"},
       {"min-transitions", "N", "new transitions needed before a push (default 32)"},
       {"updates", "N", "gradient updates per transition (default 4)"},
       {"seed", "N", "replay sampling and weight seed (default 1)"},
       {"token-file", "F", "shared token (servers off loopback); else $HETSCHED_STREAM_TOKEN"},
       {"no-push", "", "only write --out, never push"},
       {"profile", "PROFILE.json", "the host profile --policy was trained on (its action space gives the device's masks)"},
       {"push-start", "S", "at S seconds, push START itself unchanged (e.g. a better policy than the device's); then learn from it"},
       {"rollback-at", "S", "at S seconds, ask the device to roll back to the policy before its last swap (learned pushes resume --push-every later)"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"from", "policy", "out"})
    if (!a.has(req)) return fail(kExitUsage, std::string("train --from: --") + req + " is required");
  const auto seconds = a.get_double("seconds", -1), every = a.get_double("push-every", 30);
  const auto min_tr = a.get_int("min-transitions", 32), updates = a.get_int("updates", 4), seed = a.get_int("seed", 1);
  const auto push_start = a.get_double("push-start", -1), rollback_at = a.get_double("rollback-at", -1);
  if (!seconds || !every || !min_tr || !updates || !seed || !push_start || !rollback_at) return kExitUsage;
  if (a.has("push-start") && !(*push_start >= 0 && *push_start <= 1e7)) return fail(kExitUsage, "train --from: --push-start must be in [0, 1e7] seconds");
  if (a.has("rollback-at") && !(*rollback_at >= 0 && *rollback_at <= 1e7)) return fail(kExitUsage, "train --from: --rollback-at must be in [0, 1e7] seconds");
  if (a.has("no-push") && (a.has("push-start") || a.has("rollback-at")))
    return fail(kExitUsage, "train --from: --no-push excludes --push-start and --rollback-at");
  if (a.has("seconds") && !(*seconds > 0 && *seconds <= 1e7)) return fail(kExitUsage, "train --from: --seconds must be in (0, 1e7]");
  if (!(*every >= 0.1 && *every <= 1e6)) return fail(kExitUsage, "train --from: --push-every must be in [0.1, 1e6] seconds");
  if (*min_tr < 1 || *min_tr > 1000000) return fail(kExitUsage, "train --from: --min-transitions must be in [1, 1e6]");
  if (*updates < 0 || *updates > 64) return fail(kExitUsage, "train --from: --updates must be in [0, 64]");
  runtime::StreamClientOptions co;
  if (Status st = runtime::parse_host_port(a.get("from"), &co.host, &co.port); !st.ok())
    return fail(kExitUsage, "train --from: " + st.message());

  // Warm start: the device's policy. Its network shape becomes the learner's.
  auto start = policies::read_policy_file(a.get("policy"));
  if (!start.ok()) return fail(kExitRuntime, "train --from: --policy: " + start.status().message());
  std::string start_bytes;  // pushed verbatim by --push-start (same checksum as the file)
  {
    std::ifstream in(a.get("policy"), std::ios::binary);
    start_bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const policies::Mlp& net = start->mlp;
  if (net.options().output_activation != policies::Activation::kIdentity)
    return fail(kExitRuntime, "train --from: --policy " + a.get("policy") + ": output activation is not identity (not a Q-network)");
  agent::DqnOptions dq;
  dq.observation_size = net.input_size();
  dq.num_actions = net.output_size();
  const auto& ls = net.options().layer_sizes;
  dq.hidden_sizes.assign(ls.begin() + 1, ls.end() - 1);
  dq.hidden_activation = net.options().hidden_activation;
  dq.seed = static_cast<std::uint64_t>(*seed);
  auto dqn = agent::Dqn::create(dq);
  if (!dqn.ok()) return fail(kExitRuntime, "train --from: " + dqn.status().message());
  std::copy(net.params().begin(), net.params().end(), dqn->online().params().begin());
  dqn->sync_target();
  auto replay = agent::ReplayBuffer::create({20000, dq.observation_size, dq.num_actions, static_cast<std::uint64_t>(*seed)});
  if (!replay.ok()) return fail(kExitRuntime, "train --from: " + replay.status().message());
  auto batch = agent::ReplayBatch::make(dq.batch_size, dq.observation_size, dq.num_actions);

  if (a.has("token-file")) {
    std::ifstream in(a.get("token-file"));
    if (!in) return fail(kExitRuntime, "train --from: --token-file " + a.get("token-file") + ": cannot open");
    std::getline(in, co.token);
    while (!co.token.empty() && (co.token.back() == '\r' || co.token.back() == ' ')) co.token.pop_back();
  } else if (const char* e = std::getenv("HETSCHED_STREAM_TOKEN")) {
    co.token = e;
  }
  auto client = runtime::StreamClient::connect(co);
  if (!client.ok()) return fail(kExitRuntime, "train --from: " + client.status().message());
  auto codec = policies::FrameCodec::from_sources(telemetry::SourceTable(client.value()->hello().sources));
  if (!codec.ok()) return fail(kExitRuntime, "train --from: " + a.get("from") + " publishes no frame records (rewards need them): " + codec.status().message());
  policies::FrameCodec::Decoder decoder(*codec);
  std::fprintf(stderr, "train --from %s: %s; learning from its decisions (%d -> %d)\n", a.get("from").c_str(),
               client.value()->hello().description.c_str(), dq.observation_size, dq.num_actions);

  // The action space of the policy being trained (its candidates are in --policy's metadata):
  // next-state masks. Without it the learner bootstraps over every action (warned).
  std::shared_ptr<const policies::ActionSpace> space;
  {
    // A host policy's platform is "host": its profile (--profile) holds the units and letters.
    auto plat = a.has("profile") ? policies::load_platform(a.get("profile")) : policies::load_platform_by_name(data_dir(), start->schema.platform);
    auto model = plat.ok() ? policies::load_model_by_name(data_dir(), start->schema.model) : Result<policies::ModelDesc>(plat.status());
    auto ag = model.ok() ? policies::agent_from_policy_file(*start, *plat, *model, data_dir(), a.get("policy"))
                         : Result<policies::LoadedAgent>(model.status());
    if (ag.ok() && ag->space && ag->space->size() == dq.num_actions) space = ag->space;
    else
      std::fprintf(stderr, "train --from: warning: no action masks (%s): bootstrapping over every action\n",
                   ag.ok() ? "action space size differs from the network" : ag.status().message().c_str());
  }
  std::vector<std::uint8_t> next_mask(static_cast<std::size_t>(dq.num_actions), 1);
  policies::FrameRecord period;  // the last decoded period (mask inputs of the decision at its t_ns)
  bool have_period = false;
  std::uint64_t masked_transitions = 0;
  const env::RewardOptions w;
  auto metadata = start->metadata;
  metadata["learner"] = "online double-dqn from stream (hetsched train --from)";
  metadata["stream"] = a.get("from");
  metadata["warm_start"] = a.get("policy");
  Last last;
  bool have_frame = false;
  policies::TelemetryFrame frame;
  std::int64_t frame_t_ns = 0;
  std::uint64_t transitions = 0, since_push = 0, skipped = 0, n_updates = 0, lost = 0;
  int pushes = 0, accepted = 0, rejected = 0;
  const auto t0 = Steady::now();
  auto next_push = t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(*every));
  std::string end_reason = "time limit";

  std::vector<Phase> phases(1);
  phases[0].label = "the device's policy";
  phases[0].ref = std::make_shared<policies::MlpPolicy>(start->mlp, "start");
  phases[0].ref_label = "--policy (not pushed yet)";
  std::shared_ptr<policies::MlpPolicy> before_swap;  // what a rollback returns to
  std::string before_label;
  auto new_phase = [&](const std::string& label, double t_s, std::shared_ptr<policies::MlpPolicy> ref, const std::string& ref_label) {
    phases.back().print(static_cast<int>(phases.size()) - 1, t_s);
    Phase p;
    p.label = label, p.t0_s = t_s, p.last_text = phases.back().last_text;
    p.ref = std::move(ref), p.ref_label = ref_label;
    phases.push_back(std::move(p));
  };
  std::vector<std::uint8_t> ref_mask(static_cast<std::size_t>(dq.num_actions), 1);
  bool rolled_back = false, start_pushed = false;
  auto elapsed_s = [&] { return std::chrono::duration<double>(Steady::now() - t0).count(); };
  // Pushes `bytes` (network `mlp`) and prints the verdict; `what` names it in the phase label.
  auto push = [&](const std::string& bytes, const policies::Mlp& mlp, const std::string& what) -> int {
    ++pushes;
    auto r = client.value()->push_policy(bytes, 10000);
    if (!r.ok()) return fail(kExitRuntime, "train --from: push " + std::to_string(pushes) + ": " + r.status().message());
    (r->accepted ? accepted : rejected)++;
    std::printf("push %d: %s: %s (%s; %llu transitions, %llu updates)\n", pushes, r->accepted ? "accepted" : "rejected", r->message.c_str(),
                what.c_str(), static_cast<unsigned long long>(transitions), static_cast<unsigned long long>(n_updates));
    std::fflush(stdout);
    if (r->accepted) {
      // The device keeps the policy it ran before for a rollback; phase 0's is its own (unknown here).
      before_swap = phases.size() == 1 ? nullptr : phases.back().ref;
      before_label = phases.back().ref_label;
      const std::string label = "push " + std::to_string(pushes) + ": " + what;
      new_phase(label, elapsed_s(), std::make_shared<policies::MlpPolicy>(mlp, "pushed"), "push " + std::to_string(pushes));
    }
    return kExitOk;
  };
  auto write_and_push = [&]() -> int {
    metadata["transitions"] = std::to_string(transitions);
    metadata["updates"] = std::to_string(n_updates);
    const std::string bytes = policies::encode_policy(dqn->online(), start->schema, metadata);
    if (Status st = policies::save_policy_file(a.get("out"), dqn->online(), start->schema, metadata); !st.ok())
      return fail(kExitRuntime, "train --from: --out: " + st.message());
    since_push = 0;
    if (a.has("no-push")) return kExitOk;
    return push(bytes, dqn->online(), "learned");
  };

  for (;;) {
    const auto now = Steady::now();
    const double elapsed = std::chrono::duration<double>(now - t0).count();
    if (*seconds > 0 && elapsed >= *seconds) break;
    // --push-start: START itself, once the device has published decisions (its sanity window).
    if (!start_pushed && *push_start >= 0 && elapsed >= *push_start && phases.back().decisions > 0) {
      start_pushed = true;
      if (int rc = push(start_bytes, start->mlp, "--policy " + a.get("policy") + " unchanged"); rc != kExitOk) return rc;
      next_push = Steady::now() + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(*every));
    }
    if (!rolled_back && *rollback_at >= 0 && elapsed >= *rollback_at) {
      rolled_back = true;
      auto r = client.value()->rollback(10000);
      if (!r.ok()) return fail(kExitRuntime, "train --from: rollback: " + r.status().message());
      std::printf("rollback: %s: %s\n", r->accepted ? "accepted" : "rejected", r->message.c_str());
      std::fflush(stdout);
      // Back to a policy we pushed: its argmax must match again. Back to the device's own policy
      // (unknown here): the rolled-back one's argmax should stop matching.
      if (r->accepted) {
        auto ref = before_swap ? before_swap : phases.back().ref;
        const std::string label = before_swap ? before_label : phases.back().ref_label + " (rolled back)";
        new_phase("after rollback", elapsed_s(), ref, label);
        before_swap = nullptr;
      }
      // The rolled-back policy runs for a whole --push-every before the next learned push.
      next_push = Steady::now() + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(*every));
    }
    // Learned pushes start after --push-start's push (the device runs START from then on).
    if (Steady::now() >= next_push && (start_pushed || *push_start < 0)) {
      if (since_push >= static_cast<std::uint64_t>(*min_tr))
        if (int rc = write_and_push(); rc != kExitOk) return rc;
      next_push = now + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(*every));
    }
    auto f = client.value()->next(100);
    if (!f.ok()) {
      if (f.status().code() == StatusCode::kUnavailable) continue;
      end_reason = f.status().message();
      break;
    }
    switch (f->type) {
      case telemetry::FrameType::kSamples:
        for (const auto& s : f->samples) decoder.add_sample(s);
        break;
      case telemetry::FrameType::kEvent: {
        auto rec = decoder.finish(f->event);
        if (rec.ok()) {
          frame = rec->frame, frame_t_ns = rec->t_ns, have_frame = true;
          if (frame.fps_ok && std::isfinite(frame.fps)) phases.back().fps_sum += frame.fps, phases.back().fps_sq += frame.fps * frame.fps, ++phases.back().fps_periods;
          period = std::move(rec.value());
          have_period = true;
        }
        break;
      }
      case telemetry::FrameType::kLost:
        lost += f->lost;
        last.valid = false;  // the chain is broken: a decision or frame in between may be gone
        break;
      case telemetry::FrameType::kDecision: {
        const auto& d = f->decision;
        Phase& ph = phases.back();
        ++ph.decisions;
        if (d.action < 0) ++ph.guard;
        if (!ph.last_text.empty() && d.text != ph.last_text) ++ph.reconfigs;
        ph.last_text = d.text;
        ++ph.configs[d.text];
        if (ph.ref && d.action >= 0 && static_cast<int>(d.observation.size()) == dq.observation_size) {
          std::fill(ref_mask.begin(), ref_mask.end(), std::uint8_t{1});
          if (space && have_period) runtime::mask_at_decision(*space, period, d.t_ns, ref_mask);
          ++ph.ref_checked;
          if (ph.ref->decide(d.observation, ref_mask) == d.action) ++ph.ref_agree;
        }
        const bool usable = d.action >= 0 && d.action < dq.num_actions && static_cast<int>(d.observation.size()) == dq.observation_size;
        if (!usable) {
          ++skipped;
          last.valid = false;
          break;
        }
        // The frame that completed at this decision's period is the outcome of the last action.
        if (last.valid && have_frame && frame_t_ns > last.t_ns) {
          const float r = static_cast<float>(period_reward(frame, d.text != last.text, w));
          // s' = this decision's observation, so mask' = the mask the device had here.
          const bool masked = space && have_period && runtime::mask_at_decision(*space, period, d.t_ns, next_mask);
          if (replay->push(last.obs, last.action, r, d.observation, masked ? std::span<const std::uint8_t>(next_mask) : std::span<const std::uint8_t>{},
                           false)) {
            ++transitions, ++since_push;
            if (masked) ++masked_transitions;
            if (replay->size() >= dq.batch_size)
              for (int k = 0; k < *updates; ++k)
                if (replay->sample(dq.batch_size, &batch) && std::isfinite(dqn->update(batch))) ++n_updates;
          }
        }
        last.valid = true;
        last.obs = d.observation;
        last.action = d.action;
        last.text = d.text;
        last.t_ns = d.t_ns;
        break;
      }
      default: break;
    }
  }
  if (since_push > 0)
    if (int rc = write_and_push(); rc != kExitOk) return rc;
  if (phases.size() == 1 || phases.back().decisions > 0) phases.back().print(static_cast<int>(phases.size()) - 1, elapsed_s());
  std::printf("train --from: %llu transitions (%llu with the device's mask), %llu updates, %llu decisions skipped, %llu records lost; pushes: %d accepted, %d rejected; "
              "wrote %s (stream: %s)\n",
              static_cast<unsigned long long>(transitions), static_cast<unsigned long long>(masked_transitions),
              static_cast<unsigned long long>(n_updates), static_cast<unsigned long long>(skipped), static_cast<unsigned long long>(lost), accepted, rejected,
              transitions ? a.get("out").c_str() : "nothing", end_reason.c_str());
  return kExitOk;
}

}  // namespace hetsched::tools
