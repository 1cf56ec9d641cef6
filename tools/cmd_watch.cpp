// `hetsched watch HOST:PORT`: a live terminal view of a running device's stream (issue 7).
//
// Shows per-stage latency, FPS against the run's target, per-unit frequency / load, temperatures,
// power, the current configuration and the decisions as they arrive. The screen is redrawn with
// ANSI codes at most every --refresh-ms (drawing every frame at 1 kHz would cost more than the
// data); --once prints one plain snapshot as soon as data arrived (scripts, tests), --seconds S
// stops after S seconds. Exit: 0 when the stream ended cleanly or the time was up, 1 when the
// connection failed or the server closed it with an error, 2 on usage errors.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/stream_client.hpp"
#include "telemetry/sample.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace hetsched::tools {
namespace {

using namespace hetsched::telemetry;

struct Last {
  double value = 0;
  std::int64_t t_ns = 0;
  std::uint64_t n = 0;
};

struct View {
  HelloFrame hello;
  std::map<std::pair<int, std::uint16_t>, Last> last;  // (kind, source) -> latest value
  std::string config = "?";
  std::int64_t config_t_ns = 0;    // 0: no config_applied event seen
  bool config_from_decision = false;
  std::deque<std::string> decisions;  // newest last, at most 8
  std::deque<std::string> events;     // newest last, at most 4
  std::uint64_t samples = 0, lost = 0, n_decisions = 0;
  std::int64_t first_t_ns = 0, last_t_ns = 0;
};

std::string src(const View& v, std::uint16_t id) {
  return id < v.hello.sources.size() ? v.hello.sources[id] : "#" + std::to_string(id);
}

double secs(const View& v, std::int64_t t_ns) { return static_cast<double>(sat_sub_ns(t_ns, v.first_t_ns)) * 1e-9; }

void absorb(View& v, Frame& f) {
  switch (f.type) {
    case FrameType::kSamples:
      for (const Sample& s : f.samples) {
        if (v.samples++ == 0) v.first_t_ns = s.t_ns;
        v.last_t_ns = std::max(v.last_t_ns, s.t_ns);
        Last& l = v.last[{static_cast<int>(s.kind), s.source}];
        l.value = s.value, l.t_ns = s.t_ns, ++l.n;
      }
      break;
    case FrameType::kEvent: {
      const Event& e = f.event;
      if (e.kind == EventKind::kConfigApplied) v.config = e.text, v.config_t_ns = e.t_ns;
      // Frame records (policies/frame_records: "hsframe..." notes) are for replay, not for eyes.
      else if (!(e.kind == EventKind::kNote && e.text.rfind("hsframe", 0) == 0)) {
        v.events.push_back(std::string(kind_name(e.kind)) + " " + src(v, e.source) + ": " + e.text.substr(0, 100));
        if (v.events.size() > 4) v.events.pop_front();
      }
      break;
    }
    case FrameType::kDecision: {
      ++v.n_decisions;
      char b[160];
      std::snprintf(b, sizeof b, "t=%9.3f s  action %4d  %s", secs(v, f.decision.t_ns), f.decision.action,
                    f.decision.text.substr(0, 60).c_str());
      v.decisions.push_back(b);
      // Runs that publish no config_applied event name the configuration in the decision text.
      if (!f.decision.text.empty() && v.config_t_ns == 0) v.config = f.decision.text, v.config_from_decision = true;
      if (v.decisions.size() > 8) v.decisions.pop_front();
      break;
    }
    case FrameType::kLost: v.lost += f.lost; break;
    default: break;
  }
}

bool is_target(const std::string& name) { return name.size() >= 7 && name.compare(name.size() - 7, 7, ".target") == 0; }

// One row per source of a kind: "name value" pairs with a unit conversion. Targets (sources
// "*.target" of the frame records) are shown on the FPS / targets lines instead.
std::string row(const View& v, SampleKind k, double scale, const char* fmt) {
  std::string out;
  char b[64];
  for (const auto& [key, l] : v.last) {
    if (key.first != static_cast<int>(k) || is_target(src(v, key.second))) continue;
    std::snprintf(b, sizeof b, fmt, l.value * scale);
    out += "  " + src(v, key.second) + " " + b;
  }
  return out.empty() ? "  -" : out;
}

std::string render(const View& v, const std::string& where) {
  std::ostringstream o;
  char b[256];
  o << "hetsched watch " << where << "  " << v.hello.description << "\n";
  std::snprintf(b, sizeof b, "stream: %.1f s  samples %llu  decisions %llu  lost %llu\n", secs(v, v.last_t_ns),
                static_cast<unsigned long long>(v.samples), static_cast<unsigned long long>(v.n_decisions),
                static_cast<unsigned long long>(v.lost));
  o << b;
  // FPS against the target: the headline number of the scheduler.
  // The delivered FPS is the non-target kFps source; the target is the run's (hello) or, when the
  // run streams frame records, the latest "*.target" FPS sample (targets may change mid-run).
  double fps = NAN, target = v.hello.target_fps, lat_bound = 0, budget = 0;
  for (const auto& [key, l] : v.last) {
    const bool tgt = is_target(src(v, key.second));
    if (key.first == static_cast<int>(SampleKind::kFps)) (tgt ? target : fps) = (tgt && l.value <= 0) ? target : l.value;
    if (tgt && key.first == static_cast<int>(SampleKind::kFrameLatency)) lat_bound = l.value;
    if (tgt && key.first == static_cast<int>(SampleKind::kBoardPower)) budget = l.value;
  }
  if (target > 0 && std::isfinite(fps))
    std::snprintf(b, sizeof b, "FPS            %.1f / target %.1f (%.0f %%)\n", fps, target, 100 * fps / target);
  else if (std::isfinite(fps)) std::snprintf(b, sizeof b, "FPS            %.1f (no target)\n", fps);
  else std::snprintf(b, sizeof b, "FPS            -\n");
  o << b;
  char lb[32] = "none", pb[32] = "none";
  if (lat_bound > 0) std::snprintf(lb, sizeof lb, "%.1f ms", lat_bound / 1000);
  if (budget > 0) std::snprintf(pb, sizeof pb, "%.0f mW", budget);
  o << "targets        latency bound " << lb << ", power budget " << pb << "\n";
  o << "frame ms     " << row(v, SampleKind::kFrameLatency, 1e-3, "%.2f") << "\n";
  o << "stage ms     " << row(v, SampleKind::kStageLatency, 1e-3, "%.2f") << "\n";
  o << "queue        " << row(v, SampleKind::kQueueDepth, 1, "%.0f") << "\n";
  o << "freq MHz     " << row(v, SampleKind::kFreq, 1e-3, "%.0f") << "\n";
  o << "load %       " << row(v, SampleKind::kUtil, 0.1, "%.0f") << "\n";
  o << "temp C       " << row(v, SampleKind::kTemp, 1e-3, "%.1f") << "\n";
  o << "power mW     " << row(v, SampleKind::kBoardPower, 1, "%.0f") << "\n";
  o << "rails mW     " << row(v, SampleKind::kRailPower, 1, "%.0f") << "\n";
  if (v.config_t_ns != 0) std::snprintf(b, sizeof b, "config         %s (since %.3f s)\n", v.config.c_str(), secs(v, v.config_t_ns));
  else std::snprintf(b, sizeof b, "config         %s%s\n", v.config.c_str(), v.config_from_decision ? " (latest decision)" : "");
  o << b << "decisions:\n";
  for (const auto& d : v.decisions) o << "  " << d << "\n";
  for (const auto& e : v.events) o << "event: " << e << "\n";
  return o.str();
}

int cmd_watch(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched watch HOST:PORT [--once] [--seconds S] [--refresh-ms MS] [--token-file F] [--kind K,...] [--decimation N]",
      "live view of a device streaming with `hetsched run --listen` (docs/streaming.md)",
      {{"once", "", "print one plain snapshot as soon as data arrived, then exit"},
       {"seconds", "S", "stop after S seconds (default: until the stream ends)"},
       {"refresh-ms", "MS", "redraw at most this often (default 250)"},
       {"token-file", "F", "shared token (servers off loopback); else $HETSCHED_STREAM_TOKEN"},
       {"kind", "K,...", "only these sample/event kinds (e.g. fps,freq_khz,config_applied); decisions always shown"},
       {"decimation", "N", "the server forwards every N-th sample per kind and source (default 1)"},
       {"no-ansi", "", "print snapshots one after another instead of redrawing the screen"}},
      1, 1};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  const auto seconds = a.get_double("seconds", -1);
  const auto refresh = a.get_int("refresh-ms", 250);
  const auto decim = a.get_int("decimation", 1);
  if (!seconds || !refresh || !decim) return kExitUsage;
  if (*refresh < 10 || *refresh > 60000) return fail(kExitUsage, "watch: --refresh-ms " + std::to_string(*refresh) + ": must be in [10, 60000]");
  if (*decim < 1 || *decim > 1000000) return fail(kExitUsage, "watch: --decimation " + std::to_string(*decim) + ": must be in [1, 1e6]");
  if (a.has("seconds") && (!(*seconds > 0) || *seconds > 1e6)) return fail(kExitUsage, "watch: --seconds must be in (0, 1e6]");
  runtime::StreamClientOptions co;
  if (Status st = runtime::parse_host_port(a.positional[0], &co.host, &co.port); !st.ok()) return fail(kExitUsage, "watch: " + st.message());
  co.filter.decimation = static_cast<std::uint32_t>(*decim);
  if (a.has("kind")) {
    co.filter.sample_kinds = co.filter.event_kinds = 0;
    std::stringstream ss(a.get("kind"));
    for (std::string w; std::getline(ss, w, ',');) {
      if (auto k = parse_sample_kind(w)) co.filter.sample_kinds |= 1u << static_cast<unsigned>(*k);
      else if (auto e = parse_event_kind(w)) co.filter.event_kinds |= 1u << static_cast<unsigned>(*e);
      else return fail(kExitUsage, "watch: --kind '" + w + "': not one of " + all_kind_names());
    }
  }
  if (a.has("token-file")) {
    std::ifstream in(a.get("token-file"));
    if (!in) return fail(kExitRuntime, "watch: --token-file " + a.get("token-file") + ": cannot open");
    std::getline(in, co.token);
    while (!co.token.empty() && (co.token.back() == '\r' || co.token.back() == ' ')) co.token.pop_back();
  } else if (const char* e = std::getenv("HETSCHED_STREAM_TOKEN")) {
    co.token = e;
  }
  auto client = runtime::StreamClient::connect(co);
  if (!client.ok()) return fail(kExitRuntime, "watch: " + client.status().message());
  View v;
  v.hello = client.value()->hello();
  const bool once = a.has("once");
  const bool ansi = !once && !a.has("no-ansi") && isatty(STDOUT_FILENO);
  const auto start = std::chrono::steady_clock::now();
  auto last_draw = start - std::chrono::hours(1);
  const std::string where = a.positional[0];
  auto draw = [&] {
    const std::string s = render(v, where);
    std::fputs(ansi ? ("\x1b[H\x1b[2J" + s).c_str() : (s + "\n").c_str(), stdout);
    std::fflush(stdout);
    last_draw = std::chrono::steady_clock::now();
  };
  const double limit_s = a.has("seconds") ? *seconds : (once ? 10.0 : -1.0);
  for (;;) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (limit_s > 0 && elapsed >= limit_s) {
      if (once) return fail(kExitRuntime, "watch: no samples within " + std::to_string(static_cast<int>(limit_s)) + " s");
      draw();
      return kExitOk;
    }
    const int wait_ms = static_cast<int>(std::min<double>(*refresh, limit_s > 0 ? (limit_s - elapsed) * 1000 + 1 : *refresh));
    auto f = client.value()->next(std::max(1, wait_ms));
    if (!f.ok()) {
      if (f.status().code() == StatusCode::kUnavailable) {
        if (!once && v.samples) draw();
        continue;
      }
      if (!once) draw();
      // The server closing cleanly ("server stopping": the run ended) is a normal end.
      const bool clean = f.status().message().find("server stopping") != std::string::npos;
      if (clean && !once) return kExitOk;
      return fail(kExitRuntime, "watch: " + a.positional[0] + ": " + f.status().message());
    }
    absorb(v, *f);
    // --once: a snapshot once two decision periods (the first has no FPS yet) or 200 samples arrived.
    if (once && v.samples > 0 && (v.samples >= 200 || v.n_decisions >= 2)) {
      draw();
      return kExitOk;
    }
    if (!once && std::chrono::steady_clock::now() - last_draw >= std::chrono::milliseconds(*refresh)) draw();
  }
}

const CommandRegistrar kReg{"watch", "live view of a device's telemetry stream (run --listen)", cmd_watch};

}  // namespace
}  // namespace hetsched::tools
