// TraceReader: reads a trace, recovering every intact chunk of a damaged file.
//
// open() validates the prefix and header; a file that fails there is not readable at all
// ("FILE: not a hetsched trace (bad magic)", "FILE: header corrupt (CRC mismatch)" ...).
// After that nothing is fatal: next() returns chunks in file order and steps over damage.
//
// Recovery rule. At a chunk boundary the reader expects the 8-byte marker, a length and a
// CRC over length+body. If the marker is missing, the CRC does not match, or the body does not
// decode, the chunk's length field cannot be trusted either, so the reader does not jump by
// it: it scans forward from the next byte for the next marker and records the bytes in between
// as one SkippedRange with the reason. A length running past end of file means the file was
// cut: if no later marker exists the tail is recorded as "truncated". A false marker inside
// damaged data costs nothing: its CRC fails and scanning continues (CRC-32 lets a random
// false match through with probability 2^-32).
//
// The whole file is read into memory at open() (traces are tens of MB; this keeps the resync
// scan a plain memory search).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "telemetry/status.hpp"
#include "telemetry/trace.hpp"

namespace hetsched::telemetry {

struct SkippedRange {
  std::uint64_t begin = 0;  // byte offset, inclusive
  std::uint64_t end = 0;    // byte offset, exclusive
  std::string reason;       // e.g. "chunk CRC mismatch", "no chunk marker", "truncated chunk"
};

struct RecoveryReport {
  std::uint64_t file_bytes = 0;
  std::uint64_t chunks_ok = 0;       // chunks decoded
  std::uint64_t chunks_skipped = 0;  // skipped ranges that began at a chunk marker (damaged chunks)
  std::uint64_t bytes_skipped = 0;   // sum of skipped range lengths
  bool truncated = false;            // the file ends inside a chunk
  bool clean_end = false;            // the writer's final chunk was read
  std::vector<SkippedRange> skipped;
  bool damaged() const noexcept { return !skipped.empty() || !clean_end; }
};

class TraceReader {
 public:
  // Reads `path` fully. Errors: kNotFound / kIoError (cannot open/read), kCorrupt (empty, not a
  // trace, header damaged), kInvalidArgument (format major newer than this reader).
  static Result<TraceReader> open(const std::string& path);
  // Same, from bytes in memory; `name` is used in messages.
  static Result<TraceReader> from_bytes(std::string name, std::vector<char> bytes);

  const TraceHeader& header() const noexcept { return header_; }
  // Decodes the next intact chunk into `out` (its vectors are reused). False at end of file.
  bool next(TraceChunk& out);
  // Complete only once next() has returned false.
  const RecoveryReport& report() const noexcept { return report_; }
  const std::string& name() const noexcept { return name_; }

 private:
  TraceReader() = default;
  void skip_to_next_marker(std::size_t from, std::string reason);
  bool decode_chunk(const char* body, std::size_t len, TraceChunk& out, std::string& why);

  std::string name_;
  std::vector<char> bytes_;
  std::size_t pos_ = 0;
  bool done_ = false;
  TraceHeader header_;
  RecoveryReport report_;
};

// Totals over a whole trace (for `hetsched trace info` and tests).
struct TraceSummary {
  TraceHeader header;
  RecoveryReport recovery;
  std::array<std::uint64_t, kSampleKindCount> samples_per_kind{};
  std::uint64_t samples_unknown_kind = 0;  // kinds written by a newer producer
  std::array<std::uint64_t, kEventKindCount> events_per_kind{};
  std::uint64_t events_unknown_kind = 0;
  std::uint64_t samples = 0, events = 0, decisions = 0;
  std::uint64_t dropped_samples = 0;   // upstream drops recorded by the writer
  std::uint64_t missing_chunks = 0;    // gaps in the chunk sequence numbers
  std::int64_t first_t_ns = 0, last_t_ns = 0;  // over all records; both 0 when empty
};

// Reads the rest of `reader` (call on a freshly opened reader) and totals it.
TraceSummary summarize(TraceReader& reader);

}  // namespace hetsched::telemetry
