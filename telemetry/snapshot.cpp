#include "telemetry/snapshot.hpp"

#include <string>

namespace hetsched::telemetry {

Result<Snapshot> Snapshot::create(const SnapshotOptions& options) {
  if (options.max_sources == 0 || options.max_sources > SourceTable::kMaxSources + 1)
    return Status(StatusCode::kInvalidArgument, "SnapshotOptions.max_sources = " +
                                                    std::to_string(options.max_sources) +
                                                    ": must be in [1, 65536]");
  return Snapshot(options.max_sources);
}

Snapshot::Snapshot(std::size_t max_sources)
    : max_sources_(max_sources), entries_(new Entry[kSampleKindCount * max_sources]) {
  clear();
}

void Snapshot::clear() noexcept {
  for (std::size_t i = 0; i < kSampleKindCount * max_sources_; ++i) entries_[i] = Entry{0, 0.0, false};
}

bool Snapshot::update(const Sample& s) noexcept {
  const auto k = static_cast<std::size_t>(s.kind);
  if (k >= kSampleKindCount || s.source >= max_sources_) {
    ++rejected_;
    return false;
  }
  Entry& e = entries_[k * max_sources_ + s.source];
  if (!e.valid || s.t_ns >= e.t_ns) e = Entry{s.t_ns, s.value, true};
  return true;
}

std::optional<Reading> Snapshot::get(SampleKind kind, std::uint16_t source,
                                     std::int64_t now_ns) const noexcept {
  const auto k = static_cast<std::size_t>(kind);
  if (k >= kSampleKindCount || source >= max_sources_) return std::nullopt;
  const Entry& e = entries_[k * max_sources_ + source];
  if (!e.valid) return std::nullopt;
  return Reading{e.value, e.t_ns, sat_sub_ns(now_ns, e.t_ns)};
}

}  // namespace hetsched::telemetry
