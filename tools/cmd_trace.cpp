// `hetsched trace info|dump|record`: inspect traces, and record a synthetic demo trace.
//
// `record` is the project's demo "main job" until the scheduler exists: a small seeded toy board
// (4 units L/B/G/N, 3 thermal zones, a 3-stage pipeline) is simulated in virtual time
// (ManualClock) and its telemetry goes through the same path the runtime will use:
// producer -> SpscRing<Sample> -> TraceWriter. Same seed, same options => identical file.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "telemetry/clock.hpp"
#include "telemetry/ring.hpp"
#include "telemetry/trace_reader.hpp"
#include "telemetry/trace_writer.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"
#include "tools/import_armcoup.hpp"

namespace hetsched::tools {
namespace {

using namespace hetsched::telemetry;

std::string num(double v) {  // shortest text that reads back to the same double
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, p) : std::string("nan");
}

void print_summary(const std::string& path, const TraceSummary& s) {
  const auto& h = s.header;
  const auto& rec = s.recovery;
  std::printf("file:       %s (%llu bytes, format %u.%u)\n", path.c_str(),
              static_cast<unsigned long long>(rec.file_bytes), h.format_major, h.format_minor);
  std::printf("producer:   %s\nplatform:   %s\nmodel:      %s\n", h.producer.c_str(), h.platform.c_str(),
              h.model.c_str());
  std::string seeds, meta, sources;
  for (auto x : h.seeds) seeds += (seeds.empty() ? "" : " ") + std::to_string(x);
  for (const auto& [k, v] : h.metadata) meta += (meta.empty() ? "" : " ") + k + "=" + v;
  for (std::size_t i = 0; i < h.sources.size(); ++i)
    sources += (i ? " " : "") + std::to_string(i) + "=" + h.sources.names()[i];
  std::printf("seeds:      %s\nmetadata:   %s\nsources:    %s\n", seeds.c_str(), meta.c_str(), sources.c_str());
  const double dur_s = static_cast<double>(sat_sub_ns(s.last_t_ns, s.first_t_ns)) * 1e-9;
  std::printf("duration:   %.3f s (t_ns %lld .. %lld)\n", dur_s, static_cast<long long>(s.first_t_ns),
              static_cast<long long>(s.last_t_ns));
  std::printf("chunks:     %llu ok, %llu damaged, %llu missing by sequence number\n",
              static_cast<unsigned long long>(rec.chunks_ok), static_cast<unsigned long long>(rec.chunks_skipped),
              static_cast<unsigned long long>(s.missing_chunks));
  std::printf("samples:    %llu\n", static_cast<unsigned long long>(s.samples));
  for (std::size_t k = 0; k < kSampleKindCount; ++k)
    if (s.samples_per_kind[k])
      std::printf("  %-20s %llu\n", std::string(kind_name(static_cast<SampleKind>(k))).c_str(),
                  static_cast<unsigned long long>(s.samples_per_kind[k]));
  if (s.samples_unknown_kind) std::printf("  %-20s %llu\n", "(unknown kind)", static_cast<unsigned long long>(s.samples_unknown_kind));
  std::printf("events:     %llu\n", static_cast<unsigned long long>(s.events));
  for (std::size_t k = 0; k < kEventKindCount; ++k)
    if (s.events_per_kind[k])
      std::printf("  event.%-14s %llu\n", std::string(kind_name(static_cast<EventKind>(k))).c_str(),
                  static_cast<unsigned long long>(s.events_per_kind[k]));
  std::printf("decisions:  %llu\n", static_cast<unsigned long long>(s.decisions));
  std::printf("dropped:    %llu samples (ring overflow before the writer)\n",
              static_cast<unsigned long long>(s.dropped_samples));
  if (!rec.damaged()) {
    std::printf("integrity:  clean (final chunk present, nothing skipped)\n");
    return;
  }
  std::printf("integrity:  %s%s; skipped %zu range(s), %llu bytes, %llu damaged chunk(s)\n",
              rec.truncated ? "TRUNCATED" : "DAMAGED", rec.clean_end ? "" : " (no final chunk)",
              rec.skipped.size(), static_cast<unsigned long long>(rec.bytes_skipped),
              static_cast<unsigned long long>(rec.chunks_skipped));
  for (const auto& r : rec.skipped)
    std::printf("  skipped bytes [%llu, %llu): %s\n", static_cast<unsigned long long>(r.begin),
                static_cast<unsigned long long>(r.end), r.reason.c_str());
}

int cmd_info(const std::vector<std::string>& argv) {
  const CommandSpec spec{"hetsched trace info FILE",
                         "Summarise a trace: header, duration, samples per kind, events, drops, damage.", {}, 1, 1};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  auto r = TraceReader::open(a.positional[0]);
  if (!r.ok()) return fail(kExitRuntime, r.status().message());
  print_summary(a.positional[0], summarize(*r));
  return kExitOk;
}

// What `--kind` selected. Empty selection = everything.
struct KindFilter {
  std::set<SampleKind> samples;
  std::set<EventKind> events;
  bool all = true, decisions = false;
  bool sample(SampleKind k) const { return all || samples.count(k); }
  bool event(EventKind k) const { return all || events.count(k); }
};

// Compact JSON; invalid UTF-8 in a payload becomes U+FFFD instead of throwing.
// ordered_json keeps t_ns, kind, source ... first, like the hand-formatted sample lines.
using Json = nlohmann::ordered_json;
std::string jdump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string csv_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

int cmd_dump(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched trace dump FILE [--format csv|jsonl] [--kind K]...",
      "Stream a trace's records to stdout in time order within each chunk (columns t_ns,kind,source,value,text).",
      {{"format", "F", "csv (default) or jsonl"},
       {"kind", "K", "only this kind: a sample kind (freq_khz ...), event, event.<kind>, or decision", true}},
      1, 1};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  const std::string format = a.get("format", "csv");
  if (format != "csv" && format != "jsonl")
    return fail(kExitUsage, "option '--format' expects csv or jsonl, got '" + format + "'");
  KindFilter f;
  for (const auto& k : a.get_all("kind")) {
    f.all = false;
    if (k == "decision") f.decisions = true;  // full Decision records (event.decision is the event)
    else if (k == "event") for (std::size_t i = 0; i < kEventKindCount; ++i) f.events.insert(static_cast<EventKind>(i));
    else if (auto s = parse_sample_kind(k)) f.samples.insert(*s);
    else if (auto e = parse_event_kind(k)) f.events.insert(*e);
    else return fail(kExitUsage, "unknown --kind '" + k + "' (known: " + all_kind_names() + ")");
  }
  auto r = TraceReader::open(a.positional[0]);
  if (!r.ok()) return fail(kExitRuntime, r.status().message());
  const SourceTable& src = r->header().sources;
  const bool csv = format == "csv";
  if (csv) std::printf("t_ns,kind,source,value,text\n");
  TraceChunk c;
  while (r->next(c)) {
    // Three-way merge by t_ns; at equal times events, then decisions, then samples.
    std::size_t i = 0, j = 0, k = 0;
    const auto big = std::numeric_limits<std::int64_t>::max();
    while (i < c.samples.size() || j < c.events.size() || k < c.decisions.size()) {
      const std::int64_t ts = i < c.samples.size() ? c.samples[i].t_ns : big;
      const std::int64_t te = j < c.events.size() ? c.events[j].t_ns : big;
      const std::int64_t td = k < c.decisions.size() ? c.decisions[k].t_ns : big;
      if (j < c.events.size() && te <= ts && te <= td) {
        const Event& e = c.events[j++];
        if (!f.event(e.kind)) continue;
        const std::string kind = "event." + std::string(kind_name(e.kind));
        if (csv)
          std::printf("%lld,%s,%s,,%s\n", static_cast<long long>(e.t_ns), kind.c_str(), src.name(e.source).c_str(),
                      csv_quote(e.text).c_str());
        else
          std::printf("%s\n", jdump({{"t_ns", e.t_ns}, {"kind", kind}, {"source", src.name(e.source)}, {"text", e.text}}).c_str());
      } else if (k < c.decisions.size() && td <= ts) {
        const Decision& d = c.decisions[k++];
        if (!f.all && !f.decisions) continue;
        Json obs = Json::array();
        for (float x : d.observation) obs.push_back(std::isfinite(x) ? Json(x) : Json(nullptr));
        if (csv)
          std::printf("%lld,decision,,%d,%s\n", static_cast<long long>(d.t_ns), d.action,
                      csv_quote(jdump({{"observation", obs}, {"text", d.text}})).c_str());
        else
          std::printf("%s\n", jdump({{"t_ns", d.t_ns}, {"kind", "decision"}, {"action", d.action},
                                     {"observation", obs}, {"text", d.text}}).c_str());
      } else {
        const Sample& s = c.samples[i++];
        if (!f.sample(s.kind)) continue;
        // Kinds from a newer producer print as "kind<N>" rather than being dropped.
        const std::string kind = static_cast<std::size_t>(s.kind) < kSampleKindCount
                                     ? std::string(kind_name(s.kind))
                                     : "kind" + std::to_string(static_cast<int>(s.kind));
        const std::string name = src.name(s.source);
        if (csv) {
          std::printf("%lld,%s,%s,%s,\n", static_cast<long long>(s.t_ns), kind.c_str(), name.c_str(), num(s.value).c_str());
        } else {  // hand-formatted: this is the bulk of a dump; JSON has no NaN/inf, so those are null
          const std::string value = std::isfinite(s.value) ? num(s.value) : "null";
          std::printf("{\"t_ns\":%lld,\"kind\":\"%s\",\"source\":%s,\"value\":%s}\n", static_cast<long long>(s.t_ns),
                      kind.c_str(), jdump(name).c_str(), value.c_str());
        }
      }
    }
  }
  if (std::fflush(stdout) != 0) return fail(kExitRuntime, "writing to stdout failed");
  const auto& rep = r->report();
  if (rep.damaged())
    std::fprintf(stderr, "hetsched: warning: %s: %s, skipped %zu range(s) (%llu bytes); see 'hetsched trace info'\n",
                 a.positional[0].c_str(), rep.truncated ? "truncated" : rep.clean_end ? "damaged" : "no final chunk",
                 rep.skipped.size(), static_cast<unsigned long long>(rep.bytes_skipped));
  return kExitOk;
}

// ---- the toy board behind `trace record` ----------------------------------------------------
// Four units with one DVFS domain each; temperatures follow a first-order thermal model
//   T <- T + dt/tau * (T_amb + R_th * P - T)
// and a governor drops a frequency step above 85 C and raises one below 75 C. A 3-stage
// pipeline at 30 fps runs stage s on unit config[s]; its latency scales with fmax/f.
struct ToyUnit {
  const char* name;
  double fmax_khz, fmin_khz, idle_mw, dyn_mw, base_stage_us;
};
constexpr ToyUnit kUnits[4] = {{"L", 1'400'000, 400'000, 40, 600, 42'000},
                               {"B", 1'800'000, 600'000, 90, 2'200, 18'000},
                               {"G", 800'000, 200'000, 60, 2'800, 12'000},
                               {"N", 1'000'000, 300'000, 30, 1'500, 6'000}};

int cmd_record(const std::vector<std::string>& argv) {
  const CommandSpec spec{"hetsched trace record --out FILE [--seconds S] [--seed N] [--ring N]",
                         "Record a synthetic trace of a seeded toy board in virtual time, then summarise it.",
                         {{"out", "FILE", "trace file to write"},
                          {"seconds", "S", "virtual seconds to record, (0, 86400] (default 10)"},
                          {"seed", "N", "generator seed, >= 0 (default 1)"},
                          {"ring", "N", "ring capacity in samples, [2, 1048576] (default 1024); small values show drops"}},
                         0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  if (!a.has("out")) return fail(kExitUsage, "missing --out FILE (see --help)");
  const auto seconds = a.get_double("seconds", 10.0);
  const auto seed = a.get_int("seed", 1);
  const auto ring_cap = a.get_int("ring", 1024);
  if (a.exit_code) return *a.exit_code;
  if (!(*seconds > 0 && *seconds <= 86400)) return fail(kExitUsage, "option '--seconds' must be in (0, 86400], got " + a.get("seconds"));
  if (*seed < 0) return fail(kExitUsage, "option '--seed' must be >= 0, got " + a.get("seed"));
  if (*ring_cap < 2 || *ring_cap > (1 << 20)) return fail(kExitUsage, "option '--ring' must be in [2, 1048576], got " + a.get("ring"));

  TraceHeader h;
  h.producer = std::string("hetsched ") + HETSCHED_VERSION + " trace record";
  h.platform = "toy4";
  h.model = "toy_3stage";
  h.seeds = {static_cast<std::uint64_t>(*seed)};
  h.metadata = {{"generator", "tools/cmd_trace.cpp toy board"}, {"seconds", a.get("seconds", "10")},
                {"ring_capacity", std::to_string(*ring_cap)}};
  for (const char* n : {"L", "B", "G", "N", "board", "cpu_thermal", "gpu_thermal", "npu_thermal", "stage0",
                        "stage1", "stage2", "pipeline"})
    (void)h.sources.add(n);
  constexpr std::uint16_t kBoard = 4, kZone0 = 5, kStage0 = 8, kPipe = 11;
  auto w = TraceWriter::create({.path = a.get("out"), .chunk_samples = 4096, .chunk_interval_ns = 1'000'000'000}, h);
  if (!w.ok()) return fail(kExitRuntime, w.status().message());
  auto ring = SpscRing<Sample>::create({.capacity = static_cast<std::size_t>(*ring_cap)});
  if (!ring.ok()) return fail(kExitRuntime, ring.status().message());

  ManualClock clock(0);
  std::mt19937_64 rng(static_cast<std::uint64_t>(*seed));
  std::normal_distribution<double> noise(0.0, 1.0);
  const std::int64_t tick_ns = 10'000'000, frame_ns = 33'333'333, end_ns = static_cast<std::int64_t>(*seconds * 1e9);
  double freq[4], temp_c[4] = {40, 40, 40, 40}, util[4] = {0, 0, 0, 0}, ambient_c = 25;
  for (int u = 0; u < 4; ++u) freq[u] = kUnits[u].fmax_khz;
  std::string config = "BGN";  // unit letter per stage
  std::int64_t next_frame = 0, next_decision = 0, frames_this_s = 0, next_fps = 1'000'000'000;
  std::uint64_t seen_drops = 0;
  bool ambient_step_done = false;
  Status st;
  auto push = [&](SampleKind k, std::uint16_t src, double v) {
    (*ring)->push(Sample{.t_ns = clock.now_ns(), .value = v, .source = src, .kind = k});
  };
  auto drain = [&]() {  // consumer side: ring -> writer, and account for overflow
    Sample s;
    while (st.ok() && (*ring)->pop(s)) st = (*w)->append(s);
    (*w)->add_dropped((*ring)->dropped() - seen_drops);
    seen_drops = (*ring)->dropped();
  };
  auto event = [&](EventKind k, std::uint16_t src, std::string text) {
    drain();  // keep the file in time order: older samples first
    if (st.ok()) st = (*w)->append(Event{.t_ns = clock.now_ns(), .kind = k, .source = src, .text = std::move(text)});
  };
  event(EventKind::kConfigApplied, kPipe, config);
  for (std::int64_t tick = 0; clock.now_ns() < end_ns && st.ok(); ++tick, clock.advance_ns(tick_ns)) {
    const std::int64_t now = clock.now_ns();
    if (!ambient_step_done && now >= end_ns * 2 / 5) {
      ambient_step_done = true;
      ambient_c += 15;
      event(EventKind::kScenario, kBoard, R"({"event":"ambient_step","delta_c":15})");
    }
    double busy_us[4] = {0, 0, 0, 0};
    while (next_frame <= now) {  // frames due in this tick
      double frame_us = 0;
      for (int s = 0; s < 3; ++s) {
        const int u = static_cast<int>(std::string("LBGN").find(config[s]));
        const double us = kUnits[u].base_stage_us * kUnits[u].fmax_khz / freq[u] * (1 + 0.05 * noise(rng));
        busy_us[u] += us;
        frame_us += us;
        push(SampleKind::kStageLatency, static_cast<std::uint16_t>(kStage0 + s), std::round(us));
      }
      push(SampleKind::kFrameLatency, kPipe, std::round(frame_us + 500));
      ++frames_this_s;
      next_frame += frame_ns;
    }
    double board_mw = 800;
    for (int u = 0; u < 4; ++u) {
      util[u] = 0.7 * util[u] + 0.3 * std::min(1.0, busy_us[u] / (tick_ns / 1000.0));
      const double fr = freq[u] / kUnits[u].fmax_khz;
      const double p_mw = kUnits[u].idle_mw + kUnits[u].dyn_mw * util[u] * fr * fr;
      board_mw += p_mw;
      temp_c[u] += 0.01 / 10.0 * (ambient_c + 0.035 * p_mw - temp_c[u]);  // tau = 10 s, R = 35 C/W
      if (temp_c[u] > 85) freq[u] = std::max(kUnits[u].fmin_khz, freq[u] - 100'000);
      else if (temp_c[u] < 75) freq[u] = std::min(kUnits[u].fmax_khz, freq[u] + 100'000);
      push(SampleKind::kFreq, static_cast<std::uint16_t>(u), freq[u]);
      push(SampleKind::kUtil, static_cast<std::uint16_t>(u), std::round(1000 * util[u]));
      push(SampleKind::kRailPower, static_cast<std::uint16_t>(u), std::round(p_mw));
    }
    // Zones: the two CPU clusters share cpu_thermal; G and N have their own.
    const double zone_c[3] = {std::max(temp_c[0], temp_c[1]), temp_c[2], temp_c[3]};
    for (int z = 0; z < 3; ++z)
      push(SampleKind::kTemp, static_cast<std::uint16_t>(kZone0 + z), std::round(1000 * zone_c[z] + 200 * noise(rng)));
    push(SampleKind::kBoardPower, kBoard, std::round(board_mw + 20 * noise(rng)));
    push(SampleKind::kQueueDepth, kPipe, static_cast<double>(std::max(0, static_cast<int>(std::lround(1 + noise(rng))))));
    if (now >= next_fps) {
      push(SampleKind::kFps, kPipe, static_cast<double>(frames_this_s));
      frames_this_s = 0;
      next_fps += 1'000'000'000;
    }
    if (now >= next_decision) {  // toy policy: move stage 1 off a hot GPU (70 C), back below 60 C
      const std::string want = temp_c[2] > 70 ? "BBN" : temp_c[2] < 60 ? "BGN" : config;
      const int action = want == "BGN" ? 0 : 1;
      drain();
      if (st.ok())
        st = (*w)->append(Decision{.t_ns = now, .action = action,
                                   .observation = {static_cast<float>(temp_c[1]), static_cast<float>(temp_c[2]),
                                                   static_cast<float>(freq[2] / kUnits[2].fmax_khz), static_cast<float>(util[2])},
                                   .text = want});
      if (want != config) event(EventKind::kConfigApplied, kPipe, config = want);
      next_decision += 1'000'000'000;
    }
    if (tick % 10 == 9) drain();  // the consumer wakes every 100 ms of virtual time
  }
  drain();
  if (st.ok()) st = (*w)->close();
  if (!st.ok()) return fail(kExitRuntime, st.message());
  auto r = TraceReader::open(a.get("out"));
  if (!r.ok()) return fail(kExitRuntime, r.status().message());
  print_summary(a.get("out"), summarize(*r));
  return kExitOk;
}

int cmd_import_armcoup(const std::vector<std::string>& argv) {
  const CommandSpec spec{"hetsched trace import-armcoup RAW_POWER_FILE TIME_LOG --out TRACE",
                         "convert an ARM-CO-UP raw power trace and its console log into a trace (tools/import_armcoup.hpp)",
                         {{"out", "TRACE", "output trace file (created or truncated)"}},
                         2, 2};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  if (!a.has("out")) return fail(kExitUsage, "trace import-armcoup: --out TRACE is required");
  auto st = import_armcoup(a.positional[0], a.positional[1], a.get("out"), data_dir());
  if (!st.ok()) return fail(kExitRuntime, "trace import-armcoup: " + st.status().message());
  std::printf("imported %llu power samples, %llu GPIO edges, %llu log events (%.3f s) -> %s\n",
              static_cast<unsigned long long>(st->samples), static_cast<unsigned long long>(st->edges),
              static_cast<unsigned long long>(st->log_events), st->duration_s, a.get("out").c_str());
  return kExitOk;
}

int cmd_trace(const std::vector<std::string>& argv) {
  const std::string usage =
      "usage: hetsched trace <info|dump|record|import-armcoup> ...   (hetsched trace <sub> --help for details)\n\n"
      "  info FILE                         summary: duration, samples per kind, events, drops, damage\n"
      "  dump FILE [--format csv|jsonl] [--kind K]...   stream records to stdout\n"
      "  record --out FILE [--seconds S] [--seed N] [--ring N]   synthetic demo trace\n"
      "  import-armcoup POWER.csv TIME.txt --out FILE   an ARM-CO-UP raw measurement as a trace\n";
  if (argv.empty()) return fail(kExitUsage, "trace: missing subcommand (info, dump or record; see --help)");
  const std::string& sub = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (sub == "--help" || sub == "-h") {
    std::printf("%s", usage.c_str());
    return kExitOk;
  }
  if (sub == "info") return cmd_info(rest);
  if (sub == "dump") return cmd_dump(rest);
  if (sub == "record") return cmd_record(rest);
  if (sub == "import-armcoup") return cmd_import_armcoup(rest);
  return fail(kExitUsage, "trace: unknown subcommand '" + sub + "' (info, dump, record or import-armcoup; see --help)");
}

const CommandRegistrar kReg{"trace", "inspect (info, dump) and record telemetry traces", cmd_trace};

}  // namespace
}  // namespace hetsched::tools
