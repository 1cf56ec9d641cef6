// Verification of a pushed policy before any hot-swap (steps 1-3 of stream_server.hpp); split
// out so tests can call it without sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "policies/action_space.hpp"
#include "policies/frame_records.hpp"
#include "policies/policy_file.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

// The action mask of one decision: (configuration in force, sensed MaskInput) -> out (one byte
// per action, non-zero = allowed); false if it cannot be built (out size). For a trained agent
// this is policies::ActionSpace::mask of the *pushed* policy's action space.
using MaskFn = std::function<bool(const policies::Config&, const policies::MaskInput&, std::span<std::uint8_t>)>;

struct PushCheck {
  std::optional<policies::PolicySchema> schema;  // checked when set
  int observation_size = 0, num_actions = 0;     // checked when > 0
  // Largest accepted fraction of masked window decisions whose *unmasked* argmax is an action
  // masked by the device's state (allowed with every unit online and uncapped, masked under the
  // recorded MaskInput). The agent masks at decide time, so such a policy never takes it — but a
  // policy that mostly "wants" offline/capped units has learned the wrong board; 0.25 tolerates
  // the transitions around a hotplug/cap change while rejecting a policy that prefers them.
  // Actions masked even nominally (statically refused candidates) are not counted: they are
  // masked in training as well, so their Q-values are untrained.
  double max_masked_preference = 0.25;
};

// One recorded decision: the observation and, when its period's frame record was decoded, the
// mask inputs the device had (MaskInput + configuration in force).
struct WindowEntry {
  std::vector<float> observation;
  bool has_mask = false;
  policies::MaskInput mask;
  policies::Config current{};
};

// What the window check saw (filled even when the push is rejected by the window).
struct PushReport {
  std::size_t checked = 0;         // observations run through the policy
  std::size_t masked = 0;          // of them, with a rebuilt mask
  std::size_t prefers_masked = 0;  // of those, unmasked argmax masked by the state (not nominally)
  double masked_fraction() const noexcept { return masked ? static_cast<double>(prefers_masked) / static_cast<double>(masked) : 0.0; }
};

// The mask the device had at the decision at decision_t_ns, from that period's frame record
// (policies/frame_records): space.mask(period.current, period.mask). False (out untouched) when
// the record belongs to another period, has no configuration, or out.size() != space.size().
// Used by `train --from` for the next-state mask of each transition.
bool mask_at_decision(const policies::ActionSpace& space, const policies::FrameRecord& period, std::int64_t decision_t_ns,
                      std::span<std::uint8_t> out) noexcept;

// decode_policy (checksum, structure) + schema + sanity window. The returned file is ready for
// the run's build hook. Errors name the step: "checksum ...", "schema ...", "sanity window: ...".
// masks_for(file) gives the mask function of the pushed policy's action space (empty function
// or entries without has_mask: every action allowed, as before). With a mask the check rejects
// decide() == kNoAction (nothing allowed by the policy's own choice) and a masked-preference
// fraction above check.max_masked_preference.
Result<policies::PolicyFile> verify_pushed_policy(std::string_view bytes, const PushCheck& check,
                                                  const std::vector<WindowEntry>& window,
                                                  const std::function<Result<MaskFn>(const policies::PolicyFile&)>& masks_for,
                                                  PushReport* report = nullptr);
// Observations only (no masks).
Result<policies::PolicyFile> verify_pushed_policy(std::string_view bytes, const PushCheck& check,
                                                  const std::vector<std::vector<float>>& window);

}  // namespace hetsched::runtime
