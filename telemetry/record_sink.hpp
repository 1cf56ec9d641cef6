// RecordSink: where a run publishes its telemetry records (samples, events, decisions).
//
// One run feeds one sink; FanoutSink forwards to several (a trace file, a streaming server, a
// live view), so the producer does not know who listens. Sinks are called on the producer's
// thread: on_sample() must not block or allocate (drop and count instead); on_event() and
// on_decision() are rare and may allocate but must not block for long.
#pragma once

#include <vector>

#include "telemetry/sample.hpp"

namespace hetsched::telemetry {

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void on_sample(const Sample& s) noexcept = 0;
  virtual void on_event(const Event& e) noexcept = 0;
  virtual void on_decision(const Decision& d) noexcept = 0;
};

// Forwards every record to each registered sink, in registration order. Not owning.
class FanoutSink final : public RecordSink {
 public:
  void add(RecordSink* sink) {
    if (sink) sinks_.push_back(sink);
  }
  bool empty() const noexcept { return sinks_.empty(); }
  void on_sample(const Sample& s) noexcept override {
    for (RecordSink* k : sinks_) k->on_sample(s);
  }
  void on_event(const Event& e) noexcept override {
    for (RecordSink* k : sinks_) k->on_event(e);
  }
  void on_decision(const Decision& d) noexcept override {
    for (RecordSink* k : sinks_) k->on_decision(d);
  }

 private:
  std::vector<RecordSink*> sinks_;
};

}  // namespace hetsched::telemetry
