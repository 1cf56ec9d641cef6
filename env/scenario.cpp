#include "env/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace hetsched::env {

using nlohmann::json;

const char* event_type_name(EventType t) noexcept {
  switch (t) {
    case EventType::kBackgroundLoad: return "background_load";
    case EventType::kContention: return "contention";
    case EventType::kTargetFps: return "target_fps";
    case EventType::kMaxLatencyMs: return "max_latency_ms";
    case EventType::kAmbientC: return "ambient_c";
    case EventType::kUnitOffline: return "unit_offline";
    case EventType::kPowerBudgetMw: return "power_budget_mw";
    case EventType::kDieTempC: return "die_temp_c";
  }
  return "?";
}

namespace {

constexpr EventType kAllTypes[] = {EventType::kBackgroundLoad, EventType::kContention, EventType::kTargetFps,
                                   EventType::kMaxLatencyMs,   EventType::kAmbientC,   EventType::kUnitOffline,
                                   EventType::kPowerBudgetMw,  EventType::kDieTempC};

// Keys each event type accepts besides t_s, type and duration_s.
std::vector<std::string> keys_of(EventType t) {
  switch (t) {
    case EventType::kBackgroundLoad: return {"unit", "cores", "util"};
    case EventType::kContention: return {"unit", "slowdown"};
    case EventType::kUnitOffline: return {"unit"};
    default: return {"value"};
  }
}

// Field reader that turns every malformed value into one message naming file and field path.
struct Reader {
  const std::string& src;
  Status err(const std::string& field, const std::string& what) const {
    return Error(StatusCode::kInvalidArgument, src + ": " + field + ": " + what);
  }
  // A finite number in [lo, hi]; null allowed (→ *out = 0) only when nullable.
  Status number(const json& j, const std::string& field, double lo, double hi, double* out, bool nullable = false) const {
    if (j.is_null() && nullable) {
      *out = 0;
      return Status::Ok();
    }
    if (!j.is_number()) return err(field, std::string("expected a number") + (nullable ? " or null" : "") + ", got " + j.dump());
    const double v = j.get<double>();
    if (!std::isfinite(v) || v < lo || v > hi) {
      std::ostringstream os;
      os << j.dump() << " outside [" << lo << ", " << hi << "]";
      return err(field, os.str());
    }
    *out = v;
    return Status::Ok();
  }
  Status string(const json& j, const std::string& field, std::string* out) const {
    if (!j.is_string()) return err(field, "expected a string, got " + j.dump());
    *out = j.get<std::string>();
    return Status::Ok();
  }
};

Status parse_event(const Reader& r, const json& e, int index, const Scenario& s, ScenarioEvent* out) {
  const std::string at = "events[" + std::to_string(index) + "]";
  if (!e.is_object()) return r.err(at, "expected an object");
  if (!e.contains("type")) return r.err(at, "missing key 'type'");
  std::string type;
  HETSCHED_RETURN_IF_ERROR(r.string(e["type"], at + ".type", &type));
  bool found = false;
  for (EventType t : kAllTypes)
    if (type == event_type_name(t)) out->type = t, found = true;
  if (!found)
    return r.err(at + ".type", "unknown event type '" + type +
                                   "' (known: background_load, contention, target_fps, max_latency_ms, ambient_c, "
                                   "unit_offline, power_budget_mw, die_temp_c)");
  std::vector<std::string> allowed = keys_of(out->type);
  for (const auto& [key, value] : e.items()) {
    if (key == "t_s" || key == "type" || key == "duration_s") continue;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return r.err(at, "unknown key '" + key + "' for a " + type + " event");
  }
  for (const auto& key : allowed)
    if (!e.contains(key)) return r.err(at, "missing key '" + key + "' for a " + type + " event");
  if (!e.contains("t_s")) return r.err(at, "missing key 't_s'");
  HETSCHED_RETURN_IF_ERROR(r.number(e["t_s"], at + ".t_s", 0, s.duration_s, &out->t_s));
  if (out->t_s >= s.duration_s) return r.err(at + ".t_s", "starts at or after the end of the scenario (duration_s)");
  if (e.contains("duration_s")) HETSCHED_RETURN_IF_ERROR(r.number(e["duration_s"], at + ".duration_s", 1e-3, 1e7, &out->duration_s));
  if (e.contains("unit")) {
    std::string u;
    HETSCHED_RETURN_IF_ERROR(r.string(e["unit"], at + ".unit", &u));
    if (u.size() != 1 || !std::isupper(static_cast<unsigned char>(u[0])))
      return r.err(at + ".unit", "expected one unit letter such as \"B\", got \"" + u + "\"");
    out->unit = u[0];
  }
  switch (out->type) {
    case EventType::kBackgroundLoad: {
      double cores = 0;
      HETSCHED_RETURN_IF_ERROR(r.number(e["cores"], at + ".cores", 1, 64, &cores));
      if (cores != std::floor(cores)) return r.err(at + ".cores", "expected a whole number of cores, got " + e["cores"].dump());
      out->cores = static_cast<int>(cores);
      HETSCHED_RETURN_IF_ERROR(r.number(e["util"], at + ".util", 0, 1, &out->util));
      break;
    }
    case EventType::kContention:
      HETSCHED_RETURN_IF_ERROR(r.number(e["slowdown"], at + ".slowdown", 1, 100, &out->slowdown));
      break;
    case EventType::kTargetFps: HETSCHED_RETURN_IF_ERROR(r.number(e["value"], at + ".value", 0, 1000, &out->value)); break;
    case EventType::kMaxLatencyMs:
      HETSCHED_RETURN_IF_ERROR(r.number(e["value"], at + ".value", 1e-3, 1e7, &out->value, true));
      break;
    case EventType::kAmbientC: HETSCHED_RETURN_IF_ERROR(r.number(e["value"], at + ".value", -40, 85, &out->value)); break;
    case EventType::kPowerBudgetMw:
      HETSCHED_RETURN_IF_ERROR(r.number(e["value"], at + ".value", 1, 1e6, &out->value, true));
      break;
    case EventType::kDieTempC: HETSCHED_RETURN_IF_ERROR(r.number(e["value"], at + ".value", -40, 150, &out->value)); break;
    case EventType::kUnitOffline: break;
  }
  return Status::Ok();
}

}  // namespace

Result<Scenario> parse_scenario(const std::string& json_text, const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return Error(StatusCode::kInvalidArgument, source + ": not valid JSON: " + e.what());
  }
  const Reader r{source};
  if (!j.is_object()) return r.err("(top level)", "expected an object");
  static const char* kTop[] = {"name", "duration_s", "decision_period_ms", "initial", "events", "platform", "model"};
  for (const auto& [key, value] : j.items())
    if (std::find(std::begin(kTop), std::end(kTop), key) == std::end(kTop))
      return r.err(key, "unknown key (known: name, duration_s, decision_period_ms, initial, events, platform, model)");
  for (const char* key : {"name", "duration_s", "decision_period_ms", "initial", "events"})
    if (!j.contains(key)) return r.err(key, "missing key");
  Scenario s;
  s.source_path = source;
  HETSCHED_RETURN_IF_ERROR(r.string(j["name"], "name", &s.name));
  if (j.contains("platform")) HETSCHED_RETURN_IF_ERROR(r.string(j["platform"], "platform", &s.platform));
  if (j.contains("model")) HETSCHED_RETURN_IF_ERROR(r.string(j["model"], "model", &s.model));
  HETSCHED_RETURN_IF_ERROR(r.number(j["duration_s"], "duration_s", 1e-3, 1e6, &s.duration_s));
  HETSCHED_RETURN_IF_ERROR(r.number(j["decision_period_ms"], "decision_period_ms", 1, 60000, &s.decision_period_ms));
  if (s.decision_period_ms != std::floor(s.decision_period_ms))
    return r.err("decision_period_ms", "expected a whole number of milliseconds");
  if (s.decision_period_ms > s.duration_s * 1000) return r.err("decision_period_ms", "longer than duration_s");
  // Bounded work: a run is at most 10^7 decision periods (~10 s of simulation per 10^7 steps).
  if (s.duration_s * 1000 / s.decision_period_ms > 1e7)
    return r.err("duration_s", "more than 10^7 decision periods; raise decision_period_ms or shorten the run");

  const json& init = j["initial"];
  if (!init.is_object()) return r.err("initial", "expected an object");
  for (const auto& [key, value] : init.items()) {
    if (key == "ambient_c") HETSCHED_RETURN_IF_ERROR(r.number(value, "initial.ambient_c", -40, 85, &s.initial.ambient_c));
    else if (key == "target_fps") HETSCHED_RETURN_IF_ERROR(r.number(value, "initial.target_fps", 0, 1000, &s.initial.target_fps));
    else if (key == "max_latency_ms")
      HETSCHED_RETURN_IF_ERROR(r.number(value, "initial.max_latency_ms", 1e-3, 1e7, &s.initial.max_latency_ms, true));
    else if (key == "power_budget_mw")
      HETSCHED_RETURN_IF_ERROR(r.number(value, "initial.power_budget_mw", 1, 1e6, &s.initial.power_budget_mw, true));
    else
      return r.err("initial." + key, "unknown key (known: ambient_c, target_fps, max_latency_ms, power_budget_mw)");
  }

  const json& ev = j["events"];
  if (!ev.is_array()) return r.err("events", "expected an array");
  if (ev.size() > 10000) return r.err("events", "more than 10000 events");
  for (size_t i = 0; i < ev.size(); ++i) {
    ScenarioEvent e;
    HETSCHED_RETURN_IF_ERROR(parse_event(r, ev[i], static_cast<int>(i), s, &e));
    s.events.push_back(e);
  }
  std::stable_sort(s.events.begin(), s.events.end(),
                   [](const ScenarioEvent& a, const ScenarioEvent& b) { return a.t_s < b.t_s; });
  return s;
}

std::vector<std::string> scenario_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

Result<Scenario> load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(StatusCode::kNotFound, "scenario file '" + path + "' cannot be opened");
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) return Error(StatusCode::kIoError, "scenario file '" + path + "': read error");
  return parse_scenario(os.str(), path);
}

Status validate_scenario(const Scenario& s, const policies::PlatformDesc& platform) {
  for (size_t i = 0; i < s.events.size(); ++i) {
    const ScenarioEvent& e = s.events[i];
    if (e.unit == 0) continue;
    // Events are sorted by time; report the position in the sorted list with its time so the
    // user can find it even when the file lists events out of order.
    const std::string at = s.source_path + ": event at t_s=" + std::to_string(e.t_s) + " (" + event_type_name(e.type) + ")";
    const int u = platform.unit_index(e.unit);
    if (u < 0) {
      std::string letters;
      for (const auto& d : platform.units) letters += std::string(letters.empty() ? "" : " ") + d.letter;
      return Error(StatusCode::kInvalidArgument, at + ": unknown unit '" + std::string(1, e.unit) + "' for platform " +
                                                     platform.name + " (units: " + letters + ")");
    }
    if (e.type == EventType::kBackgroundLoad && e.cores > platform.units[u].cores)
      return Error(StatusCode::kInvalidArgument, at + ": cores " + std::to_string(e.cores) + " > the " +
                                                     std::to_string(platform.units[u].cores) + " cores of unit " +
                                                     std::string(1, e.unit));
  }
  return Status::Ok();
}

Conditions conditions_at(const Scenario& s, const policies::PlatformDesc& platform, double t_s) noexcept {
  Conditions c;
  c.target_fps = s.initial.target_fps;
  c.max_latency_ms = s.initial.max_latency_ms;
  c.power_budget_mw = s.initial.power_budget_mw;
  c.ambient_c = s.initial.ambient_c;
  std::array<double, policies::kMaxUnits> contention;
  contention.fill(1.0);
  for (const ScenarioEvent& e : s.events) {
    if (e.t_s > t_s) break;  // sorted by start time
    if (t_s >= e.end_s()) continue;
    const int u = e.unit ? platform.unit_index(e.unit) : -1;
    switch (e.type) {
      // Time sharing: `cores` of the unit's cores are busy `util` of the time, so our threads get
      // that fraction less of the unit: slowdown = 1 + util·cores_taken/cores (see docs/simulator.md).
      case EventType::kBackgroundLoad:
        if (u >= 0) c.unit[u].bg_util += e.util * e.cores / std::max(1, platform.units[u].cores);
        break;
      case EventType::kContention:
        if (u >= 0) contention[u] *= e.slowdown;
        break;
      case EventType::kUnitOffline:
        if (u >= 0) c.unit[u].online = false;
        break;
      // Later starts overwrite earlier ones: the latest-starting active event wins.
      case EventType::kTargetFps: c.target_fps = e.value; break;
      case EventType::kMaxLatencyMs: c.max_latency_ms = e.value; break;
      case EventType::kAmbientC: c.ambient_c = e.value; break;
      case EventType::kPowerBudgetMw: c.power_budget_mw = e.value; break;
      case EventType::kDieTempC: break;  // the simulator's thermal state (pinned_die_c)
    }
  }
  for (int u = 0; u < policies::kMaxUnits; ++u) {
    c.unit[u].bg_util = std::min(1.0, c.unit[u].bg_util);
    c.unit[u].slowdown = (1.0 + c.unit[u].bg_util) * contention[u];
  }
  c.die_temp_c = c.ambient_c;
  return c;
}

bool pinned_die_c(const Scenario& s, double t_s, double* die_c) noexcept {
  bool pinned = false;
  for (const ScenarioEvent& e : s.events) {
    if (e.t_s > t_s) break;  // sorted by start time: later starts overwrite earlier ones
    if (e.type != EventType::kDieTempC || t_s >= e.end_s()) continue;
    *die_c = e.value;
    pinned = true;
  }
  return pinned;
}

std::vector<double> change_points(const Scenario& s) {
  std::vector<double> t;
  for (const ScenarioEvent& e : s.events) {
    if (e.t_s > 0) t.push_back(e.t_s);
    if (e.duration_s >= 0 && e.end_s() < s.duration_s) t.push_back(e.end_s());
  }
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

}  // namespace hetsched::env
