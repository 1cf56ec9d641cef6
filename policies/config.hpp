// Configuration in ARM-CO-UP notation: which unit runs each block (the "order" string, one
// letter per block), which CPU cluster hosts the GPU and the NPU, and the frequencies.
//   pipeline mode: one OPP index per DVFS unit; consecutive blocks on one unit form a stage.
//   switch mode:   one OPP index per block (and the host's index for G/N blocks); the model
//                  runs serially and DVFS switches between blocks.
//
// Text form (CLI `static:CONFIG`, traces, logs): ORDER:HOSTS:FREQS, e.g.
//   "BBBBGGGGGNNNN:BL:5,7,4"   order (any documented grouping of the model: 13 or 11 letters
//   for GoogleNet), GPU host B, NPU host L, OPP indices in platform unit order for DVFS units.
// Documented in docs/models.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

inline constexpr int kMaxBlocks = 96;  // YOLOv3 has 75

// Fixed capacity so configurations are copied and compared without allocation on hot paths.
struct Config {
  int num_blocks = 0;
  std::array<char, kMaxBlocks> unit{};               // unit letter per block
  char gpu_host = 'B';
  char npu_host = 'B';
  std::array<std::int8_t, kMaxUnits> freq_idx{};     // pipeline mode: OPP index per platform unit (-1: no DVFS)
  bool per_block_freq = false;                       // switch mode
  std::array<std::int8_t, kMaxBlocks> block_freq{};  // switch mode: own OPP index (CPU, GPU); host's for N
  std::array<std::int8_t, kMaxBlocks> block_host_freq{};  // switch mode: host OPP index for G blocks (-1 otherwise)

  bool operator==(const Config&) const = default;
  std::string order() const { return std::string(unit.data(), static_cast<size_t>(num_blocks)); }
};

// Expands a grouped order (one letter per group of any grouping of the model) to blocks.
Result<std::string> expand_order(const ModelDesc& model, const std::string& order);

// Parses "ORDER:HOSTS:FREQS" (see above). Checks letters exist on the platform, hosts are
// allowed, indices are in range. Errors name the offending character or field.
Result<Config> parse_config(const std::string& text, const PlatformDesc& platform, const ModelDesc& model);
std::string format_config(const Config& c, const PlatformDesc& platform);
// Checks an already-built Config against platform and model (same rules as parse_config).
Status validate_config(const Config& c, const PlatformDesc& platform, const ModelDesc& model);

}  // namespace hetsched::policies
