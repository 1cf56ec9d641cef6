#include "runtime/balance_controller.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/host_config.hpp"

namespace hetsched::runtime {

namespace {
constexpr int kHeader = 4;  // frames lo, frames hi, units, blocks
constexpr double kTwo24 = 16777216.0;
}  // namespace

BalanceController::BalanceController(const policies::PlatformDesc& platform, const BalanceOptions& options)
    : p_(platform), o_(options), bal_(std::make_unique<Balancer>()),
      obs_(static_cast<size_t>(kHeader + kMaxPipelineUnits * kMaxPipelineBlocks), 0.0f) {}

void BalanceController::reset(const policies::Config& initial) noexcept {
  c_ = initial;
  switched_ = false;
  action_ = -1;
  obs_len_ = 0;
}

void BalanceController::see(const ControlSample& s) noexcept {
  units_ = std::clamp(s.costs.num_units, 0, kMaxPipelineUnits);
  blocks_ = std::clamp(s.costs.num_blocks, 0, kMaxPipelineBlocks);
  frames_ = s.guard.frames;
  c_ = s.current;
  obs_[0] = static_cast<float>(frames_ % (1u << 24));
  obs_[1] = static_cast<float>(frames_ >> 24);
  obs_[2] = static_cast<float>(units_);
  obs_[3] = static_cast<float>(blocks_);
  size_t k = kHeader;
  for (int u = 0; u < units_; ++u)
    for (int b = 0; b < blocks_; ++b) {
      const float v = s.costs.cost_us[static_cast<size_t>(u * kMaxPipelineBlocks + b)];
      cost_us_[static_cast<size_t>(u * kMaxPipelineBlocks + b)] = v;  // the balancer decides on the recorded floats
      obs_[k++] = v;
    }
  obs_len_ = static_cast<int>(k);
}

std::span<const float> BalanceController::last_observation() const noexcept {
  return std::span<const float>(obs_.data(), static_cast<size_t>(obs_len_));
}

const policies::Config& BalanceController::decide(const policies::TelemetryFrame&, const policies::MaskInput&) noexcept {
  action_ = 0;
  PipelinePlan now;
  if (units_ == 0 || blocks_ == 0 || !plan_from_config(c_, p_, blocks_, &now)) return c_;  // nothing measured: keep
  if (switched_ && frames_ < frames_at_switch_ + static_cast<std::uint64_t>(std::max(0, o_.settle_frames))) return c_;
  const BalanceResult r = bal_->balance(cost_us_.data(), units_, blocks_, o_.handover_us, o_.use_all_units);
  const double now_us = Balancer::bottleneck_us(now, cost_us_.data(), o_.handover_us);
  // Hysteresis: throughput ~ 1/bottleneck, so a gain of g needs bottleneck < now * (1 - g).
  if (r.plan.num_stages > 0 && r.bottleneck_us < now_us * (1.0 - o_.min_gain)) {
    last_us_ = r.bottleneck_us;
    switched_ = true;
    frames_at_switch_ = frames_;
    c_ = config_from_plan(r.plan, p_);
    action_ = 1;
    return c_;
  }
  last_us_ = now_us;
  return c_;
}

bool sample_from_balance_observation(std::span<const float> v, ControlSample* s) noexcept {
  if (v.size() < static_cast<size_t>(kHeader)) return false;
  for (int i = 0; i < kHeader; ++i)
    if (!std::isfinite(v[static_cast<size_t>(i)]) || v[static_cast<size_t>(i)] < 0 || v[static_cast<size_t>(i)] >= kTwo24) return false;
  const int units = static_cast<int>(v[2]), blocks = static_cast<int>(v[3]);
  if (units > kMaxPipelineUnits || blocks > kMaxPipelineBlocks) return false;
  if (v.size() != static_cast<size_t>(kHeader + units * blocks)) return false;
  s->guard.frames = static_cast<std::uint64_t>(v[0]) + (static_cast<std::uint64_t>(v[1]) << 24);
  s->costs.num_units = units;
  s->costs.num_blocks = blocks;
  size_t k = kHeader;
  for (int u = 0; u < units; ++u)
    for (int b = 0; b < blocks; ++b) s->costs.cost_us[static_cast<size_t>(u * kMaxPipelineBlocks + b)] = v[k++];
  return true;
}

}  // namespace hetsched::runtime
