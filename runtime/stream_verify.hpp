// Verification of a pushed policy before any hot-swap (steps 1-3 of stream_server.hpp); split
// out so tests can call it without sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "policies/policy_file.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

struct PushCheck {
  std::optional<policies::PolicySchema> schema;  // checked when set
  int observation_size = 0, num_actions = 0;     // checked when > 0
};

// decode_policy (checksum, structure) + schema + sanity window. The returned file is ready for
// the run's build hook. Errors name the step: "checksum ...", "schema ...", "sanity window: ...".
Result<policies::PolicyFile> verify_pushed_policy(std::string_view bytes, const PushCheck& check,
                                                  const std::vector<std::vector<float>>& window);

}  // namespace hetsched::runtime
