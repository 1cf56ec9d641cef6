// Platform file loader (format: docs/platforms.md). Everything is validated here once, so
// the hot paths of env/ and runtime/ can index OPP tables and unit letters without checks.
//
// Strictness: unknown keys inside units/opps/zones/trips are errors (a typo such as
// "freq_mhz" must not silently yield a zero frequency). Top-level keys other than the ones
// parsed here are allowed only from a fixed list ("sim" is env's, "thermal" is the thermal
// dynamics' section, "sources"/"description" are documentation).
#include "policies/platform.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "policies/host_mapping.hpp"
#include "policies/json_check.hpp"

namespace hetsched::policies {

const char* unit_kind_name(UnitKind k) noexcept {
  switch (k) {
    case UnitKind::kCpu: return "cpu";
    case UnitKind::kGpu: return "gpu";
    case UnitKind::kNpu: return "npu";
  }
  return "?";
}

int PlatformDesc::unit_index(char letter) const noexcept {
  for (int i = 0; i < num_units(); ++i)
    if (units[static_cast<size_t>(i)].letter == letter) return i;
  return -1;
}

namespace {

using nlohmann::json;

using detail::check_keys;
using detail::Ctx;

Status get_string(const Ctx& c, const json& obj, const std::string& field, const char* key,
                  bool required, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return c.err(field + "." + key, "missing (string required)");
    return Status::Ok();
  }
  if (!it->is_string()) return c.err(field + "." + key, "must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status get_int(const Ctx& c, const json& obj, const std::string& field, const char* key,
               std::int64_t lo, std::int64_t hi, const char* unit, std::int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return c.err(field + "." + key, std::string("missing (integer, ") + unit + ")");
  if (!it->is_number_integer()) return c.err(field + "." + key, std::string("must be an integer (") + unit + ")");
  const std::int64_t v = it->get<std::int64_t>();
  if (v < lo || v > hi) {
    return c.err(field + "." + key, std::to_string(v) + " " + unit + " out of range [" + std::to_string(lo) +
                                        ", " + std::to_string(hi) + "]");
  }
  *out = v;
  return Status::Ok();
}

Status parse_unit(const Ctx& c, const json& u, const std::string& f, UnitDesc* out) {
  HETSCHED_RETURN_IF_ERROR(check_keys(c, u, f, {"letter", "name", "kind", "cores", "cpu_ids", "opps", "hosts",
                                                "freq_sysfs", "thermal_zone", "note"}));
  std::string letter;
  HETSCHED_RETURN_IF_ERROR(get_string(c, u, f, "letter", true, &letter));
  if (letter.size() != 1 || letter[0] < 'A' || letter[0] > 'Z')
    return c.err(f + ".letter", "'" + letter + "' must be one upper-case letter (L, B, G, N ...)");
  out->letter = letter[0];
  HETSCHED_RETURN_IF_ERROR(get_string(c, u, f, "name", true, &out->name));
  std::string kind;
  HETSCHED_RETURN_IF_ERROR(get_string(c, u, f, "kind", true, &kind));
  if (kind == "cpu") out->kind = UnitKind::kCpu;
  else if (kind == "gpu") out->kind = UnitKind::kGpu;
  else if (kind == "npu") out->kind = UnitKind::kNpu;
  else return c.err(f + ".kind", "'" + kind + "' is not one of cpu, gpu, npu");
  std::int64_t cores = 0;
  HETSCHED_RETURN_IF_ERROR(get_int(c, u, f, "cores", 1, 64, "cores", &cores));
  out->cores = static_cast<int>(cores);

  if (auto it = u.find("cpu_ids"); it != u.end()) {
    if (!it->is_array()) return c.err(f + ".cpu_ids", "must be an array of CPU numbers");
    std::set<int> seen;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      const std::string fi = f + ".cpu_ids[" + std::to_string(i) + "]";
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 1023)
        return c.err(fi, "must be a CPU number in [0, 1023]");
      if (!seen.insert(v.get<int>()).second) return c.err(fi, "duplicate CPU " + std::to_string(v.get<int>()));
      out->cpu_ids.push_back(v.get<int>());
    }
  }
  if (out->kind == UnitKind::kCpu && static_cast<int>(out->cpu_ids.size()) != out->cores)
    return c.err(f + ".cpu_ids", "a cpu unit needs one id per core (" + std::to_string(out->cores) + " cores, " +
                                     std::to_string(out->cpu_ids.size()) + " ids)");
  if (out->kind != UnitKind::kCpu && !out->cpu_ids.empty())
    return c.err(f + ".cpu_ids", "only cpu units have cpu_ids");

  if (auto it = u.find("opps"); it != u.end()) {
    if (!it->is_array()) return c.err(f + ".opps", "must be an array of {freq_khz, voltage_uv}");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& o = (*it)[i];
      const std::string fi = f + ".opps[" + std::to_string(i) + "]";
      HETSCHED_RETURN_IF_ERROR(check_keys(c, o, fi, {"freq_khz", "voltage_uv"}));
      std::int64_t khz = 0, uv = 0;
      // 10 MHz .. 10 GHz; 0.3 .. 1.6 V: anything outside is a unit mix-up (Hz, mV).
      HETSCHED_RETURN_IF_ERROR(get_int(c, o, fi, "freq_khz", 10'000, 10'000'000, "kHz", &khz));
      HETSCHED_RETURN_IF_ERROR(get_int(c, o, fi, "voltage_uv", 300'000, 1'600'000, "uV", &uv));
      if (!out->opps.empty() && khz <= out->opps.back().freq_khz)
        return c.err(fi + ".freq_khz", std::to_string(khz) + " kHz not above the previous OPP (ascending order required)");
      out->opps.push_back({khz, static_cast<std::int32_t>(uv)});
    }
    if (out->opps.size() > 127) return c.err(f + ".opps", "more than 127 OPPs (indices are int8)");
  }
  if (out->kind != UnitKind::kNpu && out->opps.empty())
    return c.err(f + ".opps", "cpu and gpu units need at least one OPP");
  HETSCHED_RETURN_IF_ERROR(get_string(c, u, f, "hosts", false, &out->hosts));
  HETSCHED_RETURN_IF_ERROR(get_string(c, u, f, "freq_sysfs", false, &out->freq_sysfs));
  HETSCHED_RETURN_IF_ERROR(get_string(c, u, f, "thermal_zone", false, &out->thermal_zone));
  return Status::Ok();
}

Status parse_zone(const Ctx& c, const json& z, const std::string& f, ThermalZoneDesc* out) {
  HETSCHED_RETURN_IF_ERROR(check_keys(c, z, f, {"name", "trips", "cooled_units", "note"}));
  HETSCHED_RETURN_IF_ERROR(get_string(c, z, f, "name", true, &out->name));
  if (out->name.empty()) return c.err(f + ".name", "must not be empty");
  HETSCHED_RETURN_IF_ERROR(get_string(c, z, f, "cooled_units", false, &out->cooled_units));
  auto it = z.find("trips");
  if (it == z.end() || !it->is_array()) return c.err(f + ".trips", "missing (array of trips required)");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string fi = f + ".trips[" + std::to_string(i) + "]";
    HETSCHED_RETURN_IF_ERROR(check_keys(c, t, fi, {"temp_mc", "hysteresis_mc", "type"}));
    std::int64_t temp = 0, hyst = 0;
    // Trips are millidegrees: 20..150 degC. A value like 85 means someone wrote degrees.
    HETSCHED_RETURN_IF_ERROR(get_int(c, t, fi, "temp_mc", 20'000, 150'000, "m°C", &temp));
    HETSCHED_RETURN_IF_ERROR(get_int(c, t, fi, "hysteresis_mc", 0, 20'000, "m°C", &hyst));
    TripDesc td{static_cast<int>(temp), static_cast<int>(hyst), {}};
    HETSCHED_RETURN_IF_ERROR(get_string(c, t, fi, "type", true, &td.type));
    if (td.type != "passive" && td.type != "critical" && td.type != "hot" && td.type != "active")
      return c.err(fi + ".type", "'" + td.type + "' is not one of passive, hot, critical, active");
    if (!out->trips.empty() && td.temp_mc < out->trips.back().temp_mc)
      return c.err(fi + ".temp_mc", "trips must be in ascending temperature order");
    out->trips.push_back(td);
  }
  return Status::Ok();
}

// Cross-field rules: unique letters, CPUs first, hosts are CPU letters, zones exist.
Status check_platform(const Ctx& c, const PlatformDesc& p) {
  std::set<char> letters;
  bool seen_accel = false;
  std::set<int> all_cpus;
  for (int i = 0; i < p.num_units(); ++i) {
    const UnitDesc& u = p.units[static_cast<size_t>(i)];
    const std::string f = "units[" + std::to_string(i) + "]";
    if (!letters.insert(u.letter).second) return c.err(f + ".letter", std::string("duplicate letter '") + u.letter + "'");
    if (u.kind == UnitKind::kCpu) {
      if (seen_accel) return c.err(f + ".kind", "cpu units must come before gpu/npu units");
      for (int id : u.cpu_ids)
        if (!all_cpus.insert(id).second) return c.err(f + ".cpu_ids", "CPU " + std::to_string(id) + " is in two units");
    } else {
      seen_accel = true;
    }
  }
  for (int i = 0; i < p.num_units(); ++i) {
    const UnitDesc& u = p.units[static_cast<size_t>(i)];
    const std::string f = "units[" + std::to_string(i) + "]";
    if (u.kind == UnitKind::kCpu && !u.hosts.empty()) return c.err(f + ".hosts", "cpu units host nothing; leave empty");
    if (u.kind != UnitKind::kCpu && u.hosts.empty())
      return c.err(f + ".hosts", "gpu/npu units need at least one host cpu unit letter");
    for (char h : u.hosts) {
      const int hi = p.unit_index(h);
      if (hi < 0 || p.units[static_cast<size_t>(hi)].kind != UnitKind::kCpu)
        return c.err(f + ".hosts", std::string("'") + h + "' is not the letter of a cpu unit");
    }
    if (!u.thermal_zone.empty()) {
      const bool found = std::any_of(p.zones.begin(), p.zones.end(),
                                     [&](const ThermalZoneDesc& z) { return z.name == u.thermal_zone; });
      if (!found) return c.err(f + ".thermal_zone", "'" + u.thermal_zone + "' is not in zones[]");
    }
  }
  for (size_t i = 0; i < p.zones.size(); ++i) {
    for (char l : p.zones[i].cooled_units)
      if (p.unit_index(l) < 0)
        return c.err("zones[" + std::to_string(i) + "].cooled_units", std::string("unknown unit letter '") + l + "'");
  }
  return Status::Ok();
}

// Host profiles (docs/platforms.md, "Host profiles"): the units must be what the runtime
// discovers (cpu units named cpu<first core>, letters by host_unit_letter in unit order) so
// that a Config maps onto a runtime split; every block has a measured median on every unit.
// The cost section (models/power/transfer_fit) is env::CostModel's and is checked there.
Status check_host_profile(const Ctx& c, const json& j, PlatformDesc* p) {
  if (auto it = j.find("analytic"); it != j.end() && !(it->is_boolean() && !it->get<bool>()))
    return c.err("analytic", "a host profile is measured: must be false");
  for (int i = 0; i < p->num_units(); ++i) {
    const UnitDesc& u = p->units[static_cast<size_t>(i)];
    const std::string f = "units[" + std::to_string(i) + "]";
    if (u.kind != UnitKind::kCpu) return c.err(f + ".kind", "host profiles hold cpu units only");
    if (u.letter != host_unit_letter(i))
      return c.err(f + ".letter", std::string("'") + u.letter + "': host unit " + std::to_string(i) + " must be '" +
                                      host_unit_letter(i) + "' (letters in unit order, policies/host_mapping.hpp)");
    if (u.name != host_unit_name(u.cpu_ids.front()))
      return c.err(f + ".name", "'" + u.name + "' must be " + host_unit_name(u.cpu_ids.front()) + " (cpu<first core>)");
  }
  std::string model;
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, "", "model", true, &model));
  auto blocks = j.find("blocks");
  if (blocks == j.end() || !blocks->is_array() || blocks->empty())
    return c.err("blocks", "missing (non-empty array of measured blocks required)");
  for (size_t b = 0; b < blocks->size(); ++b) {
    const json& jb = (*blocks)[b];
    const std::string f = "blocks[" + std::to_string(b) + "]";
    HETSCHED_RETURN_IF_ERROR(check_keys(c, jb, f, {"index", "name", "latency_us"}));
    if (!jb.contains("index") || !jb["index"].is_number_integer() || jb["index"].get<std::int64_t>() != static_cast<std::int64_t>(b))
      return c.err(f + ".index", "must be " + std::to_string(b) + " (blocks in model order)");
    auto lat = jb.find("latency_us");
    if (lat == jb.end() || !lat->is_object()) return c.err(f + ".latency_us", "missing (object keyed by unit name)");
    for (auto it = lat->begin(); it != lat->end(); ++it) {
      const bool known = std::any_of(p->units.begin(), p->units.end(), [&](const UnitDesc& u) { return u.name == it.key(); });
      if (!known) return c.err(f + ".latency_us." + it.key(), "unknown unit (not in units[])");
    }
    for (const UnitDesc& u : p->units) {
      const std::string fu = f + ".latency_us." + u.name;
      auto m = lat->find(u.name);
      if (m == lat->end() || !m->is_object()) return c.err(fu, "missing (every block is measured on every unit)");
      auto med = m->find("median");
      if (med == m->end() || !med->is_number() || !std::isfinite(med->get<double>()) || med->get<double>() <= 0 ||
          med->get<double>() > 1e9)
        return c.err(fu + ".median", "must be a latency in (0, 1e9] us");
    }
  }
  auto power = j.find("power");
  if (power == j.end() || !power->is_object()) return c.err("power", "missing (object; {\"model\": \"none\", ...} without a power model)");
  p->power_model = !(power->contains("model") && (*power)["model"] == "none");
  // Zones (the host's thermal sensors and trip points, `hetsched profile`) are allowed; the
  // profile still has no thermal model (its "thermal" section is an inert placeholder).
  p->profiled = true;
  p->costs_path = p->source_path;
  return Status::Ok();
}

}  // namespace

Result<PlatformDesc> load_platform(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(StatusCode::kNotFound, path + ": cannot open platform file");
  Ctx c{path};
  json j;
  try {
    j = json::parse(in, nullptr, true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    return Error(StatusCode::kCorrupt, path + ": invalid JSON: " + e.what());
  }
  const bool profile = j.is_object() && j.contains("format");
  if (profile && j["format"] != kHostProfileFormat)
    return c.err("format", j["format"].dump() + " is not a known format (expected \"" + std::string(kHostProfileFormat) + "\")");
  if (profile) {
    // The profile's own sections plus env::CostModel's cost keys (docs/platforms.md, "Host profiles").
    HETSCHED_RETURN_IF_ERROR(check_keys(c, j, "(top level)",
                                        {"format", "generated_by", "name", "soc", "description", "analytic", "units",
                                         "zones", "thermal", "model", "model_file", "warmup", "repetitions", "weights",
                                         "freq_source", "blocks", "total_median_us", "handover", "power", "models",
                                         "transfer_fit"}));
  } else {
    HETSCHED_RETURN_IF_ERROR(check_keys(c, j, "(top level)",
                                        {"name", "soc", "description", "board_power_sensor", "units", "zones", "sim",
                                         "sources", "thermal"}));
  }
  PlatformDesc p;
  p.source_path = path;
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, "", "name", true, &p.name));
  if (p.name.empty()) return c.err("name", "must not be empty");
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, "", "soc", true, &p.soc));
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, "", "board_power_sensor", false, &p.board_power_sensor));
  auto units = j.find("units");
  if (units == j.end() || !units->is_array() || units->empty())
    return c.err("units", "missing (non-empty array required)");
  if (units->size() > static_cast<size_t>(kMaxUnits))
    return c.err("units", std::to_string(units->size()) + " units, at most " + std::to_string(kMaxUnits));
  for (size_t i = 0; i < units->size(); ++i) {
    UnitDesc u;
    HETSCHED_RETURN_IF_ERROR(parse_unit(c, (*units)[i], "units[" + std::to_string(i) + "]", &u));
    p.units.push_back(std::move(u));
  }
  if (auto z = j.find("zones"); z != j.end()) {
    if (!z->is_array()) return c.err("zones", "must be an array");
    for (size_t i = 0; i < z->size(); ++i) {
      ThermalZoneDesc zd;
      HETSCHED_RETURN_IF_ERROR(parse_zone(c, (*z)[i], "zones[" + std::to_string(i) + "]", &zd));
      p.zones.push_back(std::move(zd));
    }
  }
  HETSCHED_RETURN_IF_ERROR(check_platform(c, p));
  if (profile) HETSCHED_RETURN_IF_ERROR(check_host_profile(c, j, &p));
  return p;
}

std::string default_host_profile_path(const std::string& data_dir) {
  const char* env = std::getenv("HETSCHED_HOST_PROFILE");
  if (env != nullptr && env[0] != '\0') return env;
  return data_dir + "/build/host_profile.json";
}

Result<PlatformDesc> load_platform_by_name(const std::string& data_dir, const std::string& name) {
  if (name == "host") {
    const std::string path = default_host_profile_path(data_dir);
    if (!std::filesystem::exists(path))
      return Error(StatusCode::kNotFound, "platform 'host': no host profile at " + path +
                                              " (run `hetsched profile --platform host --model M`, or set HETSCHED_HOST_PROFILE)");
    return load_platform(path);
  }
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) return load_platform(name);
  const std::string path = data_dir + "/env/platforms/" + name + ".json";
  bool valid_name = !name.empty() && name.find('/') == std::string::npos && name.find('.') == std::string::npos;
  if (!valid_name || !std::filesystem::exists(path)) {
    std::string known;
    for (const auto& n : list_platforms(data_dir)) known += (known.empty() ? "" : ", ") + n;
    return Error(StatusCode::kNotFound, "platform '" + name + "' not found in " + data_dir +
                                            "/env/platforms (known: " + known + "; also host or a PATH.json)");
  }
  return load_platform(path);
}

std::vector<std::string> list_platforms(const std::string& data_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data_dir + "/env/platforms", ec)) {
    const std::string fn = e.path().filename().string();
    // <name>.json only; derived files are <name>.costs.json and similar (a second dot).
    if (e.path().extension() == ".json" && fn.find('.') == fn.size() - 5) names.push_back(fn.substr(0, fn.size() - 5));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace hetsched::policies
