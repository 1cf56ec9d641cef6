// Telemetry records: what the sensors, the runtime and the controller report.
//
// Three record types travel in a trace:
//   Sample   - a fixed-size POD (24 bytes in memory, 19 bytes on disk) for the high-rate metrics;
//              the unit is implied by the kind (see the table below) so the hot path carries
//              no strings.
//   Event    - something that happened (a configuration was applied, a scenario event fired);
//              rare, so it may own a short text payload (the "BBGGN" config string, a JSON blob).
//   Decision - one controller decision: the observation vector it saw and the action it took;
//              later issues feed these to offline training, so the observation is kept verbatim.
//
// Sources: every record names a `source` (a processing unit, DVFS domain, thermal zone, power
// rail, pipeline stage ...) by a small integer. The trace header carries a SourceTable mapping
// ids to names ("L", "B", "G", "N", "board", "soc_thermal", "stage0" ...) so dumps print names;
// ids outside the table print as numbers. One id space per trace keeps the record small.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hetsched::telemetry {

// Sample kinds. Values are stable: they are written to trace files (append new kinds at the end).
enum class SampleKind : std::uint8_t {
  kStageLatency = 0,  // stage_latency_us: one pipeline stage of one frame, microseconds; source = stage
  kFrameLatency = 1,  // frame_latency_us: end-to-end latency of one frame, microseconds; source = pipeline
  kFps = 2,           // fps: frames per second over the producer's last window; source = pipeline
  kFreq = 3,          // freq_khz: current frequency of one DVFS domain, kHz; source = domain
  kTemp = 4,          // temp_mc: temperature of one thermal zone, milli-degrees Celsius; source = zone
  kUtil = 5,          // util_permille: busy fraction of one processing unit, 0..1000; source = unit
  kRailPower = 6,     // rail_power_mw: power of one supply rail, milliwatts; source = rail
  kBoardPower = 7,    // board_power_mw: whole-board power, milliwatts; source = board (or meter)
  kQueueDepth = 8,    // queue_depth: frames waiting in one queue, count; source = queue/stage
};
inline constexpr std::size_t kSampleKindCount = 9;

// Event kinds (also stable on disk).
enum class EventKind : std::uint8_t {
  kDecision = 0,       // a decision was taken (short form; the full record is a Decision)
  kConfigApplied = 1,  // a configuration was applied; text = config string, e.g. "BBGGN"
  kScenario = 2,       // a scenario event fired; text = its description or JSON
  kNote = 3,           // free-form annotation (e.g. "warm-up done")
};
inline constexpr std::size_t kEventKindCount = 4;

// 24 bytes, trivially copyable: the ring and the snapshot copy it by value.
struct Sample {
  std::int64_t t_ns = 0;   // when the value was measured (injected clock)
  double value = 0.0;      // in the unit implied by `kind`
  std::uint16_t source = 0;  // index into the trace's SourceTable
  SampleKind kind = SampleKind::kStageLatency;
};

struct Event {
  std::int64_t t_ns = 0;      // when it happened
  EventKind kind = EventKind::kNote;
  std::uint16_t source = 0;   // who reported it (SourceTable index)
  std::string text;           // short payload: config string, scenario JSON, note
};

struct Decision {
  std::int64_t t_ns = 0;             // when the decision was taken
  std::int32_t action = 0;           // index into the policy's action table
  std::vector<float> observation;    // the observation vector the policy saw, verbatim
  std::string text;                  // optional: human-readable action, e.g. "BBGGN"
};

// a - b for timestamps, saturated to the int64 range: bad or extreme input (a trace with
// INT64_MIN and INT64_MAX stamps) must give a large age, not signed-overflow UB.
inline std::int64_t sat_sub_ns(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t d;
  if (!__builtin_sub_overflow(a, b, &d)) return d;
  return a > b ? INT64_MAX : INT64_MIN;
}

// Stable names ("freq_khz"...) used in CSV/JSONL dumps and on the CLI (--kind).
std::string_view kind_name(SampleKind kind) noexcept;
std::string_view kind_name(EventKind kind) noexcept;
// Unit of the value column, e.g. "kHz", "mC", "permille".
std::string_view kind_unit(SampleKind kind) noexcept;
std::optional<SampleKind> parse_sample_kind(std::string_view name) noexcept;
// Accepts "config_applied" and the dump spelling "event.config_applied".
std::optional<EventKind> parse_event_kind(std::string_view name) noexcept;
// Every valid --kind word, comma-separated (for error messages and --help).
std::string all_kind_names();

// Maps source ids to names. Ids are dense 0..size()-1; at most kMaxSources entries because
// Sample::source is 16 bits.
class SourceTable {
 public:
  static constexpr std::size_t kMaxSources = 65535;
  SourceTable() = default;
  explicit SourceTable(std::vector<std::string> names) : names_(std::move(names)) {}

  // Appends a name and returns its id (an existing name returns its old id); nullopt when
  // the table already holds kMaxSources names.
  std::optional<std::uint16_t> add(std::string_view name);
  std::optional<std::uint16_t> find(std::string_view name) const noexcept;
  // The name, or the decimal id when the id is not in the table.
  std::string name(std::uint16_t id) const;
  std::size_t size() const noexcept { return names_.size(); }
  const std::vector<std::string>& names() const noexcept { return names_; }

 private:
  std::vector<std::string> names_;
};

}  // namespace hetsched::telemetry
