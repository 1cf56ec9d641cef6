#include "tools/train_from.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "agent/dqn.hpp"
#include "agent/replay_buffer.hpp"
#include "env/rl_env.hpp"
#include "policies/agent_file.hpp"
#include "policies/frame_records.hpp"
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
      "[--seed N] [--token-file F] [--no-push]",
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
       {"no-push", "", "only write --out, never push"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  for (const char* req : {"from", "policy", "out"})
    if (!a.has(req)) return fail(kExitUsage, std::string("train --from: --") + req + " is required");
  const auto seconds = a.get_double("seconds", -1), every = a.get_double("push-every", 30);
  const auto min_tr = a.get_int("min-transitions", 32), updates = a.get_int("updates", 4), seed = a.get_int("seed", 1);
  if (!seconds || !every || !min_tr || !updates || !seed) return kExitUsage;
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
    auto plat = policies::load_platform_by_name(data_dir(), start->schema.platform);
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

  auto write_and_push = [&]() -> int {
    metadata["transitions"] = std::to_string(transitions);
    metadata["updates"] = std::to_string(n_updates);
    const std::string bytes = policies::encode_policy(dqn->online(), start->schema, metadata);
    if (Status st = policies::save_policy_file(a.get("out"), dqn->online(), start->schema, metadata); !st.ok())
      return fail(kExitRuntime, "train --from: --out: " + st.message());
    since_push = 0;
    if (a.has("no-push")) return kExitOk;
    ++pushes;
    auto r = client.value()->push_policy(bytes, 10000);
    if (!r.ok()) return fail(kExitRuntime, "train --from: push " + std::to_string(pushes) + ": " + r.status().message());
    (r->accepted ? accepted : rejected)++;
    std::printf("push %d: %s: %s (%llu transitions, %llu updates)\n", pushes, r->accepted ? "accepted" : "rejected", r->message.c_str(),
                static_cast<unsigned long long>(transitions), static_cast<unsigned long long>(n_updates));
    std::fflush(stdout);
    return kExitOk;
  };

  for (;;) {
    const auto now = Steady::now();
    const double elapsed = std::chrono::duration<double>(now - t0).count();
    if (*seconds > 0 && elapsed >= *seconds) break;
    if (now >= next_push) {
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
  std::printf("train --from: %llu transitions (%llu with the device's mask), %llu updates, %llu decisions skipped, %llu records lost; pushes: %d accepted, %d rejected; "
              "wrote %s (stream: %s)\n",
              static_cast<unsigned long long>(transitions), static_cast<unsigned long long>(masked_transitions),
              static_cast<unsigned long long>(n_updates), static_cast<unsigned long long>(skipped), static_cast<unsigned long long>(lost), accepted, rejected,
              transitions ? a.get("out").c_str() : "nothing", end_reason.c_str());
  return kExitOk;
}

}  // namespace hetsched::tools
