#include "env/thermal.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace hetsched::env {

using nlohmann::json;

namespace {

Status bad(const std::string& where, const std::string& field, const std::string& what) {
  return Error(StatusCode::kInvalidArgument, where + ": thermal." + field + ": " + what);
}

Status read_positive(const json& t, const std::string& where, const char* key, double lo, double hi, double* out) {
  if (!t.contains(key)) return bad(where, key, "missing key");
  if (!t[key].is_number()) return bad(where, key, "expected a number, got " + t[key].dump());
  const double v = t[key].get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    std::ostringstream os;
    os << v << " outside [" << lo << ", " << hi << "]";
    return bad(where, key, os.str());
  }
  *out = v;
  return Status::Ok();
}

Status parse_thermal_object(const json& t, const policies::PlatformDesc& platform, const std::string& where,
                            ThermalParams* p) {
  if (!t.is_object()) return bad(where, "(object)", "expected an object");
  if (t.empty()) return bad(where, "(object)", "empty: the platform has no thermal parameters yet");
  static const char* kKeys[] = {"source", "die_to_board_c_per_w", "board_to_ambient_c_per_w",
                                "die_heat_capacity_j_per_c", "board_heat_capacity_j_per_c", "soc_heat_fraction",
                                "zones", "notes"};
  for (const auto& [key, value] : t.items())
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) return bad(where, key, "unknown key");
  if (!t.contains("source") || !t["source"].is_string()) return bad(where, "source", "missing or not a string");
  p->source = t["source"].get<std::string>();
  HETSCHED_RETURN_IF_ERROR(read_positive(t, where, "die_to_board_c_per_w", 0.01, 200, &p->die_to_board_c_per_w));
  HETSCHED_RETURN_IF_ERROR(read_positive(t, where, "board_to_ambient_c_per_w", 0.01, 500, &p->board_to_ambient_c_per_w));
  HETSCHED_RETURN_IF_ERROR(read_positive(t, where, "die_heat_capacity_j_per_c", 1e-3, 1e4, &p->die_heat_capacity_j_per_c));
  HETSCHED_RETURN_IF_ERROR(read_positive(t, where, "board_heat_capacity_j_per_c", 1e-3, 1e5, &p->board_heat_capacity_j_per_c));
  HETSCHED_RETURN_IF_ERROR(read_positive(t, where, "soc_heat_fraction", 0.01, 1, &p->soc_heat_fraction));
  p->zones.assign(platform.zones.size(), ZoneThermalParams{});
  if (!t.contains("zones")) return Status::Ok();
  const json& zs = t["zones"];
  if (!zs.is_object()) return bad(where, "zones", "expected an object keyed by zone name");
  for (const auto& [name, z] : zs.items()) {
    const std::string field = "zones." + name;
    int zi = -1;
    for (size_t i = 0; i < platform.zones.size(); ++i)
      if (platform.zones[i].name == name) zi = static_cast<int>(i);
    if (zi < 0) return bad(where, field, "no such zone in the platform's \"zones\"");
    if (!z.is_object()) return bad(where, field, "expected an object");
    ZoneThermalParams& zp = p->zones[zi];
    for (const auto& [key, v] : z.items()) {
      if (key == "polling_passive_ms" || key == "polling_idle_ms") {
        if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > 60000)
          return bad(where, field + "." + key, "expected an integer in [0, 60000], got " + v.dump());
        (key == "polling_passive_ms" ? zp.polling_passive_ms : zp.polling_idle_ms) = v.get<int>();
      } else if (key == "trip_units") {
        const auto& trips = platform.zones[zi].trips;
        if (!v.is_array() || v.size() != trips.size())
          return bad(where, field + ".trip_units",
                     "expected an array of " + std::to_string(trips.size()) + " strings (one per trip)");
        for (size_t k = 0; k < v.size(); ++k) {
          if (!v[k].is_string()) return bad(where, field + ".trip_units[" + std::to_string(k) + "]", "expected a string");
          const std::string letters = v[k].get<std::string>();
          for (char c : letters)
            if (platform.unit_index(c) < 0)
              return bad(where, field + ".trip_units[" + std::to_string(k) + "]",
                         "unknown unit '" + std::string(1, c) + "'");
          zp.trip_units.push_back(letters);
        }
      } else {
        return bad(where, field + "." + key, "unknown key (known: polling_passive_ms, polling_idle_ms, trip_units)");
      }
    }
    if (zp.polling_passive_ms == 0) return bad(where, field + ".polling_passive_ms", "must be > 0");
  }
  return Status::Ok();
}

}  // namespace

Result<ThermalParams> parse_thermal_params(const std::string& json_text, const policies::PlatformDesc& platform,
                                           const std::string& where) {
  json t;
  try {
    t = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return Error(StatusCode::kInvalidArgument, where + ": thermal: not valid JSON: " + e.what());
  }
  ThermalParams p;
  HETSCHED_RETURN_IF_ERROR(parse_thermal_object(t, platform, where, &p));
  return p;
}

Result<ThermalParams> load_thermal_params(const policies::PlatformDesc& platform) {
  std::ifstream in(platform.source_path, std::ios::binary);
  if (!in) return Error(StatusCode::kNotFound, "platform file '" + platform.source_path + "' cannot be opened");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    return Error(StatusCode::kCorrupt, platform.source_path + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("thermal"))
    return Error(StatusCode::kNotFound, platform.source_path + ": no top-level \"thermal\" key");
  ThermalParams p;
  HETSCHED_RETURN_IF_ERROR(parse_thermal_object(j["thermal"], platform, platform.source_path, &p));
  return p;
}

// ---------------------------------------------------------------------------------------------
Result<ThermalNetwork> ThermalNetwork::create(const ThermalParams& p, const Options& o) {
  if (!(o.tick_s > 0 && o.tick_s <= 10)) return Error(StatusCode::kInvalidArgument, "ThermalNetwork: tick_s outside (0, 10] s");
  for (double v : {p.die_to_board_c_per_w, p.board_to_ambient_c_per_w, p.die_heat_capacity_j_per_c,
                   p.board_heat_capacity_j_per_c, p.soc_heat_fraction})
    if (!(v > 0) || !std::isfinite(v))
      return Error(StatusCode::kInvalidArgument, "ThermalNetwork: every R, C and soc_heat_fraction must be > 0");
  ThermalNetwork n;
  n.p_ = p;
  const double rd = p.die_to_board_c_per_w, rb = p.board_to_ambient_c_per_w;
  const double cd = p.die_heat_capacity_j_per_c, cb = p.board_heat_capacity_j_per_c;
  // dx/dt = A x + B P (x relative to ambient, P in W).
  const double a = -1 / (cd * rd), b = 1 / (cd * rd), c = 1 / (cb * rd), d = -(1 / rd + 1 / rb) / cb;
  // Eigenvalues of [[a b][c d]]: real and negative for any RC ladder (the matrix is similar to a
  // symmetric one), so exp(A t) = (e^{λ1 t}(A - λ2 I) - e^{λ2 t}(A - λ1 I)) / (λ1 - λ2).
  const double tr = a + d, det = a * d - b * c;
  const double disc = std::sqrt(std::max(0.0, tr * tr / 4 - det));
  const double l1 = tr / 2 + disc, l2 = tr / 2 - disc;
  const double e1 = std::exp(l1 * o.tick_s), e2 = std::exp(l2 * o.tick_s);
  const double k = 1 / (l1 - l2);  // disc > 0 because b·c > 0
  n.phi_[0][0] = k * (e1 * (a - l2) - e2 * (a - l1));
  n.phi_[0][1] = k * (e1 - e2) * b;
  n.phi_[1][0] = k * (e1 - e2) * c;
  n.phi_[1][1] = k * (e1 * (d - l2) - e2 * (d - l1));
  // Γ = A⁻¹ (Φ - I) B with B = (1/C_d, 0).
  const double m00 = n.phi_[0][0] - 1, m10 = n.phi_[1][0];
  const double bu = 1 / cd;
  const double inv00 = d / det, inv01 = -b / det, inv10 = -c / det, inv11 = a / det;
  n.gamma_[0] = (inv00 * m00 + inv01 * m10) * bu;
  n.gamma_[1] = (inv10 * m00 + inv11 * m10) * bu;
  return n;
}

void ThermalNetwork::tick(double power_mw, double ambient_c) noexcept {
  const double u = p_.soc_heat_fraction * power_mw * 1e-3;
  const double xd = die_c_ - ambient_c, xb = board_c_ - ambient_c;
  die_c_ = ambient_c + phi_[0][0] * xd + phi_[0][1] * xb + gamma_[0] * u;
  board_c_ = ambient_c + phi_[1][0] * xd + phi_[1][1] * xb + gamma_[1] * u;
}

double ThermalNetwork::steady_board_c(double power_mw, double ambient_c) const noexcept {
  return ambient_c + p_.soc_heat_fraction * power_mw * 1e-3 * p_.board_to_ambient_c_per_w;
}
double ThermalNetwork::steady_die_c(double power_mw, double ambient_c) const noexcept {
  return steady_board_c(power_mw, ambient_c) + p_.soc_heat_fraction * power_mw * 1e-3 * p_.die_to_board_c_per_w;
}

// ---------------------------------------------------------------------------------------------
Result<StepWiseGovernor> StepWiseGovernor::create(const policies::PlatformDesc& platform, const ThermalParams& params,
                                                  const Options& o) {
  if (o.tick_ms <= 0) return Error(StatusCode::kInvalidArgument, "StepWiseGovernor: tick_ms must be > 0");
  if (platform.num_units() > policies::kMaxUnits)
    return Error(StatusCode::kInvalidArgument, "platform " + platform.name + ": more than kMaxUnits units");
  if (platform.zones.size() > static_cast<size_t>(kMaxZones))
    return Error(StatusCode::kInvalidArgument, "platform " + platform.name + ": more than 8 thermal zones");
  StepWiseGovernor g;
  g.tick_ms_ = o.tick_ms;
  g.num_units_ = platform.num_units();
  g.num_zones_ = static_cast<int>(platform.zones.size());
  for (int u = 0; u < g.num_units_; ++u) g.max_state_[u] = std::max(0, platform.units[u].max_opp());
  for (int zi = 0; zi < g.num_zones_; ++zi) {
    const auto& zd = platform.zones[zi];
    Zone& z = g.zones_[zi];
    if (zd.trips.size() > static_cast<size_t>(kMaxTrips))
      return Error(StatusCode::kInvalidArgument, "platform " + platform.name + ": zone " + zd.name + " has > 4 trips");
    const ZoneThermalParams zp = zi < static_cast<int>(params.zones.size()) ? params.zones[zi] : ZoneThermalParams{};
    z.polling_passive_ms = zp.polling_passive_ms;
    z.polling_idle_ms = zp.polling_idle_ms;
    z.num_trips = static_cast<int>(zd.trips.size());
    for (int k = 0; k < z.num_trips; ++k) {
      Trip& t = z.trips[k];
      t.temp_mc = zd.trips[k].temp_mc;
      t.hyst_mc = zd.trips[k].hysteresis_mc;
      // Only passive trips reach the governor: critical/hot are handled by the core (shutdown,
      // notification) and active trips drive fans, which the simulated boards do not have.
      t.passive = zd.trips[k].type == "passive";
      const std::string& letters = zp.trip_units.empty() ? zd.cooled_units : zp.trip_units[k];
      for (char c : letters) {
        const int u = platform.unit_index(c);
        if (u < 0)
          return Error(StatusCode::kInvalidArgument, "platform " + platform.name + ": zone " + zd.name +
                                                         " cools unknown unit '" + std::string(1, c) + "'");
        t.unit_mask |= static_cast<std::uint8_t>(1u << u);
      }
    }
  }
  g.reset();
  return g;
}

void StepWiseGovernor::reset() noexcept {
  for (int u = 0; u < policies::kMaxUnits; ++u) cap_[u] = u < num_units_ ? max_state_[u] : 0;
  for (int zi = 0; zi < num_zones_; ++zi) {
    Zone& z = zones_[zi];
    z.next_ms = 0;
    z.has_last = false;
    z.last_mc = 0;
    for (int k = 0; k < z.num_trips; ++k) {
      z.trips[k].crossed = false;
      z.trips[k].target.fill(-1);
      z.trips[k].active.fill(false);
    }
  }
}

bool StepWiseGovernor::any_capped() const noexcept {
  for (int u = 0; u < num_units_; ++u)
    if (cap_[u] < max_state_[u]) return true;
  return false;
}

bool StepWiseGovernor::evaluate(std::int64_t t_ms, const double* zone_temp_c) noexcept {
  bool evaluated = false;
  for (int zi = 0; zi < num_zones_; ++zi) {
    Zone& z = zones_[zi];
    if (t_ms < z.next_ms) continue;
    evaluated = true;
    const double mc = zone_temp_c[zi] * 1000.0;
    // Trend as get_tz_trend() without a driver callback: compare with the previous sample.
    const int trend = !z.has_last ? 0 : (mc > z.last_mc ? 1 : (mc < z.last_mc ? -1 : 0));
    const bool first = !z.has_last;
    bool passive_active = false;
    for (int k = 0; k < z.num_trips; ++k) {
      Trip& t = z.trips[k];
      if (!t.passive) continue;
      // Hysteresis as in Linux >= 6.8: the threshold drops to temp - hyst once crossed upward.
      if (!t.crossed && mc >= t.temp_mc) t.crossed = true;
      else if (t.crossed && mc < t.temp_mc - t.hyst_mc) t.crossed = false;
      const bool throttle = t.crossed;
      for (int u = 0; u < num_units_; ++u) {
        if (!(t.unit_mask & (1u << u)) || max_state_[u] == 0) continue;
        const int cur = max_state_[u] - cap_[u];  // the cooling device's current state
        int target = t.target[u];
        if (first) {
          // An uninitialised instance jumps one state when above the trip, whatever the trend.
          if (throttle) target = std::min(cur + 1, max_state_[u]);
        } else if (throttle) {
          if (trend > 0) target = std::min(cur + 1, max_state_[u]);
        } else if (trend < 0 && target >= 0) {
          target = cur <= 0 ? -1 : cur - 1;  // at the lower limit the instance lets go
        }
        t.target[u] = target;
        t.active[u] = target >= 0;
        passive_active |= t.active[u];
      }
    }
    z.last_mc = mc;
    z.has_last = true;
    // tz->passive > 0 (some passive instance holds a target) selects the passive polling delay.
    const int delay = passive_active ? z.polling_passive_ms : z.polling_idle_ms;
    z.next_ms = t_ms + std::max(delay, 1);
  }
  if (!evaluated) return false;
  // Each cooling device takes the deepest state any instance asks for (thermal_cdev_update).
  bool changed = false;
  for (int u = 0; u < num_units_; ++u) {
    int state = 0;
    for (int zi = 0; zi < num_zones_; ++zi)
      for (int k = 0; k < zones_[zi].num_trips; ++k) state = std::max(state, zones_[zi].trips[k].target[u]);
    const int cap = max_state_[u] - state;
    changed |= cap != cap_[u];
    cap_[u] = cap;
  }
  return changed;
}

}  // namespace hetsched::env
