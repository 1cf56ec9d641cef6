#include "runtime/stream_verify.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "policies/policy.hpp"

namespace hetsched::runtime {

Result<policies::PolicyFile> verify_pushed_policy(std::string_view bytes, const PushCheck& check,
                                                  const std::vector<WindowEntry>& window,
                                                  const std::function<Result<MaskFn>(const policies::PolicyFile&)>& masks_for,
                                                  PushReport* report) {
  PushReport local;
  PushReport& rep = report ? *report : local;
  rep = {};
  auto file = policies::decode_policy(bytes, "pushed policy");
  if (!file.ok()) return file.status();
  if (check.schema)
    HETSCHED_RETURN_IF_ERROR(policies::check_schema(*file, *check.schema, "pushed policy", check.observation_size, check.num_actions));
  else if ((check.observation_size > 0 && file->mlp.input_size() != check.observation_size) ||
           (check.num_actions > 0 && file->mlp.output_size() != check.num_actions))
    return Status(StatusCode::kInvalidArgument, "pushed policy: sizes " + std::to_string(file->mlp.input_size()) + " -> " +
                                                    std::to_string(file->mlp.output_size()) + ", this run needs " +
                                                    std::to_string(check.observation_size) + " -> " + std::to_string(check.num_actions));
  // The sanity window: a policy that passes the checksum can still be garbage for *this* device
  // (trained on other telemetry ranges, diverged weights that overflow on real inputs). Running it
  // on what the controller actually saw is the cheapest evidence that it will not steer blindly.
  if (window.empty())
    return Status(StatusCode::kUnavailable, "sanity window: no decisions recorded yet (the run has not published any observation)");
  MaskFn mask_fn;
  if (masks_for) {
    auto m = masks_for(*file);
    if (!m.ok()) return Status(m.status().code(), "sanity window: action space of the pushed policy: " + m.status().message());
    mask_fn = std::move(m.value());
  }
  const int in = file->mlp.input_size(), out = file->mlp.output_size();
  const std::vector<std::uint8_t> all(static_cast<std::size_t>(out), 1);
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(out), 1), nominal(static_cast<std::size_t>(out), 1);
  policies::MlpPolicy probe(file->mlp, "pushed");
  for (std::size_t i = 0; i < window.size(); ++i) {
    const auto& obs = window[i].observation;
    if (static_cast<int>(obs.size()) != in)
      return Status(StatusCode::kInvalidArgument, "sanity window: observation " + std::to_string(i) + " has " +
                                                      std::to_string(obs.size()) + " values, the policy expects " + std::to_string(in));
    const auto q = file->mlp.forward(obs);
    for (std::size_t a = 0; a < q.size(); ++a)
      if (!std::isfinite(q[a]))
        return Status(StatusCode::kInvalidArgument, "sanity window: Q-value of action " + std::to_string(a) +
                                                        " is not finite on observation " + std::to_string(i));
    ++rep.checked;
    // The mask the device had at this decision, rebuilt with the pushed policy's action space:
    // the policy is run exactly as the agent will run it (masked argmax).
    const bool masked = mask_fn && window[i].has_mask && mask_fn(window[i].current, window[i].mask, mask);
    const int act = probe.decide(obs, masked ? mask : all);
    if (act < 0 || act >= out)
      return Status(StatusCode::kInvalidArgument, "sanity window: decide() returned " + std::to_string(act) +
                                                      (masked ? " (no allowed action under the recorded mask)" : " (not an allowed action)") +
                                                      " on observation " + std::to_string(i));
    if (masked) {
      ++rep.masked;
      // Unmasked argmax (first maximum, as masked_argmax breaks ties).
      int best = 0;
      for (int a = 1; a < out; ++a)
        if (q[static_cast<std::size_t>(a)] > q[static_cast<std::size_t>(best)]) best = a;
      // Counted only when the device's *state* masks it: allowed with every unit online and
      // uncapped (the nominal MaskInput) from the same configuration. An action the board can
      // never take there (a statically refused candidate, a DVFS step on a one-OPP unit) is
      // masked in training too, so its Q-value was never trained and ranking it first says
      // nothing about having learned the wrong board (a real host policy was refused for that).
      const bool nominal_ok = !mask_fn(window[i].current, policies::MaskInput{}, nominal) || nominal[static_cast<std::size_t>(best)];
      if (!mask[static_cast<std::size_t>(best)] && nominal_ok) ++rep.prefers_masked;
    }
  }
  // fraction = prefers_masked / masked; a share above the bound means the network ranks actions
  // the device cannot take first on the device's own recent states.
  if (rep.masked > 0 && rep.masked_fraction() > check.max_masked_preference) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "sanity window: the policy prefers a masked action on %zu of %zu masked decisions (fraction %.3f > %.3f)",
                  rep.prefers_masked, rep.masked, rep.masked_fraction(), check.max_masked_preference);
    return Status(StatusCode::kInvalidArgument, buf);
  }
  return file;
}

bool mask_at_decision(const policies::ActionSpace& space, const policies::FrameRecord& period, std::int64_t decision_t_ns,
                      std::span<std::uint8_t> out) noexcept {
  if (period.t_ns != decision_t_ns || !period.has_current) return false;
  return space.mask(period.current, period.mask, out);
}

Result<policies::PolicyFile> verify_pushed_policy(std::string_view bytes, const PushCheck& check,
                                                  const std::vector<std::vector<float>>& window) {
  std::vector<WindowEntry> w(window.size());
  for (std::size_t i = 0; i < window.size(); ++i) w[i].observation = window[i];
  return verify_pushed_policy(bytes, check, w, {}, nullptr);
}

}  // namespace hetsched::runtime
