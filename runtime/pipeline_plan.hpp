// Pipeline plans: which unit runs which consecutive range of blocks, and the balancer that picks
// the split minimising the bottleneck stage.
//
// A plan is a chain of stages; stage s runs blocks [first_block, end_block) on unit `unit`, and
// the stages tile [0, num_blocks) in order. A unit may appear in several stages (order "AABBAA").
// Fixed capacity so that a plan is copied into every in-flight frame without allocation.
//
// Text form (CLI --split, logs): "cpu0:20,cpu1:8" = unit:number_of_blocks, in pipeline order.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::runtime {

inline constexpr int kMaxPipelineUnits = 8;
inline constexpr int kMaxPipelineBlocks = 96;  // policies::kMaxBlocks (YOLOv3 has 75)
inline constexpr int kMaxStages = 32;

struct Stage {
  int unit = 0;         // index into the pipeline's unit list
  int first_block = 0;  // blocks [first_block, end_block)
  int end_block = 0;
  bool operator==(const Stage&) const = default;
};

struct PipelinePlan {
  int num_stages = 0;
  std::array<Stage, kMaxStages> stages{};
  bool operator==(const PipelinePlan&) const = default;
  int num_blocks() const noexcept { return num_stages == 0 ? 0 : stages[static_cast<size_t>(num_stages - 1)].end_block; }
};

// Checks stages tile [0, num_blocks) with non-empty ranges and valid unit indices.
Status validate_plan(const PipelinePlan& plan, int num_blocks, int num_units);

// One unit index per block; consecutive equal indices form one stage.
Result<PipelinePlan> plan_from_assignment(const std::vector<int>& unit_of_block, int num_units);

// Parses "cpu0:20,cpu1:8" against the unit names; counts must add up to num_blocks.
Result<PipelinePlan> parse_plan(const std::string& text, const std::vector<std::string>& unit_names, int num_blocks);
std::string format_plan(const PipelinePlan& plan, const std::vector<std::string>& unit_names);

// Min-max contiguous split. cost_us[u * kMaxPipelineBlocks + b] = predicted latency of block b on
// unit u. Each unit hosts at most one stage (so hand-overs never loop back), units in any order.
// A stage's time is the sum of its blocks plus handover_us (queue hand-over + cache refill), so
// an extra stage must pay for itself. With use_all_units every unit keeps at least one block:
// a unit that runs nothing cannot be measured, and the controller would never notice that it
// became fast again (cost: the cheapest block stays on it). Allocation-free (fixed DP tables).
struct BalanceResult {
  PipelinePlan plan;
  double bottleneck_us = 0;  // predicted time of the slowest stage = 1 / throughput
};
class Balancer {
 public:
  BalanceResult balance(const double* cost_us, int num_units, int num_blocks, double handover_us,
                        bool use_all_units) noexcept;
  // Predicted bottleneck of an existing plan under the same cost table.
  static double bottleneck_us(const PipelinePlan& plan, const double* cost_us, double handover_us) noexcept;

 private:
  // dp_[mask][b]: best bottleneck covering blocks [0, b) with exactly the units in mask.
  std::array<std::array<double, kMaxPipelineBlocks + 1>, 1u << kMaxPipelineUnits> dp_{};
  std::array<std::array<std::int16_t, kMaxPipelineBlocks + 1>, 1u << kMaxPipelineUnits> from_b_{};
  std::array<std::array<std::int8_t, kMaxPipelineBlocks + 1>, 1u << kMaxPipelineUnits> from_u_{};
};

}  // namespace hetsched::runtime
