// Frame records: the one codec between a decision period's policy input (TelemetryFrame +
// MaskInput) and telemetry records, so a run publishes exactly what its policy saw and replay
// feeds exactly that back (docs/replay.md).
//
// One period at time t becomes:
//   Samples (t_ns = t), values verbatim (no unit conversion, so doubles round-trip bit-exactly):
//     source "frame":        fps (kFps), latency_us (kFrameLatency), power_mw (kBoardPower),
//                            written even when not *_ok (the flags are in the event)
//     source "frame.max":    max_latency_us (kFrameLatency)
//     source "frame.target": target_fps (kFps), max_latency_us_target (kFrameLatency),
//                            power_budget_mw (kBoardPower)
//     source "frame.u<i>":   freq_khz (kFreq), util · 1000 (kUtil, permille for dumps; the exact
//                            double is in the event)           for each unit i < num_units
//     source "frame.u<i>.cap": max_freq_khz (kFreq)            for each unit i < num_units
//     source "frame.z<j>":   temp_mc (kTemp)                    for each zone j < num_zones
//     source "frame.s<k>":   stage_latency_us (kStageLatency), queue_depth (kQueueDepth)
//                                                              for each stage k < num_stages
//   then one Event (kNote, source "frame", written after the samples) whose text holds what has
//   no sample kind: "hsframe1 n=<samples> ns=<stages> fr=<frames> dr=<dropped> rc=<0|1>
//   ok=<fps lat pow as 0/1> uok=<per unit> on=<per unit> tok=<per zone> util=<hex floats>
//   mon=<mask online per unit> mopp=<mask max OPP per unit>" followed by what the runtime's
//   guard and built-in balancer also read (optional): "cur=<config>" (the configuration in force:
//   blocks:order:hosts:freq_idx[:block_freq:block_host_freq], raw, no platform needed),
//   "g=<sensors_ok has_temp> gt=<max_temp_mc> gf=<frames>,<failed>,<misses>" and
//   "cost=<units>x<blocks>:<hex floats>". n lets the decoder tell a complete period from one
//   whose samples were lost with a damaged chunk.
// Why samples and not one blob: `hetsched trace dump --kind freq_khz`, env/metrics and plots
// read the sensed values like any other telemetry.
//
// Entries beyond num_units / num_zones / num_stages are not recorded and decode to the
// TelemetryFrame / MaskInput defaults. Two periods must not share a t_ns (the controller's
// rate limit keeps them apart).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "policies/action_space.hpp"
#include "policies/obs_encoder.hpp"
#include "telemetry/record_sink.hpp"
#include "telemetry/sample.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

inline constexpr const char* kFrameEventPrefix = "hsframe1 ";

// The guard's inputs (runtime/control_target.hpp GuardInput, mirrored here because policies/
// cannot include runtime/). Counters are cumulative.
struct GuardRecord {
  bool sensors_ok = true;
  bool has_temp = false;
  int max_temp_mc = 0;
  std::uint64_t frames = 0, failed_frames = 0, deadline_misses = 0;
  bool operator==(const GuardRecord&) const = default;
};

// What a producer publishes for one period (a view: nothing is copied until encoding).
struct PeriodInput {
  std::int64_t t_ns = 0;
  const TelemetryFrame* frame = nullptr;  // required
  const MaskInput* mask = nullptr;        // required
  const Config* current = nullptr;        // configuration in force; null = not recorded
  GuardRecord guard;
  int cost_units = 0, cost_blocks = 0;    // block-cost matrix; 0 units = none
  int cost_stride = 0;                    // cost_us[u * cost_stride + b], stride >= cost_blocks
  const float* cost_us = nullptr;
};

// One decoded period.
struct FrameRecord {
  std::int64_t t_ns = 0;
  TelemetryFrame frame;
  MaskInput mask;
  bool has_current = false;
  Config current{};
  GuardRecord guard;
  int cost_units = 0, cost_blocks = 0;
  std::vector<float> cost_us;             // dense: cost_us[u * cost_blocks + b]
};

class FrameCodec {
 public:
  // Samples one period produces: 3 + 1 + 3 + 3·units + zones + 2·stages.
  static constexpr int kMaxSamples = 7 + 3 * kMaxUnits + kObsMaxZones + 2 * kObsMaxStages;

  // Writer side: registers the codec's source names in `sources` (existing names keep their
  // ids). Errors: counts out of range, source table full.
  static Result<FrameCodec> create(int num_units, int num_zones, telemetry::SourceTable* sources);
  // Reader side: finds the source names in a trace's table. kNotFound when the trace has no
  // frame records (e.g. an imported measurement); num_units/num_zones are read from the table.
  static Result<FrameCodec> from_sources(const telemetry::SourceTable& sources);

  int num_units() const noexcept { return units_; }
  int num_zones() const noexcept { return zones_; }

  // Writes the period's samples into out (size >= kMaxSamples); returns how many. noexcept,
  // no allocation (the hot path publishes these).
  int encode_samples(std::int64_t t_ns, const TelemetryFrame& f, std::span<telemetry::Sample> out) const noexcept;
  // The closing event. n_samples = encode_samples' count. The second form rewrites *out in place
  // and reuses its text's capacity (no allocation once it is large enough; integers and hex
  // floats are written with std::to_chars, the same characters printf's %d / %a give).
  telemetry::Event encode_event(const PeriodInput& in, int n_samples) const;
  void encode_event(const PeriodInput& in, int n_samples, telemetry::Event* out) const;
  // Both, in order, to a sink: what a controller calls once per decision. With `scratch`, the
  // event is built in it (a caller-owned buffer kept between periods: the per-period path then
  // does not allocate).
  void publish(telemetry::RecordSink& sink, const PeriodInput& in, telemetry::Event* scratch = nullptr) const;

  // True if the event is a frame event of this codec (kind, source and prefix).
  bool is_frame_event(const telemetry::Event& e) const noexcept;

  // Reassembles periods from records in write order per type: feed every sample (any source;
  // others are ignored), then the events; a frame event completes the period at its t_ns.
  class Decoder {
   public:
    explicit Decoder(const FrameCodec& codec) : c_(&codec) {}
    void add_sample(const telemetry::Sample& s);
    // For a frame event: the decoded period, or kCorrupt naming what is wrong (malformed text,
    // samples missing because a chunk was lost). Non-frame events: kNotFound.
    Result<FrameRecord> finish(const telemetry::Event& e);
    // Periods whose samples arrived but whose event never did (lost chunk or cut trace).
    std::size_t pending() const noexcept { return pending_.size(); }

   private:
    struct Pending {
      FrameRecord rec;
      int count = 0;
      std::string error;  // first bad sample value
    };
    const FrameCodec* c_;
    std::map<std::int64_t, Pending> pending_;
  };

 private:
  FrameCodec() = default;
  // Role of a source id for the decoder.
  enum class Role : std::uint8_t { kNone, kFrame, kMax, kTarget, kUnit, kCap, kZone, kStage };
  struct SourceRole {
    Role role = Role::kNone;
    std::uint8_t index = 0;
  };
  int units_ = 0, zones_ = 0;
  std::uint16_t frame_ = 0, max_ = 0, target_ = 0;
  std::array<std::uint16_t, kMaxUnits> unit_{}, cap_{};
  std::array<std::uint16_t, kObsMaxZones> zone_{};
  std::array<std::uint16_t, kObsMaxStages> stage_{};
  std::vector<SourceRole> roles_;  // indexed by source id
};

}  // namespace hetsched::policies
