// FrameCodec's reader side (policies/frame_records.hpp): the Decoder that reassembles a period
// from its samples and closing event, refusing malformed text and values that are not what the
// writer (frame_records.cpp) produces. Split from the writer to keep both readable.
#include "policies/frame_records.hpp"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace hetsched::policies {
namespace {

using telemetry::Event;
using telemetry::Sample;
using telemetry::SampleKind;
// "key=value" tokens of the event text, in any order.
struct Fields {
  std::map<std::string_view, std::string_view> kv;
  bool parse(std::string_view text) {
    while (!text.empty()) {
      const auto sp = text.find(' ');
      const std::string_view tok = text.substr(0, sp);
      text = sp == std::string_view::npos ? std::string_view{} : text.substr(sp + 1);
      if (tok.empty()) continue;
      const auto eq = tok.find('=');
      if (eq == std::string_view::npos || eq == 0) return false;
      kv[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
    return true;
  }
  // Integer field in [lo, hi].
  bool get_int(std::string_view key, long long lo, long long hi, long long* out) const {
    auto it = kv.find(key);
    if (it == kv.end() || it->second.empty() || it->second.size() > 20) return false;
    std::string s(it->second);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
    *out = v;
    return true;
  }
  // String of exactly n '0'/'1' characters.
  bool get_bits(std::string_view key, int n, bool* out) const {
    auto it = kv.find(key);
    if (it == kv.end() || it->second.size() != static_cast<size_t>(n)) return false;
    for (int i = 0; i < n; ++i) {
      const char c = it->second[static_cast<size_t>(i)];
      if (c != '0' && c != '1') return false;
      out[i] = c == '1';
    }
    return true;
  }
  // n comma-separated items, each parsed by fn(text, index).
  template <typename Fn>
  bool get_list(std::string_view key, int n, Fn fn) const {
    auto it = kv.find(key);
    if (it == kv.end()) return false;
    std::string_view rest = it->second;
    for (int i = 0; i < n; ++i) {
      const auto comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      if ((comma == std::string_view::npos) != (i == n - 1)) return false;
      if (!fn(std::string(item), i)) return false;
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    return n > 0 || it->second.empty();
  }
};

// A sample value that must be an integer in [lo, hi] (bad traces must not reach a UB cast).
bool to_int(double v, double lo, double hi, std::int64_t* out) {
  if (!std::isfinite(v) || v < lo || v > hi || v != std::floor(v)) return false;
  *out = static_cast<std::int64_t>(v);
  return true;
}

// Unsigned decimal, full u64 range.
bool to_u64(const std::string& t, std::uint64_t* out) {
  if (t.empty() || t.size() > 20 || t[0] == '-' || t[0] == '+') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(t.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

// Comma-separated small integers into out[0..n); exactly n items.
bool int8_list(std::string_view text, int n, std::int8_t* out) {
  for (int i = 0; i < n; ++i) {
    const auto comma = text.find(',');
    if ((comma == std::string_view::npos) != (i == n - 1)) return false;
    const std::string item(text.substr(0, comma));
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno != 0 || v < INT8_MIN || v > INT8_MAX) return false;
    out[i] = static_cast<std::int8_t>(v);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return n > 0 || text.empty();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s = s.substr(p + 1);
  }
}

// The optional fields after the mask: configuration in force, guard inputs, block costs.
Status decode_extras(const Fields& fl, FrameRecord* r) {
  if (auto it = fl.kv.find("cur"); it != fl.kv.end()) {
    const auto parts = split(it->second, ':');
    Config c{};
    long long nb = -1;
    Fields tmp;
    tmp.kv["nb"] = parts[0];
    if ((parts.size() != 4 && parts.size() != 6) || !tmp.get_int("nb", 0, kMaxBlocks, &nb) ||
        parts[1].size() != static_cast<size_t>(nb) || parts[2].size() != 2)
      return Error(StatusCode::kCorrupt, "field cur: expected BLOCKS:ORDER:HOSTS:FREQS[:BLOCK_FREQS:HOST_FREQS]");
    c.num_blocks = static_cast<int>(nb);
    for (long long b = 0; b < nb; ++b) c.unit[static_cast<size_t>(b)] = parts[1][static_cast<size_t>(b)];
    c.gpu_host = parts[2][0];
    c.npu_host = parts[2][1];
    if (!int8_list(parts[3], kMaxUnits, c.freq_idx.data()))
      return Error(StatusCode::kCorrupt, "field cur: needs " + std::to_string(kMaxUnits) + " OPP indices");
    if (parts.size() == 6) {
      c.per_block_freq = true;
      if (!int8_list(parts[4], c.num_blocks, c.block_freq.data()) || !int8_list(parts[5], c.num_blocks, c.block_host_freq.data()))
        return Error(StatusCode::kCorrupt, "field cur: per-block OPP lists need " + std::to_string(nb) + " entries each");
    }
    r->has_current = true;
    r->current = c;
  }
  bool g[2];
  long long gt = 0;
  if (!fl.get_bits("g", 2, g) || !fl.get_int("gt", INT32_MIN, INT32_MAX, &gt))
    return Error(StatusCode::kCorrupt, "field g/gt (guard flags, max temperature) missing or malformed");
  r->guard.sensors_ok = g[0];
  r->guard.has_temp = g[1];
  r->guard.max_temp_mc = static_cast<int>(gt);
  std::uint64_t counts[3];
  if (!fl.get_list("gf", 3, [&](const std::string& t, int i) { return to_u64(t, &counts[i]); }))
    return Error(StatusCode::kCorrupt, "field gf needs 3 counters (frames, failed, misses)");
  r->guard.frames = counts[0], r->guard.failed_frames = counts[1], r->guard.deadline_misses = counts[2];
  if (auto it = fl.kv.find("cost"); it != fl.kv.end()) {
    const auto colon = it->second.find(':');
    const auto x = it->second.find('x');
    Fields tmp;
    long long nu = 0, nb = 0;
    if (colon == std::string_view::npos || x == std::string_view::npos || x > colon)
      return Error(StatusCode::kCorrupt, "field cost: expected UNITSxBLOCKS:VALUES");
    tmp.kv["u"] = it->second.substr(0, x);
    tmp.kv["b"] = it->second.substr(x + 1, colon - x - 1);
    if (!tmp.get_int("u", 1, kMaxUnits, &nu) || !tmp.get_int("b", 1, 4096, &nb))
      return Error(StatusCode::kCorrupt, "field cost: unit/block counts out of range");
    r->cost_units = static_cast<int>(nu);
    r->cost_blocks = static_cast<int>(nb);
    r->cost_us.assign(static_cast<size_t>(nu * nb), 0.0f);
    tmp.kv["v"] = it->second.substr(colon + 1);
    const bool ok = tmp.get_list("v", static_cast<int>(nu * nb), [&](const std::string& t, int i) {
      char* end = nullptr;
      const double v = std::strtod(t.c_str(), &end);
      if (t.empty() || *end != '\0') return false;
      r->cost_us[static_cast<size_t>(i)] = static_cast<float>(v);
      return true;
    });
    if (!ok) return Error(StatusCode::kCorrupt, "field cost: needs " + std::to_string(nu * nb) + " numbers");
  }
  return Status::Ok();
}

}  // namespace

void FrameCodec::Decoder::add_sample(const Sample& s) {
  if (s.source >= c_->roles_.size()) return;
  const SourceRole r = c_->roles_[s.source];
  if (r.role == Role::kNone) return;
  Pending& p = pending_[s.t_ns];
  p.rec.t_ns = s.t_ns;
  ++p.count;
  TelemetryFrame& f = p.rec.frame;
  const auto i = static_cast<size_t>(r.index);
  std::int64_t iv = 0;
  auto bad = [&](const char* what) {
    if (p.error.empty()) p.error = std::string(what) + " sample value " + std::to_string(s.value) + " is not a valid integer";
  };
  switch (r.role) {
    case Role::kFrame:
      if (s.kind == SampleKind::kFps) f.fps = s.value;
      else if (s.kind == SampleKind::kFrameLatency) f.latency_us = s.value;
      else if (s.kind == SampleKind::kBoardPower) f.power_mw = s.value;
      else --p.count;
      break;
    case Role::kMax:
      if (s.kind == SampleKind::kFrameLatency) f.max_latency_us = s.value;
      else --p.count;
      break;
    case Role::kTarget:
      if (s.kind == SampleKind::kFps) f.target_fps = s.value;
      else if (s.kind == SampleKind::kFrameLatency) f.max_latency_us_target = s.value;
      else if (s.kind == SampleKind::kBoardPower) f.power_budget_mw = s.value;
      else --p.count;
      break;
    case Role::kUnit:
      if (s.kind == SampleKind::kFreq) {
        if (to_int(s.value, -9.0e15, 9.0e15, &iv)) f.freq_khz[i] = iv;
        else bad("freq_khz");
      } else if (s.kind != SampleKind::kUtil) {
        --p.count;  // util itself comes verbatim from the event
      }
      break;
    case Role::kCap:
      if (s.kind == SampleKind::kFreq && to_int(s.value, -9.0e15, 9.0e15, &iv)) f.max_freq_khz[i] = iv;
      else if (s.kind == SampleKind::kFreq) bad("max_freq_khz");
      else --p.count;
      break;
    case Role::kZone:
      if (s.kind == SampleKind::kTemp && to_int(s.value, INT32_MIN, INT32_MAX, &iv)) f.temp_mc[i] = static_cast<std::int32_t>(iv);
      else if (s.kind == SampleKind::kTemp) bad("temp_mc");
      else --p.count;
      break;
    case Role::kStage:
      if (s.kind == SampleKind::kStageLatency) f.stage_latency_us[i] = s.value;
      else if (s.kind == SampleKind::kQueueDepth && to_int(s.value, INT32_MIN, INT32_MAX, &iv)) f.queue_depth[i] = static_cast<int>(iv);
      else if (s.kind == SampleKind::kQueueDepth) bad("queue_depth");
      else --p.count;
      break;
    case Role::kNone:
      break;
  }
}

Result<FrameRecord> FrameCodec::Decoder::finish(const Event& e) {
  if (!c_->is_frame_event(e)) return Error(StatusCode::kNotFound, "not a frame event");
  const std::string where = "frame event at t_ns " + std::to_string(e.t_ns) + ": ";
  // Periods older than this one whose event never came are lost (their event's chunk was).
  pending_.erase(pending_.begin(), pending_.lower_bound(e.t_ns));
  Pending p;
  if (auto it = pending_.find(e.t_ns); it != pending_.end()) {
    p = std::move(it->second);
    pending_.erase(it);
  }
  p.rec.t_ns = e.t_ns;
  Fields fl;
  if (!fl.parse(std::string_view(e.text).substr(std::string_view(kFrameEventPrefix).size())))
    return Error(StatusCode::kCorrupt, where + "malformed text (expected key=value tokens)");
  const int U = c_->units_, Z = c_->zones_;
  TelemetryFrame& f = p.rec.frame;
  MaskInput& m = p.rec.mask;
  long long n = 0, ns = 0, fr = 0, dr = 0;
  bool rc = false, ok[3];
  if (!fl.get_int("n", 0, kMaxSamples, &n)) return Error(StatusCode::kCorrupt, where + "field n (sample count) missing or out of range");
  if (!fl.get_int("ns", 0, kObsMaxStages, &ns)) return Error(StatusCode::kCorrupt, where + "field ns (stages) missing or out of range");
  if (!fl.get_int("fr", INT32_MIN, INT32_MAX, &fr) || !fl.get_int("dr", INT32_MIN, INT32_MAX, &dr))
    return Error(StatusCode::kCorrupt, where + "field fr/dr (frames/dropped) missing or not an int");
  if (!fl.get_bits("rc", 1, &rc) || !fl.get_bits("ok", 3, ok))
    return Error(StatusCode::kCorrupt, where + "field rc/ok missing or malformed");
  bool uok[kMaxUnits], on[kMaxUnits], tok[kObsMaxZones], mon[kMaxUnits];
  if (!fl.get_bits("uok", U, uok) || !fl.get_bits("on", U, on) || !fl.get_bits("mon", U, mon))
    return Error(StatusCode::kCorrupt, where + "field uok/on/mon needs " + std::to_string(U) + " 0/1 flags");
  if (!fl.get_bits("tok", Z, tok)) return Error(StatusCode::kCorrupt, where + "field tok needs " + std::to_string(Z) + " 0/1 flags");
  const bool util_ok = fl.get_list("util", U, [&](const std::string& t, int i) {
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0') return false;
    f.util[static_cast<size_t>(i)] = v;
    return true;
  });
  if (!util_ok) return Error(StatusCode::kCorrupt, where + "field util needs " + std::to_string(U) + " numbers");
  const bool opp_ok = fl.get_list("mopp", U, [&](const std::string& t, int i) {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(t.c_str(), &end, 10);
    if (t.empty() || *end != '\0' || errno != 0 || v < INT32_MIN || v > INT32_MAX) return false;
    m.max_opp[static_cast<size_t>(i)] = static_cast<int>(v);
    return true;
  });
  if (!opp_ok) return Error(StatusCode::kCorrupt, where + "field mopp needs " + std::to_string(U) + " integers");
  if (!p.error.empty()) return Error(StatusCode::kCorrupt, where + p.error);
  if (p.count != n)
    return Error(StatusCode::kCorrupt, where + std::to_string(p.count) + " of its " + std::to_string(n) +
                                           " samples found (the rest were lost with a damaged chunk)");
  f.num_stages = static_cast<int>(ns);
  f.frames = static_cast<int>(fr);
  f.dropped = static_cast<int>(dr);
  f.reconfiguring = rc;
  f.fps_ok = ok[0], f.latency_ok = ok[1], f.power_ok = ok[2];
  for (int i = 0; i < U; ++i) {
    const auto u = static_cast<size_t>(i);
    f.unit_ok[u] = uok[i], f.online[u] = on[i], m.online[u] = mon[i];
  }
  for (int j = 0; j < Z; ++j) f.temp_ok[static_cast<size_t>(j)] = tok[j];
  if (Status st = decode_extras(fl, &p.rec); !st.ok()) return Error(StatusCode::kCorrupt, where + st.message());
  return std::move(p.rec);
}

}  // namespace hetsched::policies
