// `hetsched train --from HOST:PORT`: learn online from a running device's stream and push
// improved policies back (issue 7; docs/streaming.md, docs/cli.md).
//
// The device runs `hetsched run --listen` with a trained agent. Its stream carries, every
// decision period, the frame records (policies/frame_records: what the policy saw, incl. the
// delivered FPS, latency, power and the targets) and one Decision (the observation vector
// verbatim and the action index). Consecutive decisions d_t, d_{t+1} make one transition
//   (obs_t, action_t, reward_t, obs_{t+1})
// where reward_t is computed from the period that ended at d_{t+1} (its decoded frame) with
// env's reward weights (env::RewardOptions):
//   target_fps > 0:  - w_qos · max(0, 1 - fps/target)      else  + w_fps · min(fps/fps_ref, 4)
//   latency bound:   - w_qos · max(0, max_latency/bound - 1)
//   power budget:    - w_qos · max(0, power/budget - 1)
//   energy:          - w_energy · (power_mw / fps) / energy_ref_mj     (mW / FPS = mJ per frame)
//   reconfiguration: - w_reconfig when the decided configuration differs from the previous one
// Guard decisions (action -1) and observations of another size break the chain (not learned).
// Masks: each decision's period also carries the MaskInput and the configuration in force
// (frame event `mon=`, `mopp=`, `cur=`), so the next-state mask of a transition is the mask the
// device had at d_{t+1}, rebuilt with --policy's action space (runtime::mask_at_decision, stream_verify.hpp); the
// Double DQN target then maxes over allowed actions only (agent/dqn.hpp):
//   y = r + gamma · Q_target(s', argmax_{a' allowed in s'} Q_online(s', a'))
// so the learner never bootstraps from an action the device could not take. Transitions whose
// period record was lost (or whose policy's action space cannot be rebuilt here, e.g. a host
// profile missing on this machine: a warning says so) fall back to every action allowed; the
// final line counts them. There is no exploration here: the device acts (masked) and we learn
// off-policy from its decisions.
//
// The learner is a Double DQN warm-started from --policy (the policy the device runs: its
// schema and metadata, incl. the candidate list the device's build hook needs, are copied into
// every written policy so the device's checks accept it). Every --push-every seconds with at
// least --min-transitions new transitions, the greedy network is written to --out and pushed;
// the device verifies it (checksum, schema, sanity window) and answers; both are printed.
//
// Pushing a better offline policy (bench/eval_stream_push.sh): --push-start S pushes START itself
// at S seconds (same schema as the device's policy, e.g. trained longer on the host profile given
// by --profile); --rollback-at S asks the device to roll back. Each accepted push / rollback
// closes a "phase" whose line reports what the device did meanwhile (decisions, configuration
// changes, delivered FPS from the frame records) and how many of its actions equal the masked
// argmax of the network it should be running: the agent's action index is that argmax, so n of n
// shows the swap took effect (and a collapse after a rollback shows it was undone).
#pragma once

#include <string>
#include <vector>

namespace hetsched::tools {

// argv: the words after `hetsched train` (contains --from). Returns the exit code.
int train_from(const std::vector<std::string>& argv);

}  // namespace hetsched::tools
