#include "policies/obs_encoder.hpp"

#include <algorithm>
#include <cmath>

namespace hetsched::policies {
namespace {

// Clipped ratio: finite inputs only; NaN/Inf/negative denominators read as missing (0).
float ratio(double v, double ref, double hi = 4.0) noexcept {
  if (!(ref > 0) || !std::isfinite(v) || !std::isfinite(ref)) return 0.0f;
  return static_cast<float>(std::clamp(v / ref, 0.0, hi));
}

bool fresh(const std::optional<telemetry::Reading>& r, std::int64_t max_age_ns) noexcept {
  return r && r->age_ns >= 0 && r->age_ns <= max_age_ns && std::isfinite(r->value);
}

}  // namespace

void frame_from_snapshot(const telemetry::Snapshot& snap, const SnapshotSources& src, std::int64_t now_ns,
                         std::int64_t max_age_ns, int num_units, TelemetryFrame* f) noexcept {
  using telemetry::SampleKind;
  auto get = [&](SampleKind k, int s) -> std::optional<telemetry::Reading> {
    if (s < 0 || s > 65535) return std::nullopt;
    auto r = snap.get(k, static_cast<std::uint16_t>(s), now_ns);
    return fresh(r, max_age_ns) ? r : std::nullopt;
  };
  auto fps = get(SampleKind::kFps, src.pipeline);
  f->fps_ok = fps.has_value();
  f->fps = fps ? fps->value : 0;
  auto lat = get(SampleKind::kFrameLatency, src.pipeline);
  f->latency_ok = lat.has_value();
  f->latency_us = f->max_latency_us = lat ? lat->value : 0;
  auto pw = get(SampleKind::kBoardPower, src.board);
  f->power_ok = pw.has_value();
  f->power_mw = pw ? pw->value : 0;
  for (int u = 0; u < std::min(num_units, kMaxUnits); ++u) {
    auto fr = get(SampleKind::kFreq, src.unit[static_cast<size_t>(u)]);
    auto ut = get(SampleKind::kUtil, src.unit[static_cast<size_t>(u)]);
    f->freq_khz[static_cast<size_t>(u)] = fr ? static_cast<std::int64_t>(fr->value) : 0;
    f->util[static_cast<size_t>(u)] = ut ? std::clamp(ut->value / 1000.0, 0.0, 1.0) : 0;
    f->unit_ok[static_cast<size_t>(u)] = fr.has_value() || ut.has_value();
  }
  for (int z = 0; z < kObsMaxZones; ++z) {
    auto t = get(SampleKind::kTemp, src.zone[static_cast<size_t>(z)]);
    f->temp_ok[static_cast<size_t>(z)] = t.has_value();
    f->temp_mc[static_cast<size_t>(z)] = t ? static_cast<std::int32_t>(std::clamp(t->value, -1e6, 1e6)) : 0;
  }
  f->num_stages = 0;
  for (int s = 0; s < kObsMaxStages; ++s) {
    if (src.stage[static_cast<size_t>(s)] < 0) break;
    auto l = get(SampleKind::kStageLatency, src.stage[static_cast<size_t>(s)]);
    auto q = get(SampleKind::kQueueDepth, src.stage[static_cast<size_t>(s)]);
    f->stage_latency_us[static_cast<size_t>(s)] = l ? l->value : 0;
    f->queue_depth[static_cast<size_t>(s)] = q ? static_cast<int>(std::clamp(q->value, 0.0, 1e6)) : 0;
    f->num_stages = s + 1;
  }
}

Result<ObsEncoder> ObsEncoder::create(const PlatformDesc& platform, int num_candidates) {
  if (platform.num_units() < 1 || platform.num_units() > kMaxUnits)
    return Error(StatusCode::kInvalidArgument, "obs encoder: platform " + platform.name + " has " +
                                                   std::to_string(platform.num_units()) + " units (1.." +
                                                   std::to_string(kMaxUnits) + ")");
  if (num_candidates < 0 || num_candidates > 1024)
    return Error(StatusCode::kInvalidArgument, "obs encoder: num_candidates " + std::to_string(num_candidates) + " outside 0..1024");
  ObsEncoder e;
  e.units_ = platform.num_units();
  e.zones_ = std::min(static_cast<int>(platform.zones.size()), kObsMaxZones);
  e.cand_ = num_candidates;
  e.letter_unit_.fill(-1);
  for (int u = 0; u < e.units_; ++u) {
    const UnitDesc& d = platform.units[static_cast<size_t>(u)];
    e.fmax_khz_[static_cast<size_t>(u)] = d.has_dvfs() ? static_cast<double>(d.opps.back().freq_khz) : 0;
    e.letter_[static_cast<size_t>(u)] = d.letter;
    e.letter_unit_[static_cast<unsigned char>(d.letter) & 127] = static_cast<std::int8_t>(u);
    e.kind_host_[static_cast<size_t>(u)] = d.kind == UnitKind::kGpu ? 'G' : d.kind == UnitKind::kNpu ? 'N' : 0;
  }
  e.size_ = 11 + 6 * e.units_ + e.zones_ + e.cand_ + 1 + 1;
  return e;
}

std::string ObsEncoder::schema() const {
  return "obs v" + std::to_string(kObsSchemaVersion) + " units=" + std::string(letter_.data(), static_cast<size_t>(units_)) +
         " zones=" + std::to_string(zones_) + " candidates=" + std::to_string(cand_) + " size=" + std::to_string(size_);
}

bool ObsEncoder::encode(const TelemetryFrame& f, const Config& cur, int candidate, std::span<float> out) const noexcept {
  if (static_cast<int>(out.size()) != size_) return false;
  int missing = 0, readings = 3;
  size_t i = 0;
  auto put = [&](float v) { out[i++] = std::isfinite(v) ? v : 0.0f; };
  missing += !f.fps_ok + !f.latency_ok + !f.power_ok;
  const bool has_t = f.target_fps > 0, has_l = f.max_latency_us_target > 0, has_p = f.power_budget_mw > 0;
  put(has_t);
  put(ratio(f.target_fps, 30.0));
  put(f.fps_ok ? ratio(f.fps, has_t ? f.target_fps : 30.0) : 0.0f);
  put(has_l);
  put(f.latency_ok ? ratio(f.max_latency_us, has_l ? f.max_latency_us_target : 1e6) : 0.0f);
  put(has_p);
  put(f.power_ok ? ratio(f.power_mw, has_p ? f.power_budget_mw : 10000.0) : 0.0f);
  put(f.frames + f.dropped > 0 ? ratio(f.dropped, f.frames + f.dropped, 1.0) : 0.0f);
  // Bottleneck: the slowest stage against the frame budget 1/target (1.0 = no slack left).
  double slow_us = 0;
  int deep = 0;
  for (int s = 0; s < std::clamp(f.num_stages, 0, kObsMaxStages); ++s) {
    if (std::isfinite(f.stage_latency_us[static_cast<size_t>(s)]))
      slow_us = std::max(slow_us, f.stage_latency_us[static_cast<size_t>(s)]);
    deep = std::max(deep, f.queue_depth[static_cast<size_t>(s)]);
  }
  put(ratio(slow_us, has_t ? 1e6 / f.target_fps : 1e5));
  put(ratio(deep, 4.0, 2.0));
  put(f.reconfiguring);
  // Per unit: occupancy of the current configuration (block share, used incl. as a host).
  std::array<int, kMaxUnits> blocks{};
  std::uint32_t used = 0;
  for (int b = 0; b < std::clamp(cur.num_blocks, 0, kMaxBlocks); ++b) {
    const int u = letter_unit_[static_cast<unsigned char>(cur.unit[static_cast<size_t>(b)]) & 127];
    if (u >= 0) ++blocks[static_cast<size_t>(u)], used |= 1u << u;
  }
  for (int u = 0; u < units_; ++u) {
    const char k = kind_host_[static_cast<size_t>(u)];
    if (!k || !(used >> u & 1u)) continue;
    const int h = letter_unit_[static_cast<unsigned char>(k == 'G' ? cur.gpu_host : cur.npu_host) & 127];
    if (h >= 0) used |= 1u << h;
  }
  for (int u = 0; u < units_; ++u) {
    const size_t s = static_cast<size_t>(u);
    ++readings;
    missing += !f.unit_ok[s];
    const double fmax = fmax_khz_[s];
    put(f.unit_ok[s] ? ratio(static_cast<double>(f.freq_khz[s]), fmax, 1.0) : 0.0f);
    put(f.max_freq_khz[s] > 0 ? ratio(static_cast<double>(f.max_freq_khz[s]), fmax, 1.0) : 1.0f);
    put(f.unit_ok[s] ? static_cast<float>(std::clamp(std::isfinite(f.util[s]) ? f.util[s] : 0.0, 0.0, 1.0)) : 0.0f);
    put(f.online[s]);
    put(static_cast<float>(used >> u & 1u));
    put(cur.num_blocks > 0 ? static_cast<float>(blocks[s]) / static_cast<float>(cur.num_blocks) : 0.0f);
  }
  for (int z = 0; z < zones_; ++z) {
    ++readings;
    missing += !f.temp_ok[static_cast<size_t>(z)];
    put(f.temp_ok[static_cast<size_t>(z)] ? ratio(f.temp_mc[static_cast<size_t>(z)] * 1e-3, 100.0, 2.0) : 0.0f);
  }
  for (int k = 0; k <= cand_; ++k) put(k == (candidate >= 0 && candidate < cand_ ? candidate : cand_));
  put(static_cast<float>(missing) / static_cast<float>(readings));
  return i == out.size();
}

}  // namespace hetsched::policies
