// Snapshot: the latest value of every metric, keyed by (kind, source), with its age.
//
// The controller reads "what is the GPU temperature now and how stale is it" every decision;
// a flat table indexed by kind * max_sources + source answers that in O(1) without hashing or
// allocation. Memory is kSampleKindCount * max_sources entries (24 B each): 9 * 64 * 24 = 14 KB
// for the default, allocated once at creation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "telemetry/sample.hpp"
#include "telemetry/status.hpp"

namespace hetsched::telemetry {

struct SnapshotOptions {
  std::size_t max_sources = 64;  // source ids 0..max_sources-1 are tracked; others are rejected
};

struct Reading {
  double value = 0.0;        // unit implied by the kind
  std::int64_t t_ns = 0;     // when it was measured
  std::int64_t age_ns = 0;   // now_ns - t_ns, saturated (negative if the sample is from the future)
};

class Snapshot {
 public:
  static Result<Snapshot> create(const SnapshotOptions& options);

  // Keeps the newer of the stored and the given sample (by t_ns; ties take the given one), so
  // out-of-order delivery never rolls a metric back. Returns false (and counts it) when the
  // source id is outside the table. No allocation.
  bool update(const Sample& s) noexcept;
  // nullopt if (kind, source) has never been updated or is outside the table.
  std::optional<Reading> get(SampleKind kind, std::uint16_t source, std::int64_t now_ns) const noexcept;
  std::uint64_t rejected() const noexcept { return rejected_; }
  std::size_t max_sources() const noexcept { return max_sources_; }
  void clear() noexcept;

 private:
  struct Entry {
    std::int64_t t_ns;
    double value;
    bool valid;
  };
  Snapshot(std::size_t max_sources);
  std::size_t max_sources_ = 0;
  std::unique_ptr<Entry[]> entries_;
  std::uint64_t rejected_ = 0;
};

}  // namespace hetsched::telemetry
