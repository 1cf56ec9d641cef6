#include "telemetry/sample.hpp"

namespace hetsched::telemetry {

namespace {
// Index = enum value. Names are part of the file/CLI contract: never rename, only append.
constexpr std::array<std::string_view, kSampleKindCount> kSampleNames = {
    "stage_latency_us", "frame_latency_us", "fps",           "freq_khz",   "temp_mc",
    "util_permille",    "rail_power_mw",    "board_power_mw", "queue_depth"};
constexpr std::array<std::string_view, kSampleKindCount> kSampleUnits = {
    "us", "us", "1/s", "kHz", "mC", "permille", "mW", "mW", "frames"};
constexpr std::array<std::string_view, kEventKindCount> kEventNames = {"decision", "config_applied",
                                                                       "scenario", "note"};
constexpr std::string_view kEventPrefix = "event.";
}  // namespace

std::string_view kind_name(SampleKind kind) noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < kSampleKindCount ? kSampleNames[i] : std::string_view("unknown");
}

std::string_view kind_name(EventKind kind) noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < kEventKindCount ? kEventNames[i] : std::string_view("unknown");
}

std::string_view kind_unit(SampleKind kind) noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < kSampleKindCount ? kSampleUnits[i] : std::string_view("");
}

std::optional<SampleKind> parse_sample_kind(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kSampleKindCount; ++i)
    if (kSampleNames[i] == name) return static_cast<SampleKind>(i);
  return std::nullopt;
}

std::optional<EventKind> parse_event_kind(std::string_view name) noexcept {
  if (name.substr(0, kEventPrefix.size()) == kEventPrefix) name.remove_prefix(kEventPrefix.size());
  for (std::size_t i = 0; i < kEventKindCount; ++i)
    if (kEventNames[i] == name) return static_cast<EventKind>(i);
  return std::nullopt;
}

std::string all_kind_names() {
  std::string out;
  for (auto n : kSampleNames) out.append(n).append(",");
  for (auto n : kEventNames) out.append(kEventPrefix).append(n).append(",");
  out += "event,decision";  // all events / full decision records
  return out;
}

std::optional<std::uint16_t> SourceTable::add(std::string_view name) {
  if (auto id = find(name)) return id;
  if (names_.size() >= kMaxSources) return std::nullopt;
  names_.emplace_back(name);
  return static_cast<std::uint16_t>(names_.size() - 1);
}

std::optional<std::uint16_t> SourceTable::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<std::uint16_t>(i);
  return std::nullopt;
}

std::string SourceTable::name(std::uint16_t id) const {
  return id < names_.size() ? names_[id] : std::to_string(id);
}

}  // namespace hetsched::telemetry
