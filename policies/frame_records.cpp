// FrameCodec's writer side (policies/frame_records.hpp): source registration, the period's samples and
// its closing event. The reader (Decoder) is frame_records_decode.cpp.
#include "policies/frame_records.hpp"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace hetsched::policies {
namespace {

using telemetry::Event;
using telemetry::EventKind;
using telemetry::Sample;
using telemetry::SampleKind;

std::string unit_name(int i) { return "frame.u" + std::to_string(i); }
std::string cap_name(int i) { return unit_name(i) + ".cap"; }
std::string zone_name(int j) { return "frame.z" + std::to_string(j); }
std::string stage_name(int k) { return "frame.s" + std::to_string(k); }

// Exact text of a double as printf's %a writes it ("0x1.8p+1", "-0x0p+0"): strtod reads it
// back bit-for-bit. std::to_chars(hex) writes the same digits without the "0x" for normal
// numbers and zero, without formatting machinery or locale; the rare subnormal / inf / nan
// takes snprintf (their spellings differ between the two). tests/runtime/test_controller_records.cpp
// checks the equivalence.
void append_hex(std::string& out, double v) {
  char b[48];
  if (v != 0.0 && !std::isnormal(v)) {
    const int n = std::snprintf(b, sizeof b, "%a", v);
    out.append(b, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof b) - 1)));
    return;
  }
  char* p = b;
  if (std::signbit(v)) *p++ = '-', v = -v;
  *p++ = '0', *p++ = 'x';
  const auto r = std::to_chars(p, b + sizeof b, v, std::chars_format::hex);
  out.append(b, r.ptr);
}

template <typename Int>
void append_int(std::string& out, Int v) {
  char b[24];
  const auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}

}  // namespace

Result<FrameCodec> FrameCodec::create(int num_units, int num_zones, telemetry::SourceTable* sources) {
  if (num_units < 0 || num_units > kMaxUnits)
    return Error(StatusCode::kInvalidArgument, "frame codec: num_units " + std::to_string(num_units) + " outside [0, " +
                                                   std::to_string(kMaxUnits) + "]");
  if (num_zones < 0 || num_zones > kObsMaxZones)
    return Error(StatusCode::kInvalidArgument, "frame codec: num_zones " + std::to_string(num_zones) + " outside [0, " +
                                                   std::to_string(kObsMaxZones) + "]");
  if (!sources) return Error(StatusCode::kInvalidArgument, "frame codec: no source table");
  std::vector<std::string> names{"frame", "frame.max", "frame.target"};
  for (int i = 0; i < num_units; ++i) names.push_back(unit_name(i)), names.push_back(cap_name(i));
  for (int j = 0; j < num_zones; ++j) names.push_back(zone_name(j));
  for (int k = 0; k < kObsMaxStages; ++k) names.push_back(stage_name(k));
  for (const auto& n : names)
    if (!sources->add(n)) return Error(StatusCode::kOutOfRange, "frame codec: source table full adding '" + n + "'");
  return from_sources(*sources);
}

Result<FrameCodec> FrameCodec::from_sources(const telemetry::SourceTable& sources) {
  FrameCodec c;
  auto need = [&](const std::string& name, std::uint16_t* id) {
    auto f = sources.find(name);
    if (f) *id = *f;
    return f.has_value();
  };
  if (!need("frame", &c.frame_) || !need("frame.max", &c.max_) || !need("frame.target", &c.target_))
    return Error(StatusCode::kNotFound, "no frame records (the trace's source table has no 'frame' sources)");
  while (c.units_ < kMaxUnits && need(unit_name(c.units_), &c.unit_[static_cast<size_t>(c.units_)])) {
    if (!need(cap_name(c.units_), &c.cap_[static_cast<size_t>(c.units_)]))
      return Error(StatusCode::kCorrupt, "frame sources: '" + unit_name(c.units_) + "' without '" + cap_name(c.units_) + "'");
    ++c.units_;
  }
  while (c.zones_ < kObsMaxZones && need(zone_name(c.zones_), &c.zone_[static_cast<size_t>(c.zones_)])) ++c.zones_;
  for (int k = 0; k < kObsMaxStages; ++k)
    if (!need(stage_name(k), &c.stage_[static_cast<size_t>(k)]))
      return Error(StatusCode::kCorrupt, "frame sources: '" + stage_name(k) + "' missing");
  c.roles_.assign(sources.size(), SourceRole{});
  auto set = [&](std::uint16_t id, Role r, int i) { c.roles_[id] = {r, static_cast<std::uint8_t>(i)}; };
  set(c.frame_, Role::kFrame, 0);
  set(c.max_, Role::kMax, 0);
  set(c.target_, Role::kTarget, 0);
  for (int i = 0; i < c.units_; ++i) set(c.unit_[static_cast<size_t>(i)], Role::kUnit, i), set(c.cap_[static_cast<size_t>(i)], Role::kCap, i);
  for (int j = 0; j < c.zones_; ++j) set(c.zone_[static_cast<size_t>(j)], Role::kZone, j);
  for (int k = 0; k < kObsMaxStages; ++k) set(c.stage_[static_cast<size_t>(k)], Role::kStage, k);
  return c;
}

int FrameCodec::encode_samples(std::int64_t t, const TelemetryFrame& f, std::span<Sample> out) const noexcept {
  if (out.size() < static_cast<size_t>(kMaxSamples)) return 0;
  int n = 0;
  auto put = [&](double v, std::uint16_t src, SampleKind k) { out[static_cast<size_t>(n++)] = Sample{t, v, src, k}; };
  // Written even when not *_ok: a controller may read a stale value, and replay must feed it
  // the same bits; the ok flags travel in the event.
  put(f.fps, frame_, SampleKind::kFps);
  put(f.latency_us, frame_, SampleKind::kFrameLatency);
  put(f.power_mw, frame_, SampleKind::kBoardPower);
  put(f.max_latency_us, max_, SampleKind::kFrameLatency);
  put(f.target_fps, target_, SampleKind::kFps);
  put(f.max_latency_us_target, target_, SampleKind::kFrameLatency);
  put(f.power_budget_mw, target_, SampleKind::kBoardPower);
  for (int i = 0; i < units_; ++i) {
    const auto u = static_cast<size_t>(i);
    put(static_cast<double>(f.freq_khz[u]), unit_[u], SampleKind::kFreq);
    put(f.util[u] * 1000.0, unit_[u], SampleKind::kUtil);
    put(static_cast<double>(f.max_freq_khz[u]), cap_[u], SampleKind::kFreq);
  }
  for (int j = 0; j < zones_; ++j) put(f.temp_mc[static_cast<size_t>(j)], zone_[static_cast<size_t>(j)], SampleKind::kTemp);
  const int stages = std::clamp(f.num_stages, 0, kObsMaxStages);
  for (int k = 0; k < stages; ++k) {
    const auto s = static_cast<size_t>(k);
    put(f.stage_latency_us[s], stage_[s], SampleKind::kStageLatency);
    put(f.queue_depth[s], stage_[s], SampleKind::kQueueDepth);
  }
  return n;
}

Event FrameCodec::encode_event(const PeriodInput& in, int n_samples) const {
  Event e;
  encode_event(in, n_samples, &e);
  return e;
}

void FrameCodec::encode_event(const PeriodInput& in, int n_samples, Event* out) const {
  static const TelemetryFrame kNoFrame;
  static const MaskInput kNoMask;
  const TelemetryFrame& f = in.frame ? *in.frame : kNoFrame;
  const MaskInput& m = in.mask ? *in.mask : kNoMask;
  out->t_ns = in.t_ns;
  out->kind = EventKind::kNote;
  out->source = frame_;
  std::string& s = out->text;
  s.assign(kFrameEventPrefix);
  auto bit = [](bool b) { return b ? '1' : '0'; };
  // Comma-separated list of n integers.
  auto ints = [&s](int n, auto at) {
    for (int i = 0; i < n; ++i) {
      if (i) s += ',';
      append_int(s, static_cast<int>(at(static_cast<size_t>(i))));
    }
  };
  s += "n=", append_int(s, n_samples);
  s += " ns=", append_int(s, std::clamp(f.num_stages, 0, kObsMaxStages));
  s += " fr=", append_int(s, f.frames);
  s += " dr=", append_int(s, f.dropped);
  s += " rc=", s += bit(f.reconfiguring);
  s += " ok=";
  s += bit(f.fps_ok), s += bit(f.latency_ok), s += bit(f.power_ok);
  s += " uok=";
  for (int i = 0; i < units_; ++i) s += bit(f.unit_ok[static_cast<size_t>(i)]);
  s += " on=";
  for (int i = 0; i < units_; ++i) s += bit(f.online[static_cast<size_t>(i)]);
  s += " tok=";
  for (int j = 0; j < zones_; ++j) s += bit(f.temp_ok[static_cast<size_t>(j)]);
  s += " util=";
  for (int i = 0; i < units_; ++i) {
    if (i) s += ',';
    append_hex(s, f.util[static_cast<size_t>(i)]);
  }
  s += " mon=";
  for (int i = 0; i < units_; ++i) s += bit(m.online[static_cast<size_t>(i)]);
  s += " mopp=";
  ints(units_, [&](size_t i) { return m.max_opp[i]; });
  if (in.current) {
    const Config& c = *in.current;
    const int nb = std::clamp(c.num_blocks, 0, kMaxBlocks);
    s += " cur=", append_int(s, nb), s += ':';
    for (int b = 0; b < nb; ++b) {
      const char ch = c.unit[static_cast<size_t>(b)];
      s += (ch > ' ' && ch < 127 && ch != ':' && ch != ',') ? ch : '?';
    }
    s += ':';
    s += c.gpu_host > ' ' && c.gpu_host < 127 ? c.gpu_host : '?';
    s += c.npu_host > ' ' && c.npu_host < 127 ? c.npu_host : '?';
    s += ':';
    ints(kMaxUnits, [&](size_t i) { return c.freq_idx[i]; });
    if (c.per_block_freq) {
      s += ':';
      ints(nb, [&](size_t b) { return c.block_freq[b]; });
      s += ':';
      ints(nb, [&](size_t b) { return c.block_host_freq[b]; });
    }
  }
  const GuardRecord& g = in.guard;
  s += " g=";
  s += bit(g.sensors_ok), s += bit(g.has_temp);
  s += " gt=", append_int(s, g.max_temp_mc);
  s += " gf=", append_int(s, g.frames), s += ',', append_int(s, g.failed_frames), s += ',', append_int(s, g.deadline_misses);
  if (in.cost_units > 0 && in.cost_blocks > 0 && in.cost_us && in.cost_stride >= in.cost_blocks) {
    s += " cost=", append_int(s, in.cost_units), s += 'x', append_int(s, in.cost_blocks), s += ':';
    for (int u = 0; u < in.cost_units; ++u)
      for (int b = 0; b < in.cost_blocks; ++b) {
        if (u || b) s += ',';
        append_hex(s, static_cast<double>(in.cost_us[static_cast<size_t>(u) * static_cast<size_t>(in.cost_stride) + static_cast<size_t>(b)]));
      }
  }
}

void FrameCodec::publish(telemetry::RecordSink& sink, const PeriodInput& in, Event* scratch) const {
  if (!in.frame || !in.mask) return;
  std::array<Sample, kMaxSamples> buf;
  const int n = encode_samples(in.t_ns, *in.frame, buf);
  for (int i = 0; i < n; ++i) sink.on_sample(buf[static_cast<size_t>(i)]);
  if (scratch) {
    encode_event(in, n, scratch);
    sink.on_event(*scratch);
  } else {
    sink.on_event(encode_event(in, n));
  }
}

bool FrameCodec::is_frame_event(const Event& e) const noexcept {
  return e.kind == EventKind::kNote && e.source == frame_ && e.text.rfind(kFrameEventPrefix, 0) == 0;
}

}  // namespace hetsched::policies
