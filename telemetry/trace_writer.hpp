// TraceWriter: appends samples, events and decisions to a trace file in checksummed chunks.
//
// Lifecycle: create() opens the file and writes the header; append*() buffer records and flush
// a chunk when it is full (chunk_samples) or old (chunk_interval_ns); close() writes the final
// chunk (flag "final", so readers can tell a clean end from a truncated file).
//
// Time-based flushing uses the records' own t_ns (and flush_if_due(now_ns) with an injected
// clock), never the wall clock, so a trace recorded in virtual time is byte-for-byte
// reproducible.
//
// Allocation: the sample buffer and the chunk encode buffer are reserved at create() for a
// full chunk, so append(Sample) and flushing samples-only chunks do not allocate. Events and
// decisions own strings/vectors and are copied (they are rare).
// Not thread-safe: one writer thread (typically the consumer side of an SpscRing).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "telemetry/status.hpp"
#include "telemetry/trace.hpp"

namespace hetsched::telemetry {

struct TraceWriterOptions {
  std::string path;                                // output file; created or truncated
  std::size_t chunk_samples = 16384;               // flush after this many samples, [1, 2^22]
  std::int64_t chunk_interval_ns = 1'000'000'000;  // flush when a record is this much newer than the chunk's first; 0 = off
  std::size_t chunk_events = 1024;                 // flush after this many events + decisions, >= 1
};

struct TraceWriterStats {
  std::uint64_t samples = 0;    // samples written (flushed) so far
  std::uint64_t events = 0;     // events written so far
  std::uint64_t decisions = 0;  // decisions written so far
  std::uint64_t dropped = 0;    // upstream drops recorded so far
  std::uint64_t chunks = 0;     // chunks written so far
  std::uint64_t bytes = 0;      // bytes written so far, prefix and header included
};

class TraceWriter {
 public:
  static Result<std::unique_ptr<TraceWriter>> create(const TraceWriterOptions& options,
                                                     const TraceHeader& header);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Buffers one sample; may flush a chunk first (which is the only way this fails: I/O error).
  Status append(const Sample& s) noexcept;
  Status append(const Event& e);
  Status append(const Decision& d);
  // Records samples lost upstream (e.g. ring.dropped() deltas); stored in the next chunk.
  void add_dropped(std::uint64_t n) noexcept { pending_dropped_ += n; }
  // Flushes the pending chunk if its first record is >= chunk_interval_ns older than now_ns.
  Status flush_if_due(std::int64_t now_ns) noexcept;
  Status flush() noexcept;  // writes the pending records as a chunk (no-op when empty)
  // Writes the final chunk and closes the file. Further appends fail. Idempotent.
  Status close() noexcept;
  const TraceWriterStats& stats() const noexcept { return stats_; }

 private:
  explicit TraceWriter(const TraceWriterOptions& options) : options_(options) {}
  Status before_append(std::int64_t t_ns) noexcept;
  Status write_chunk(bool final) noexcept;
  Status io_error(const char* what) const;

  TraceWriterOptions options_;
  std::FILE* file_ = nullptr;
  bool closed_ = false;
  std::uint64_t seq_ = 0;
  std::int64_t chunk_first_t_ns_ = 0;  // t_ns of the first record in the pending chunk
  bool chunk_empty_ = true;
  std::vector<char> sample_bytes_;     // n * kSampleRecordBytes, reserved for a full chunk
  std::size_t pending_samples_ = 0;
  std::vector<Event> pending_events_;
  std::vector<Decision> pending_decisions_;
  std::uint64_t pending_dropped_ = 0;
  std::vector<char> body_;             // msgpack chunk body, reused
  TraceWriterStats stats_;
};

}  // namespace hetsched::telemetry
