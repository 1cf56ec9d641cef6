#include "runtime/stream_verify.hpp"

#include <cmath>
#include <string>

#include "policies/policy.hpp"

namespace hetsched::runtime {

Result<policies::PolicyFile> verify_pushed_policy(std::string_view bytes, const PushCheck& check,
                                                  const std::vector<std::vector<float>>& window) {
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
  const int in = file->mlp.input_size(), out = file->mlp.output_size();
  const std::vector<std::uint8_t> all(static_cast<std::size_t>(out), 1);
  policies::MlpPolicy probe(file->mlp, "pushed");
  for (std::size_t i = 0; i < window.size(); ++i) {
    const auto& obs = window[i];
    if (static_cast<int>(obs.size()) != in)
      return Status(StatusCode::kInvalidArgument, "sanity window: observation " + std::to_string(i) + " has " +
                                                      std::to_string(obs.size()) + " values, the policy expects " + std::to_string(in));
    const auto q = file->mlp.forward(obs);
    for (std::size_t a = 0; a < q.size(); ++a)
      if (!std::isfinite(q[a]))
        return Status(StatusCode::kInvalidArgument, "sanity window: Q-value of action " + std::to_string(a) +
                                                        " is not finite on observation " + std::to_string(i));
    const int act = probe.decide(obs, all);
    if (act < 0 || act >= out)
      return Status(StatusCode::kInvalidArgument, "sanity window: decide() returned " + std::to_string(act) +
                                                      " (not an allowed action) on observation " + std::to_string(i));
  }
  return file;
}

}  // namespace hetsched::runtime
