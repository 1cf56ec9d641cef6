#include "tools/recorder.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <nlohmann/json.hpp>

namespace hetsched::tools {

void Recorder::keep(Status st) noexcept {
  if (!st.ok() && !failed_) {
    failed_ = true;
    first_error_ = std::move(st);
  }
}

void Recorder::on_sample(const telemetry::Sample& s) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) return;
  if (w_) return keep(w_->append(s));
  try {
    Held h;
    h.type = 0;
    h.s = s;
    held_.push_back(std::move(h));
  } catch (...) {
    keep(Error(StatusCode::kInternal, "recorder: out of memory holding a sample before the header"));
  }
}

void Recorder::on_event(const telemetry::Event& e) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) return;
  try {
    if (w_) keep(w_->append(e));
    else {
      Held h;
      h.type = 1;
      h.e = e;
      held_.push_back(std::move(h));
    }
  } catch (...) {  // allocation failure copying the text
    keep(Error(StatusCode::kInternal, "recorder: out of memory appending an event"));
  }
}

void Recorder::on_decision(const telemetry::Decision& d) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) return;
  try {
    if (w_) keep(w_->append(d));
    else {
      Held h;
      h.type = 2;
      h.d = d;
      held_.push_back(std::move(h));
    }
  } catch (...) {
    keep(Error(StatusCode::kInternal, "recorder: out of memory appending a decision"));
  }
}

Status Recorder::close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!w_) return Error(StatusCode::kInternal, "recorder for " + path_ + " was never started (no header written)");
  Status st = w_->close();
  if (failed_) return first_error_;
  return st;
}

std::string checksum_hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}

namespace {
telemetry::TraceHeader header_of(const RunIdentity& id) {
  telemetry::TraceHeader h;
  h.producer = id.producer;
  h.platform = id.platform;
  h.model = id.model;
  h.seeds = id.seeds;
  h.sources = id.sources;
  h.metadata = id.metadata;
  h.metadata["mode"] = id.mode;
  h.metadata["policy"] = id.policy;
  h.metadata["policy_checksum"] = checksum_hex(id.policy_checksum);
  h.metadata["scenario"] = id.scenario_json;
  h.metadata["version"] = HETSCHED_VERSION;
  return h;
}
}  // namespace

Result<std::unique_ptr<Recorder>> open_recorder(const std::string& path, const RunIdentity& id) {
  auto w = telemetry::TraceWriter::create({.path = path}, header_of(id));
  if (!w.ok()) return w.status();
  return std::unique_ptr<Recorder>(new Recorder(std::move(w.value())));
}

Result<std::unique_ptr<Recorder>> open_recorder_deferred(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Error(StatusCode::kIoError, path + ": cannot create the trace file: " + std::strerror(errno));
  std::fclose(f);
  std::unique_ptr<Recorder> r(new Recorder(nullptr));
  r->path_ = path;
  return r;
}

Status Recorder::start(const RunIdentity& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w_) return Error(StatusCode::kInternal, "recorder for " + path_ + ": already started");
  auto w = telemetry::TraceWriter::create({.path = path_}, header_of(id));
  if (!w.ok()) return w.status();
  w_ = std::move(w.value());
  // In arrival order, as if they had been written at once.
  for (const Held& h : held_) {
    if (failed_) break;
    if (h.type == 0) keep(w_->append(h.s));
    else if (h.type == 1) keep(w_->append(h.e));
    else keep(w_->append(h.d));
  }
  std::vector<Held>().swap(held_);
  return failed_ ? first_error_ : Status::Ok();
}

RunIdentity identity_from_header(const telemetry::TraceHeader& h) {
  RunIdentity id;
  id.producer = h.producer;
  id.platform = h.platform;
  id.model = h.model;
  id.seeds = h.seeds;
  id.sources = h.sources;
  id.metadata = h.metadata;
  auto get = [&](const char* k) {
    auto it = h.metadata.find(k);
    return it == h.metadata.end() ? std::string() : it->second;
  };
  id.mode = get("mode");
  id.policy = get("policy");
  id.scenario_json = get("scenario");
  const std::string sum = get("policy_checksum");
  char* end = nullptr;
  const unsigned long long v = std::strtoull(sum.c_str(), &end, 16);
  id.policy_checksum = (!sum.empty() && *end == '\0') ? v : 0;
  return id;
}

namespace {
nlohmann::json event_json(const env::ScenarioEvent& e) {
  nlohmann::json j;
  j["t_s"] = e.t_s;
  j["type"] = env::event_type_name(e.type);
  switch (e.type) {
    case env::EventType::kBackgroundLoad:
      j["unit"] = std::string(1, e.unit), j["cores"] = e.cores, j["util"] = e.util;
      break;
    case env::EventType::kContention: j["unit"] = std::string(1, e.unit), j["slowdown"] = e.slowdown; break;
    case env::EventType::kUnitOffline: j["unit"] = std::string(1, e.unit); break;
    case env::EventType::kMaxLatencyMs:
    case env::EventType::kPowerBudgetMw:
      // 0 encodes JSON null ("no bound" / "no budget") for these two.
      if (e.value == 0) j["value"] = nullptr;
      else j["value"] = e.value;
      break;
    default: j["value"] = e.value; break;
  }
  if (e.duration_s >= 0) j["duration_s"] = e.duration_s;
  return j;
}
}  // namespace

std::string scenario_event_json(const env::ScenarioEvent& e) { return event_json(e).dump(); }

std::string scenario_json(const env::Scenario& s) {
  nlohmann::json j;
  j["name"] = s.name;
  if (!s.platform.empty()) j["platform"] = s.platform;
  if (!s.model.empty()) j["model"] = s.model;
  j["duration_s"] = s.duration_s;
  j["decision_period_ms"] = s.decision_period_ms;
  nlohmann::json init;
  init["ambient_c"] = s.initial.ambient_c;
  init["target_fps"] = s.initial.target_fps;
  init["max_latency_ms"] = s.initial.max_latency_ms > 0 ? nlohmann::json(s.initial.max_latency_ms) : nlohmann::json(nullptr);
  init["power_budget_mw"] = s.initial.power_budget_mw > 0 ? nlohmann::json(s.initial.power_budget_mw) : nlohmann::json(nullptr);
  j["initial"] = init;
  j["events"] = nlohmann::json::array();
  // Events at or after the end never fire (a run shortened with --seconds keeps them in memory);
  // the scenario file schema refuses them, so they are left out.
  for (const auto& e : s.events)
    if (e.t_s < s.duration_s) j["events"].push_back(event_json(e));
  return j.dump();
}

}  // namespace hetsched::tools
