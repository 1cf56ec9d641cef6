// The built-in adaptive policy of the host runtime, as a policy for runtime::Controller:
// re-split to the min-max balanced plan of the measured per-unit block costs, but only when it
// predicts a throughput gain of at least min_gain (each switch costs a drain bubble, and noisy
// measurements would otherwise flip between near-equal splits), and not before settle_frames
// frames completed since its previous re-split.
//
// Its observation is not the agent's encoded frame but the target's BlockCosts and frame count
// (ControlSample), published verbatim as the Decision's observation vector:
//   [frames mod 2^24, frames / 2^24, num_units, num_blocks, cost_us[u][b] for u < U, b < B]
// (float holds integers < 2^24 exactly). sample_from_balance_observation() restores those
// fields, so a replay feeds the balancer exactly what it saw.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/controller.hpp"
#include "runtime/pipeline_plan.hpp"

namespace hetsched::runtime {

struct BalanceOptions {
  double min_gain = 0.08;      // relative bottleneck reduction required to re-split
  double handover_us = 50;     // per-stage hand-over cost added to each stage
  bool use_all_units = true;   // keep every unit measurable (see Balancer)
  // Frames that must complete after a re-split before the next one: the per-block EWMAs
  // (alpha 1/4) restart at each switch, and deciding on 1-2 cold samples made the split
  // oscillate (measured: 18 switches in 3 s, -20 % FPS, on an unloaded pipeline).
  int settle_frames = 8;
};

class BalanceController final : public SampleAwarePolicy {
 public:
  // `platform` maps plans to configurations (runtime/host_config.hpp); copied.
  BalanceController(const policies::PlatformDesc& platform, const BalanceOptions& options);
  std::string_view name() const noexcept override { return "balance"; }
  void reset(const policies::Config& initial) noexcept override;
  void see(const ControlSample& sample) noexcept override;
  const policies::Config& decide(const policies::TelemetryFrame& frame, const policies::MaskInput& mask) noexcept override;
  std::span<const float> last_observation() const noexcept override;
  // 1 = re-split, 0 = keep.
  int last_action() const noexcept override { return action_; }
  // Predicted bottleneck (µs) of the plan chosen at the last decision.
  double last_predicted_us() const noexcept { return last_us_; }

 private:
  policies::PlatformDesc p_;
  BalanceOptions o_;
  std::unique_ptr<Balancer> bal_;
  std::array<double, kMaxPipelineUnits * kMaxPipelineBlocks> cost_us_{};
  std::vector<float> obs_;
  int obs_len_ = 0;
  int units_ = 0, blocks_ = 0;
  std::uint64_t frames_ = 0, frames_at_switch_ = 0;
  bool switched_ = false;
  int action_ = -1;
  double last_us_ = 0;
  policies::Config c_{};
};

// Restores sample->costs and sample->guard.frames from a balance Decision's observation;
// false if the vector is malformed (sizes out of range or inconsistent).
bool sample_from_balance_observation(std::span<const float> observation, ControlSample* sample) noexcept;

}  // namespace hetsched::runtime
