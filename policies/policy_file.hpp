// The policy file (*.hpol): a trained MLP plus the schema it was trained for, in msgpack.
//
//   outer map:  "magic": "hetsched-policy", "format_version": 1,
//               "checksum": u64 FNV-1a 64 over the payload bytes, "payload": bin
//   payload (a msgpack map, serialized into the bin above):
//               "schema_hash": u64, "platform": str, "model": str, "action_space": str,
//               "obs_schema_version": int, "layer_sizes": [int], "hidden_activation": str,
//               "output_activation": str, "weights": bin (float32 little-endian, Mlp layout),
//               "metadata": {str: str}  (seed, steps, date, learner, scenarios, ...)
//
// Why a checksum over a nested payload: the checksum covers every byte that carries meaning,
// and the outer map stays tiny, so a bit flip anywhere is caught either by the checksum, or by
// the magic/version/structure checks of the outer map. Why a schema hash: a policy trained for
// one platform/model/action space silently produces nonsense on another; loading refuses it and
// the message names which of the schema strings differ. Documented in docs/agent.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "policies/mlp.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

inline constexpr std::string_view kPolicyMagic = "hetsched-policy";
inline constexpr int kPolicyFormatVersion = 1;
inline constexpr std::size_t kPolicyMaxFileBytes = std::size_t{256} << 20;  // refuse larger files unread

// What a policy was trained for; the caller (action-space / observation code) supplies the strings.
struct PolicySchema {
  std::string platform;                // platform name, e.g. "rockpi_n10"
  std::string model;                   // model name, e.g. "googlenet"
  std::string action_space;            // description of the action space (its order defines the indices)
  int observation_schema_version = 0;  // bumped whenever the observation layout changes
};
// FNV-1a 64 over the four fields, each length-prefixed so ("ab","c") != ("a","bc").
std::uint64_t schema_hash(const PolicySchema& schema) noexcept;

struct PolicyFile {
  PolicySchema schema;
  std::uint64_t schema_hash = 0;
  Mlp mlp;
  std::map<std::string, std::string> metadata;  // training metadata (seed, steps, date, learner, ...)
  std::uint64_t checksum = 0;                   // payload checksum as stored (and verified)
};

// Serializes to bytes / writes a file (written to PATH.tmp, then renamed, so readers never see
// half a file). Errors name the path.
std::string encode_policy(const Mlp& mlp, const PolicySchema& schema,
                          const std::map<std::string, std::string>& metadata);
Status save_policy_file(const std::string& path, const Mlp& mlp, const PolicySchema& schema,
                        const std::map<std::string, std::string>& metadata);

// Parses and verifies (magic, version, checksum, structure, sizes, finite weights) without any
// schema expectation; `source` names the file in error messages. All errors are kCorrupt.
Result<PolicyFile> decode_policy(std::string_view bytes, const std::string& source);
Result<PolicyFile> read_policy_file(const std::string& path);

// read_policy_file + refuse a schema mismatch (kInvalidArgument, naming each differing field
// with both values). expected_observation_size / expected_num_actions are checked when > 0.
Result<PolicyFile> load_policy_file(const std::string& path, const PolicySchema& expected,
                                    int expected_observation_size = 0, int expected_num_actions = 0);

// Schema check alone (used by load_policy_file); OK or a message listing every difference.
Status check_schema(const PolicyFile& file, const PolicySchema& expected, const std::string& source,
                    int expected_observation_size = 0, int expected_num_actions = 0);

}  // namespace hetsched::policies
