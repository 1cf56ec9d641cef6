#include "tools/replay_target.hpp"

#include <algorithm>
#include <cstring>
#include <map>

namespace hetsched::tools {

using telemetry::Decision;
using telemetry::Event;
using telemetry::EventKind;

Result<ReplayLoad> load_replay(const std::string& path) {
  auto rd = telemetry::TraceReader::open(path);
  if (!rd.ok()) return rd.status();
  ReplayLoad ld;
  ld.path = path;
  ld.id = identity_from_header(rd->header());
  auto codec = policies::FrameCodec::from_sources(rd->header().sources);
  ld.has_frames = codec.ok();
  if (!codec.ok() && codec.status().code() != StatusCode::kNotFound)
    return Error(codec.status().code(), path + ": " + codec.status().message());

  // Everything intact, keyed by time; the contiguous prefix is cut afterwards.
  std::map<std::int64_t, policies::FrameRecord> frames;
  std::map<std::int64_t, Decision> decisions;
  std::int64_t stop_t = INT64_MAX;  // first time whose period is lost or damaged
  auto stop_at = [&](std::int64_t t, std::string why) {
    if (t < stop_t) stop_t = t, ld.damage = std::move(why);
  };
  std::unique_ptr<policies::FrameCodec::Decoder> dec;
  if (ld.has_frames) dec = std::make_unique<policies::FrameCodec::Decoder>(*codec);
  telemetry::TraceChunk ch;
  std::uint64_t expect_seq = 0;
  std::int64_t last_t = INT64_MIN;  // latest record time seen before the current chunk
  while (rd->next(ch)) {
    std::int64_t first_t = INT64_MAX, chunk_last = INT64_MIN;
    for (const auto& s : ch.samples) first_t = std::min(first_t, s.t_ns), chunk_last = std::max(chunk_last, s.t_ns);
    for (const auto& e : ch.events) first_t = std::min(first_t, e.t_ns), chunk_last = std::max(chunk_last, e.t_ns);
    for (const auto& d : ch.decisions) first_t = std::min(first_t, d.t_ns), chunk_last = std::max(chunk_last, d.t_ns);
    if (ch.seq != expect_seq)
      // Records between the last intact chunk and this one are gone: nothing after last_t can be
      // trusted to follow on from what was replayed.
      stop_at(last_t == INT64_MIN ? INT64_MIN : last_t + 1, "chunks " + std::to_string(expect_seq) + ".." +
                                                                std::to_string(ch.seq - 1) + " lost (damaged bytes skipped)");
    expect_seq = ch.seq + 1;
    if (chunk_last != INT64_MIN) last_t = std::max(last_t, chunk_last);
    ld.samples += ch.samples.size();
    if (dec)
      for (const auto& s : ch.samples) dec->add_sample(s);
    for (const auto& e : ch.events) {
      if (dec && codec->is_frame_event(e)) {
        ++ld.frames_total;
        auto r = dec->finish(e);
        if (r.ok()) frames.emplace(e.t_ns, std::move(r.value()));
        else stop_at(e.t_ns, r.status().message());
      } else if (e.kind == EventKind::kScenario) {
        ld.scenario_events.push_back(e);
      } else if (e.kind == EventKind::kConfigApplied) {
        ld.configs.push_back(e);
      } else if (e.kind == EventKind::kNote) {
        ld.notes.push_back(e);
      }
    }
    for (const auto& d : ch.decisions) {
      ++ld.decisions_total;
      decisions.emplace(d.t_ns, d);
    }
    (void)first_t;
  }
  ld.recovery = rd->report();
  if (ld.recovery.truncated && ld.damage.empty()) ld.damage = "trace cut (truncated)";
  else if (!ld.recovery.clean_end && ld.damage.empty()) ld.damage = "trace has no final chunk (the run did not close it)";
  // The contiguous prefix: every frame before the first damage, each with its decision. A frame
  // whose decision is missing (or the reverse) ends the prefix too.
  for (auto& [t, f] : frames) {
    if (t >= stop_t) break;
    auto d = decisions.find(t);
    if (d == decisions.end()) {
      stop_at(t, "decision at t_ns " + std::to_string(t) + " missing");
      break;
    }
    ld.frames.push_back(std::move(f));
    ld.decisions.push_back(std::move(d->second));
  }
  return ld;
}

Status ReplayTarget::observe(runtime::ControlSample* out) noexcept {
  const std::int64_t now = clock_.now_ns();
  while (next_ < frames_.size() && frames_[next_].t_ns <= now) ++next_;
  out->t_ns = now;
  if (next_ == 0) {  // before the first recorded period (Controller::create): the initial state
    out->frame = {};
    out->mask = {};
    out->current = applied_;
    out->guard = {};
    out->costs = {};
    return Status::Ok();
  }
  const policies::FrameRecord& r = frames_[next_ - 1];
  out->t_ns = r.t_ns;
  out->frame = r.frame;
  out->mask = r.mask;
  out->current = r.has_current ? r.current : applied_;
  out->guard = {r.guard.sensors_ok, r.guard.has_temp, r.guard.max_temp_mc, r.guard.frames, r.guard.failed_frames,
                r.guard.deadline_misses};
  out->costs.num_units = std::min(r.cost_units, static_cast<int>(runtime::kMaxPipelineUnits));
  out->costs.num_blocks = std::min(r.cost_blocks, static_cast<int>(runtime::kMaxPipelineBlocks));
  for (int u = 0; u < out->costs.num_units; ++u)
    for (int b = 0; b < out->costs.num_blocks; ++b)
      out->costs.cost_us[static_cast<size_t>(u) * runtime::kMaxPipelineBlocks + static_cast<size_t>(b)] =
          r.cost_us[static_cast<size_t>(u * r.cost_blocks + b)];
  return Status::Ok();
}

Status ReplayTarget::apply(const policies::Config& config) noexcept {
  applied_ = config;
  ++applies_;
  return Status::Ok();
}

namespace {
// Keeps the controller's Decisions; everything else it publishes is ignored.
struct DecisionSink final : telemetry::RecordSink {
  std::vector<Decision>* out;
  explicit DecisionSink(std::vector<Decision>* o) : out(o) {}
  void on_sample(const telemetry::Sample&) noexcept override {}
  void on_event(const Event&) noexcept override {}
  void on_decision(const Decision& d) noexcept override {
    try {
      out->push_back(d);
    } catch (...) {
    }
  }
};
}  // namespace

Result<std::vector<Decision>> replay_run(const ReplayLoad& ld, const policies::PlatformDesc& platform,
                                         const policies::ModelDesc& model, std::unique_ptr<policies::Controller> policy,
                                         const ReplayRunOptions& options) {
  std::vector<Decision> got;
  got.reserve(ld.frames.size());
  DecisionSink sink(&got);
  // The recorded first period's time minus one period is when the run's controller was created.
  const std::int64_t t0 = ld.frames.empty() ? 0 : ld.frames.front().t_ns - options.controller.period_ns;
  ManualClock clock(t0);
  ReplayTarget target(platform, model, ld.frames, options.initial, clock);
  runtime::ControllerOptions co = options.controller;
  co.sink = &sink;
  co.frame_codec = nullptr;  // the frames are the input here, not an output to compare
  // Decisions happen exactly at the recorded times: each step is forced (urgent) and the rate
  // limit is off, so the replay does not second-guess when the recorded controller decided.
  co.rate_limit_ns = 0;
  auto ctl = runtime::Controller::create(co, clock, target, std::move(policy), options.safe);
  if (!ctl.ok()) return ctl.status();
  for (const auto& f : ld.frames) {
    clock.set_ns(f.t_ns);
    ctl.value()->notify_limits_changed();
    if (!ctl.value()->step()) return Error(StatusCode::kInternal, "replay: controller refused to decide at t_ns " + std::to_string(f.t_ns));
  }
  return got;
}

bool same_decision(const Decision& a, const Decision& b) noexcept {
  if (a.t_ns != b.t_ns || a.action != b.action || a.text != b.text || a.observation.size() != b.observation.size()) return false;
  return a.observation.empty() ||
         std::memcmp(a.observation.data(), b.observation.data(), a.observation.size() * sizeof(float)) == 0;
}

}  // namespace hetsched::tools
