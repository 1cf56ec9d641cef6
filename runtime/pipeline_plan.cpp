#include "runtime/pipeline_plan.hpp"

#include <algorithm>
#include <limits>
#include <sstream>

namespace hetsched::runtime {

Status validate_plan(const PipelinePlan& plan, int num_blocks, int num_units) {
  if (plan.num_stages <= 0 || plan.num_stages > kMaxStages)
    return Error(StatusCode::kInvalidArgument, "plan: num_stages " + std::to_string(plan.num_stages) +
                                                   " outside [1, " + std::to_string(kMaxStages) + "]");
  int next = 0;
  for (int s = 0; s < plan.num_stages; ++s) {
    const Stage& st = plan.stages[static_cast<size_t>(s)];
    // The message is built only on failure: the controller validates every decision (hot path).
    auto where = [s] { return "plan: stage " + std::to_string(s); };
    if (st.unit < 0 || st.unit >= num_units)
      return Error(StatusCode::kOutOfRange, where() + " unit index " + std::to_string(st.unit) + " outside [0, " +
                                                std::to_string(num_units) + ")");
    if (st.first_block != next || st.end_block <= st.first_block)
      return Error(StatusCode::kInvalidArgument, where() + " blocks [" + std::to_string(st.first_block) + ", " +
                                                     std::to_string(st.end_block) + ") do not continue at block " +
                                                     std::to_string(next));
    next = st.end_block;
  }
  if (next != num_blocks)
    return Error(StatusCode::kInvalidArgument,
                 "plan: stages cover " + std::to_string(next) + " blocks, the model has " + std::to_string(num_blocks));
  return Status::Ok();
}

Result<PipelinePlan> plan_from_assignment(const std::vector<int>& unit_of_block, int num_units) {
  PipelinePlan p;
  const int n = static_cast<int>(unit_of_block.size());
  for (int b = 0; b < n; ++b) {
    if (b == 0 || unit_of_block[static_cast<size_t>(b)] != unit_of_block[static_cast<size_t>(b - 1)]) {
      if (p.num_stages == kMaxStages)
        return Error(StatusCode::kOutOfRange, "plan: more than " + std::to_string(kMaxStages) + " stages");
      p.stages[static_cast<size_t>(p.num_stages++)] = {unit_of_block[static_cast<size_t>(b)], b, b + 1};
    } else {
      p.stages[static_cast<size_t>(p.num_stages - 1)].end_block = b + 1;
    }
  }
  HETSCHED_RETURN_IF_ERROR(validate_plan(p, n, num_units));
  return p;
}

Result<PipelinePlan> parse_plan(const std::string& text, const std::vector<std::string>& unit_names, int num_blocks) {
  PipelinePlan p;
  std::stringstream ss(text);
  std::string item;
  int next = 0;
  while (std::getline(ss, item, ',')) {
    const auto colon = item.find(':');
    if (colon == std::string::npos)
      return Error(StatusCode::kInvalidArgument, "split '" + text + "': item '" + item + "' is not UNIT:BLOCKS");
    const std::string unit = item.substr(0, colon), count = item.substr(colon + 1);
    const auto it = std::find(unit_names.begin(), unit_names.end(), unit);
    if (it == unit_names.end()) {
      std::string known;
      for (const auto& u : unit_names) known += (known.empty() ? "" : ", ") + u;
      return Error(StatusCode::kNotFound, "split '" + text + "': unknown unit '" + unit + "' (known: " + known + ")");
    }
    int k = 0;
    if (count.empty() || count.size() > 3 || !std::all_of(count.begin(), count.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (k = std::stoi(count)) <= 0)
      return Error(StatusCode::kInvalidArgument, "split '" + text + "': block count '" + count + "' of unit " + unit +
                                                     " is not a positive integer");
    if (p.num_stages == kMaxStages) return Error(StatusCode::kOutOfRange, "split '" + text + "': too many stages");
    p.stages[static_cast<size_t>(p.num_stages++)] = {static_cast<int>(it - unit_names.begin()), next, next + k};
    next += k;
  }
  if (p.num_stages == 0) return Error(StatusCode::kInvalidArgument, "split is empty (expected e.g. cpu0:20,cpu1:8)");
  HETSCHED_RETURN_IF_ERROR(validate_plan(p, num_blocks, static_cast<int>(unit_names.size())));
  return p;
}

std::string format_plan(const PipelinePlan& plan, const std::vector<std::string>& unit_names) {
  std::string out;
  for (int s = 0; s < plan.num_stages; ++s) {
    const Stage& st = plan.stages[static_cast<size_t>(s)];
    if (s) out += ',';
    out += (st.unit >= 0 && st.unit < static_cast<int>(unit_names.size())) ? unit_names[static_cast<size_t>(st.unit)]
                                                                            : "?" + std::to_string(st.unit);
    out += ':' + std::to_string(st.end_block - st.first_block);
  }
  return out;
}

double Balancer::bottleneck_us(const PipelinePlan& plan, const double* cost_us, double handover_us) noexcept {
  double worst = 0;
  for (int s = 0; s < plan.num_stages; ++s) {
    const Stage& st = plan.stages[static_cast<size_t>(s)];
    double t = handover_us;
    for (int b = st.first_block; b < st.end_block; ++b) t += cost_us[st.unit * kMaxPipelineBlocks + b];
    worst = std::max(worst, t);
  }
  return worst;
}

BalanceResult Balancer::balance(const double* cost_us, int num_units, int num_blocks, double handover_us,
                                bool use_all_units) noexcept {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  BalanceResult r;
  num_units = std::clamp(num_units, 1, kMaxPipelineUnits);
  num_blocks = std::clamp(num_blocks, 1, kMaxPipelineBlocks);
  const unsigned full = (1u << num_units) - 1;
  for (unsigned m = 0; m <= full; ++m) std::fill_n(dp_[m].begin(), num_blocks + 1, kInf);
  dp_[0][0] = 0;
  // Masks only grow along a transition, so increasing mask order visits every state after all of
  // its predecessors. O(2^U * U * B^2): 2 units x 28 blocks is ~3k steps.
  for (unsigned m = 0; m <= full; ++m) {
    for (int b = 0; b < num_blocks; ++b) {
      const double here = dp_[m][static_cast<size_t>(b)];
      if (here == kInf) continue;
      for (int u = 0; u < num_units; ++u) {
        if (m & (1u << u)) continue;
        const unsigned nm = m | (1u << u);
        double stage = handover_us;
        for (int e = b + 1; e <= num_blocks; ++e) {
          stage += cost_us[u * kMaxPipelineBlocks + e - 1];
          const double v = std::max(here, stage);
          if (v < dp_[nm][static_cast<size_t>(e)]) {
            dp_[nm][static_cast<size_t>(e)] = v;
            from_b_[nm][static_cast<size_t>(e)] = static_cast<std::int16_t>(b);
            from_u_[nm][static_cast<size_t>(e)] = static_cast<std::int8_t>(u);
          }
        }
      }
    }
  }
  unsigned best_mask = 0;
  double best = kInf;
  const bool all = use_all_units && num_units <= num_blocks;
  for (unsigned m = 1; m <= full; ++m) {
    if (all && m != full) continue;
    // Strictly better only: among equal bottlenecks the smaller mask (fewer stages) wins.
    if (dp_[m][static_cast<size_t>(num_blocks)] < best) best = dp_[m][static_cast<size_t>(num_blocks)], best_mask = m;
  }
  // Walk back from (best_mask, num_blocks) to (0, 0), then reverse into pipeline order.
  std::array<Stage, kMaxPipelineUnits> rev{};
  int n = 0;
  unsigned m = best_mask;
  int e = num_blocks;
  while (e > 0 && m != 0 && n < kMaxPipelineUnits) {
    const int u = from_u_[m][static_cast<size_t>(e)], b = from_b_[m][static_cast<size_t>(e)];
    rev[static_cast<size_t>(n++)] = {u, b, e};
    m &= ~(1u << u);
    e = b;
  }
  for (int i = 0; i < n; ++i) r.plan.stages[static_cast<size_t>(i)] = rev[static_cast<size_t>(n - 1 - i)];
  r.plan.num_stages = n;
  r.bottleneck_us = best;
  return r;
}

}  // namespace hetsched::runtime
