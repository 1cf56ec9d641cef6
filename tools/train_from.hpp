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
// The next-state mask is not streamed, so bootstrapping uses every action (documented bias).
//
// The learner is a Double DQN warm-started from --policy (the policy the device runs: its
// schema and metadata, incl. the candidate list the device's build hook needs, are copied into
// every written policy so the device's checks accept it). Every --push-every seconds with at
// least --min-transitions new transitions, the greedy network is written to --out and pushed;
// the device verifies it (checksum, schema, sanity window) and answers; both are printed.
#pragma once

#include <string>
#include <vector>

namespace hetsched::tools {

// argv: the words after `hetsched train` (contains --from). Returns the exit code.
int train_from(const std::vector<std::string>& argv);

}  // namespace hetsched::tools
