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
  e.platform_ = platform;
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
  e.size_ = 11 + 7 * e.units_ + e.zones_ + 4 + 3 * e.cand_ + e.cand_ + 1 + 1;
  return e;
}

Result<ObsEncoder> ObsEncoder::create(const ActionSpace& space) {
  auto e = create(space.platform(), space.num_candidates());
  if (!e.ok()) return e;
  for (int k = 0; k < space.num_candidates(); ++k) e->cand_cfg_.push_back(space.candidate(k));
  if (space.has_costs())
    for (int k = 0; k < space.num_candidates(); ++k) e->costs_.push_back(space.cost(k));
  return e;
}

std::string ObsEncoder::schema() const {
  return "obs v" + std::to_string(kObsSchemaVersion) + " units=" + std::string(letter_.data(), static_cast<size_t>(units_)) +
         " zones=" + std::to_string(zones_) + " candidates=" + std::to_string(cand_) + " size=" + std::to_string(size_) +
         " costs=" + (costs_.empty() ? "no" : "yes");
}

bool ObsEncoder::predicted_busy(const Config& cur, int candidate, int base, std::array<double, kMaxUnits>* out) const noexcept {
  if (costs_.empty()) return false;
  if (candidate >= 0 && candidate < cand_) {
    for (int u = 0; u < units_; ++u) (*out)[static_cast<size_t>(u)] = costs_[static_cast<size_t>(candidate)].busy_ms[static_cast<size_t>(u)];
    return true;
  }
  if (base < 0 || base >= cand_) return false;
  const Config& b = cand_cfg_[static_cast<size_t>(base)];
  if (b.num_blocks != cur.num_blocks || b.unit != cur.unit || b.gpu_host != cur.gpu_host || b.npu_host != cur.npu_host) return false;
  // Same placement at other OPPs (nudges): compute-bound time scales with 1/f.
  for (int u = 0; u < units_; ++u) {
    const size_t i = static_cast<size_t>(u);
    double t = costs_[static_cast<size_t>(base)].busy_ms[i];
    const UnitDesc& d = platform_.units[i];
    if (d.has_dvfs()) {
      const int fb = std::clamp<int>(b.freq_idx[i], 0, d.max_opp()), fc = std::clamp<int>(cur.freq_idx[i], 0, d.max_opp());
      t *= static_cast<double>(d.opps[static_cast<size_t>(fb)].freq_khz) / static_cast<double>(d.opps[static_cast<size_t>(fc)].freq_khz);
    }
    (*out)[i] = t;
  }
  return true;
}

void ObsEncoder::observe(const TelemetryFrame& f, const Config& cur, int candidate, EncoderState* st) const noexcept {
  // Targets: a change restarts the "since change" clock and records the FPS step.
  const double bound = f.max_latency_us_target, budget = f.power_budget_mw;
  if (st->target_fps >= 0 && (f.target_fps != st->target_fps || bound != st->bound_us || budget != st->budget_mw)) {
    st->since_change = 0;
    st->target_delta = static_cast<float>(std::clamp((f.target_fps - st->target_fps) / 30.0, -1.0, 1.0));
  } else if (st->since_change < 1000) {
    ++st->since_change;
  }
  st->target_fps = f.target_fps, st->bound_us = bound, st->budget_mw = budget;
  if (candidate >= 0 && candidate < cand_) st->base = candidate;

  // Measured busy time per frame on each unit = sum of its stages' mean service times.
  std::array<double, kMaxUnits> meas{}, pred{};
  std::uint32_t used = 0, measured = 0;
  bool hung = false;
  int s = -1;
  for (int b = 0; b < std::clamp(cur.num_blocks, 0, kMaxBlocks);) {
    int e = b;
    while (e < cur.num_blocks && e < kMaxBlocks && cur.unit[static_cast<size_t>(e)] == cur.unit[static_cast<size_t>(b)]) ++e;
    ++s;
    const int u = letter_unit_[static_cast<unsigned char>(cur.unit[static_cast<size_t>(b)]) & 127];
    if (u >= 0) {
      used |= 1u << u;
      const double t = s < std::min(f.num_stages, kObsMaxStages) ? f.stage_latency_us[static_cast<size_t>(s)] : 0;
      if (std::isfinite(t) && t > 0) {
        meas[static_cast<size_t>(u)] += t * 1e-3, measured |= 1u << u;
      } else {
        measured |= 1u << (u + 16);  // a stage of u without a sample: no estimate this period
        // ... and frames waiting in front of it: hung, not just idle at a low target.
        // (A stage longer than a period at a low target also has no sample; its unit is busy.)
        if (s < kObsMaxStages && f.queue_depth[static_cast<size_t>(s)] > 0 && !(f.util[static_cast<size_t>(u)] >= 0.01)) hung = true;
      }
    }
    b = e;
  }
  for (int u = 0; u < units_; ++u) {
    const char k = kind_host_[static_cast<size_t>(u)];
    if (!k || !(used >> u & 1u)) continue;
    const int h = letter_unit_[static_cast<unsigned char>(k == 'G' ? cur.gpu_host : cur.npu_host) & 127];
    if (h >= 0) used |= 1u << h;
  }
  // Which periods' stage samples count: those delivering a frame, and once the configuration
  // has run unchanged for 12 periods (the FPS window's 1 s: the pipeline has filled and DVFS
  // transitions have ended) every period with a sample. Below 10 FPS most 100 ms periods
  // deliver no frame, and a stage can end its services in a fixed phase against the last
  // stage's: resnet50 at 3.4 FPS under GPU contention had its G stage go 250 -> 345 ms only in
  // periods that delivered no frame, so the G slowdown stayed 1.02 and the running candidate
  // was predicted 4.07 FPS while it delivered 2.9. Earlier, the samples of a period without a
  // delivery can still be transients (googlenet right after a re-split: the NPU stage's first
  // services read 1.18-1.39x the prediction, and the frames delivered meanwhile are the old
  // configuration's).
  const bool steady = f.frames > 0 || (st->settled >= kSteadyPeriods && cur == st->last);
  const bool have_pred = !f.reconfiguring && steady && predicted_busy(cur, candidate, st->base, &pred);
  for (int u = 0; u < units_; ++u) {
    const size_t i = static_cast<size_t>(u);
    float& sd = st->slowdown[i];
    const bool ok_sample = (measured >> u & 1u) && !(measured >> (u + 16) & 1u);
    if (have_pred && ok_sample && pred[i] > 0) {
      // Smoothed over two periods: one period's mean holds only a few frames.
      const double r = std::clamp(meas[i] / pred[i], 0.25, 8.0);
      sd = static_cast<float>(0.5 * sd + 0.5 * r);
    } else if (!(used >> u & 1u) && kind_host_[i] == 0 && f.unit_ok[i] && std::isfinite(f.util[i])) {
      // An unused CPU cluster: all its utilisation is background load, which shares its cores
      // with a stage placed there: slowdown = 1 + util (docs/simulator.md).
      sd = static_cast<float>(1.0 + std::clamp(f.util[i], 0.0, 1.0));
    } else if (!(used >> u & 1u)) {
      // Unobservable (an unused accelerator): forget slowly. Contention on a shared GPU lasts
      // tens of seconds and nothing shows it while no stage runs there; forgetting at 0.95 per
      // period (a 2 s time constant) sent resnet50's policy back onto a GPU still contended 3x
      // (gpu_contention, t = 81.9 s) at 1.00 after 10 s away. Under a thermal cap the estimate
      // also holds the cap's share (the slowdown is measured against the configured OPP), which
      // the mask already accounts for, so then it is forgotten at the old rate.
      const bool capped = fmax_khz_[i] > 0 && f.max_freq_khz[i] > 0 && static_cast<double>(f.max_freq_khz[i]) < fmax_khz_[i];
      sd = static_cast<float>(1.0 + (capped ? kForgetCapped : kForgetUnused) * (sd - 1.0));
    }
    if (!std::isfinite(sd)) sd = 1;
  }
  // Delivery efficiency of the running candidate, once the 1 s FPS window holds only frames of
  // this configuration (settled >= 12 periods of 100 ms): delivered below 0.97·target = the
  // pipeline is saturated, so delivered ≈ its capacity; at or above target, capacity >= delivered.
  // A stage without a sample, frames waiting and its unit idle (a hung accelerator) restarts the
  // count: the FPS then says nothing about the configuration's capacity.
  st->settled = (cur == st->last && !f.reconfiguring && !hung) ? std::min(st->settled + 1, 1000) : 0;
  st->last = cur;
  // (The window must also postdate the last target change, or it measures the old target.)
  if (candidate >= 0 && candidate < cand_ && candidate < ActionSpace::kMaxCandidates && st->settled >= 12 &&
      st->since_change >= 12 && f.fps_ok &&
      f.target_fps > 0 && std::isfinite(f.fps) && f.fps > 0) {
    const double cap = bottleneck_fps(candidate, *st);
    float& e = st->eff[static_cast<size_t>(candidate)];
    // Saturation shows as a shortfall that lasts; one late frame dips the window for a couple
    // of periods (resnet50 at 3.4 FPS: 3-4 frames per window, delivered 3.26-3.51 on a
    // candidate with 19 % headroom; a dip to 3.27 set its efficiency to 0.80 and the guard
    // re-split the pipeline, ~1.5 s without frames at that rate).
    const bool short_now = f.fps < 0.97 * f.target_fps;
    st->short_periods = short_now ? st->short_periods + 1 : 0;
    if (cap > 0 && short_now) {
      if (st->short_periods >= kSaturatedPeriods)
        e = static_cast<float>(std::clamp(std::min<double>(e, f.fps / cap), 0.25, 1.0));
    } else if (cap > 0) {
      e = static_cast<float>(std::clamp(std::max<double>(e, f.fps / cap), 0.25, 1.0));
    }
  } else {
    st->short_periods = 0;
  }
}

double ObsEncoder::predicted_fps(int k, const EncoderState& st) const noexcept {
  if (k < 0 || k >= cand_ || k >= ActionSpace::kMaxCandidates) return 0;
  return bottleneck_fps(k, st) * std::clamp(static_cast<double>(st.eff[static_cast<size_t>(k)]), 0.25, 1.0);
}

double ObsEncoder::predicted_fps(const Config& c, int candidate, const EncoderState& st) const noexcept {
  if (candidate >= 0 && candidate < cand_) return predicted_fps(candidate, st);
  std::array<double, kMaxUnits> busy{};
  if (st.base < 0 || st.base >= cand_ || st.base >= ActionSpace::kMaxCandidates || !predicted_busy(c, -1, st.base, &busy)) return 0;
  double worst = 0;
  for (int u = 0; u < units_; ++u)
    worst = std::max(worst, busy[static_cast<size_t>(u)] * std::max(1e-3, static_cast<double>(st.slowdown[static_cast<size_t>(u)])));
  return worst > 0 ? std::clamp(static_cast<double>(st.eff[static_cast<size_t>(st.base)]), 0.25, 1.0) * 1000.0 / worst : 0;
}

double ObsEncoder::bottleneck_fps(int k, const EncoderState& st) const noexcept {
  if (costs_.empty() || k < 0 || k >= cand_) return 0;
  double worst = 0;
  for (int u = 0; u < units_; ++u)
    worst = std::max(worst, static_cast<double>(costs_[static_cast<size_t>(k)].busy_ms[static_cast<size_t>(u)]) *
                                std::max(1e-3, static_cast<double>(st.slowdown[static_cast<size_t>(u)])));
  return worst > 0 ? 1000.0 / worst : 0;
}

double ObsEncoder::predicted_energy_mj(int k, const EncoderState& st, double target_fps) const noexcept {
  if (costs_.empty() || k < 0 || k >= cand_) return 0;
  const CandidateCost& c = costs_[static_cast<size_t>(k)];
  const double fk = predicted_fps(k, st);
  const double fps = target_fps > 0 ? std::min(target_fps, fk) : fk;
  double e = fps > 0 ? c.idle_mw / fps : 0;
  for (int u = 0; u < units_; ++u)
    e += c.dyn_mw[static_cast<size_t>(u)] * c.busy_ms[static_cast<size_t>(u)] *
         std::max(1e-3, static_cast<double>(st.slowdown[static_cast<size_t>(u)])) * 1e-3;
  return e;
}

bool ObsEncoder::encode(const TelemetryFrame& f, const Config& cur, int candidate, std::span<float> out) const noexcept {
  EncoderState st;
  observe(f, cur, candidate, &st);
  return encode(f, cur, candidate, st, out);
}

bool ObsEncoder::encode(const TelemetryFrame& f, const Config& cur, int candidate, const EncoderState& st,
                        std::span<float> out) const noexcept {
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
    put(std::clamp(st.slowdown[s] - 1.0f, -0.75f, 4.0f));
  }
  for (int z = 0; z < zones_; ++z) {
    ++readings;
    missing += !f.temp_ok[static_cast<size_t>(z)];
    put(f.temp_ok[static_cast<size_t>(z)] ? ratio(f.temp_mc[static_cast<size_t>(z)] * 1e-3, 100.0, 2.0) : 0.0f);
  }
  const double fps_ref = has_t ? f.target_fps : 30.0;
  put(static_cast<float>(std::min(st.since_change, 50)) / 50.0f);
  put(st.target_delta);
  const int cur_k = candidate >= 0 && candidate < cand_ ? candidate : st.base;
  put(cur_k >= 0 ? ratio(predicted_fps(cur_k, st), fps_ref) : 0.0f);
  put(has_t && f.fps_ok && f.fps < 0.95 * f.target_fps);
  // Per candidate: predicted FPS, energy (relative to the cheapest) and power under the sensed slowdowns.
  double e_min = 0;
  for (int k = 0; k < cand_ && !costs_.empty(); ++k) {
    const double e = predicted_energy_mj(k, st, f.target_fps);
    if (e > 0 && (e_min == 0 || e < e_min)) e_min = e;
  }
  for (int k = 0; k < cand_; ++k) {
    if (costs_.empty()) { put(0), put(0), put(0); continue; }
    const double fk = predicted_fps(k, st), e = predicted_energy_mj(k, st, f.target_fps);
    const double fps = has_t ? std::min(f.target_fps, fk) : fk;
    put(ratio(fk, fps_ref));
    put(e_min > 0 ? ratio(e / e_min - 1.0, 1.0, 3.0) : 0.0f);
    put(has_p ? ratio(e * fps, f.power_budget_mw) : 0.0f);
  }
  for (int k = 0; k <= cand_; ++k) put(k == (candidate >= 0 && candidate < cand_ ? candidate : cand_));
  put(static_cast<float>(missing) / static_cast<float>(readings));
  return i == out.size();
}

}  // namespace hetsched::policies
