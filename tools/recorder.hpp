// Recorder: a telemetry::RecordSink that writes a run to a trace file (`--record TRACE` on
// `hetsched sim`, `hetsched run`). The trace header carries the run's identity so that
// `hetsched replay` can rebuild the policy and the conditions (docs/replay.md):
//   header.producer/platform/model/seeds    RunIdentity fields of the same name
//   header.sources                          RunIdentity::sources (the producer's source ids)
//   metadata "mode"                         "sim" | "host" | "import"
//   metadata "policy", "policy_checksum"    policy name as given on the CLI and its checksum
//                                           (16 hex digits; "0000000000000000" for baselines)
//   metadata "scenario"                     the scenario JSON actually run (sim; "" on host)
//   metadata "version"                      HETSCHED_VERSION of the producer
//   + RunIdentity::metadata (controller period, initial configuration ...)
// Scenario events go in as Event kScenario (scenario_event_json()), configurations applied as
// kConfigApplied, each decision period's policy input as frame records
// (policies/frame_records.hpp), decisions as Decision records.
//
// Thread-safe (a host run publishes from the controller thread and the main thread); the first
// write error is kept and returned by close(), later records are dropped.
//
// Deferred header (open_recorder_deferred): `hetsched run` only knows the controller's settings
// (safe configuration measured by the host calibration, initial split) once the controller
// exists, but the runtime publishes into the recorder from its creation on. Records published
// before start() are kept in memory in arrival order and written right after the header.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "env/scenario.hpp"
#include "telemetry/record_sink.hpp"
#include "telemetry/status.hpp"
#include "telemetry/trace_writer.hpp"

namespace hetsched::tools {

struct RunIdentity {
  std::string platform;                        // platform name (rockpi_n10, host ...)
  std::string model;                           // model name
  std::string policy;                          // policy as named on the CLI (trained, heuristic, a file ...)
  std::uint64_t policy_checksum = 0;           // Policy::checksum() of the acting policy; 0 = none
  std::vector<std::uint64_t> seeds;            // every seed that shaped the run
  std::string scenario_json;                   // scenario actually run, JSON text ("" = none)
  std::string producer;                        // e.g. "hetsched 0.1.0 sim"
  std::string mode;                            // "sim", "host" or "import"
  telemetry::SourceTable sources;              // source ids the producer stamps on records
  std::map<std::string, std::string> metadata; // anything else the replay needs
};

class Recorder final : public telemetry::RecordSink {
 public:
  void on_sample(const telemetry::Sample& s) noexcept override;
  void on_event(const telemetry::Event& e) noexcept override;
  void on_decision(const telemetry::Decision& d) noexcept override;
  // Deferred recorder: writes the header from `id` and every record buffered so far (once).
  Status start(const RunIdentity& id);
  // Writes the final chunk; the first error seen while recording, else the close status. A
  // deferred recorder never started has no trace to close: kInternal.
  Status close();
  const telemetry::TraceWriterStats& stats() const noexcept { return w_->stats(); }  // started only

 private:
  friend Result<std::unique_ptr<Recorder>> open_recorder(const std::string& path, const RunIdentity& id);
  friend Result<std::unique_ptr<Recorder>> open_recorder_deferred(const std::string& path);
  explicit Recorder(std::unique_ptr<telemetry::TraceWriter> w) : w_(std::move(w)) {}
  void keep(Status st) noexcept;
  struct Held {  // a record published before start()
    int type = 0;  // 0 sample, 1 event, 2 decision
    telemetry::Sample s;
    telemetry::Event e;
    telemetry::Decision d;
  };
  std::mutex mu_;
  std::unique_ptr<telemetry::TraceWriter> w_;  // null until start() for a deferred recorder
  std::string path_;                           // deferred: where start() writes
  std::vector<Held> held_;
  Status first_error_;
  bool failed_ = false;
};

// Creates (truncates) `path` and writes the header. Errors name the path.
Result<std::unique_ptr<Recorder>> open_recorder(const std::string& path, const RunIdentity& id);

// Checks that `path` can be created (truncates it) and returns a recorder that holds records
// until Recorder::start(identity). Errors name the path.
Result<std::unique_ptr<Recorder>> open_recorder_deferred(const std::string& path);

// The identity back from a trace header (missing keys stay empty / 0).
RunIdentity identity_from_header(const telemetry::TraceHeader& h);

// One scenario event as JSON in the scenario file's own schema (docs/simulator.md).
std::string scenario_event_json(const env::ScenarioEvent& e);
// A whole scenario as JSON in the file schema (parse_scenario gives it back); events starting at
// or after duration_s (which never fire) are left out.
std::string scenario_json(const env::Scenario& s);

// 16 lowercase hex digits.
std::string checksum_hex(std::uint64_t v);

}  // namespace hetsched::tools
