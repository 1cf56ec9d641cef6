#include "runtime/linux_discovery.hpp"

#include <sched.h>

#include <algorithm>
#include <cctype>

#include "runtime/sysfs_file.hpp"

namespace hetsched::runtime {

const char* freq_interface_name(FreqInterface f) noexcept {
  switch (f) {
    case FreqInterface::kNone: return "none";
    case FreqInterface::kCpufreq: return "cpufreq";
    case FreqInterface::kDevfreq: return "devfreq";
  }
  return "unknown";
}

std::vector<int> affinity_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

namespace {

std::string join(const std::string& a, const std::string& b) { return a.empty() || a.back() == '/' ? a + b : a + "/" + b; }

// Text of an optional attribute; "" when missing.
std::string text_or_empty(const std::string& path) {
  auto t = read_text(path);
  return t.ok() ? *t : std::string();
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n' && text[j] != '\t') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

// Reads cpu_capacity and cluster id of one core; leaves -1 where the kernel does not say.
void read_core_topology(const std::string& cpu_root, int cpu, LinuxUnit* u) {
  const std::string dir = join(cpu_root, "cpu" + std::to_string(cpu));
  if (auto cap = read_int_file(join(dir, "cpu_capacity")); cap.ok() && *cap >= 0 && *cap <= 4096)
    u->cpu_capacity = static_cast<int>(*cap);
  if (auto l = read_text(join(dir, "topology/core_siblings_list")); l.ok()) {
    if (auto c = parse_cpu_list(*l, join(dir, "topology/core_siblings_list")); c.ok()) u->core_siblings = std::move(*c);
  } else if (auto m = read_text(join(dir, "topology/core_siblings")); m.ok()) {
    if (auto c = parse_cpu_mask(*m, join(dir, "topology/core_siblings")); c.ok()) u->core_siblings = std::move(*c);
  }
  // Why the 65535 bound: kernels without cluster information report cluster_id as -1, shown
  // as 65535 on some versions (this VM); both mean "unknown".
  for (const char* f : {"topology/cluster_id", "topology/physical_package_id"}) {
    if (auto id = read_int_file(join(dir, f)); id.ok() && *id >= 0 && *id < 65535) {
      u->cluster_id = static_cast<int>(*id);
      return;
    }
  }
}

// Fills frequency facts of a cpufreq policy directory (kHz files).
Status read_cpufreq(const std::string& dir, LinuxUnit* u, std::vector<std::string>* notes) {
  u->freq_if = FreqInterface::kCpufreq;
  u->freq_dir = dir;
  if (auto t = read_text(join(dir, "scaling_available_frequencies")); t.ok()) {
    auto list = parse_int_list(*t, join(dir, "scaling_available_frequencies"));
    if (!list.ok()) return list.status();
    u->opps_khz = std::move(*list);
  }
  auto mn = read_int_file(join(dir, "cpuinfo_min_freq"));
  auto mx = read_int_file(join(dir, "cpuinfo_max_freq"));
  if (mn.ok()) u->hw_min_khz = *mn;
  if (mx.ok()) u->hw_max_khz = *mx;
  u->governor = text_or_empty(join(dir, "scaling_governor"));
  u->governors = words(text_or_empty(join(dir, "scaling_available_governors")));
  std::sort(u->opps_khz.begin(), u->opps_khz.end());
  u->opps_khz.erase(std::unique(u->opps_khz.begin(), u->opps_khz.end()), u->opps_khz.end());
  if (u->opps_khz.empty() && (u->hw_max_khz <= 0))
    notes->push_back(dir + ": neither scaling_available_frequencies nor cpuinfo_max_freq; OPPs unknown");
  if (!u->opps_khz.empty()) {
    if (u->hw_min_khz <= 0) u->hw_min_khz = u->opps_khz.front();
    if (u->hw_max_khz <= 0) u->hw_max_khz = u->opps_khz.back();
  }
  return Status::Ok();
}

// Fills frequency facts of a devfreq directory (Hz files, stored as kHz).
Status read_devfreq(const std::string& dir, LinuxUnit* u) {
  u->freq_if = FreqInterface::kDevfreq;
  u->freq_dir = dir;
  if (auto t = read_text(join(dir, "available_frequencies")); t.ok()) {
    auto list = parse_int_list(*t, join(dir, "available_frequencies"));
    if (!list.ok()) return list.status();
    // Hz -> kHz, rounded: every real OPP is a whole number of kHz, so nothing is lost.
    for (std::int64_t hz : *list)
      if (hz > 0) u->opps_khz.push_back((hz + 500) / 1000);
  }
  // Some Mali drivers list frequencies in descending order.
  std::sort(u->opps_khz.begin(), u->opps_khz.end());
  u->opps_khz.erase(std::unique(u->opps_khz.begin(), u->opps_khz.end()), u->opps_khz.end());
  if (!u->opps_khz.empty()) {
    u->hw_min_khz = u->opps_khz.front();
    u->hw_max_khz = u->opps_khz.back();
  }
  u->governor = text_or_empty(join(dir, "governor"));
  u->governors = words(text_or_empty(join(dir, "available_governors")));
  return Status::Ok();
}

Status discover_cpus(const std::string& cpu_root, LinuxTopology* topo) {
  const std::string pol_root = join(cpu_root, "cpufreq");
  for (const std::string& pol : list_dir(pol_root, "policy")) {
    const std::string dir = join(pol_root, pol);
    LinuxUnit u;
    auto rel = read_text(join(dir, "related_cpus"));
    if (!rel.ok()) rel = read_text(join(dir, "affected_cpus"));
    if (!rel.ok()) {
      topo->notes.push_back(dir + ": no related_cpus/affected_cpus; policy skipped");
      continue;
    }
    auto cpus = parse_cpu_list(*rel, join(dir, "related_cpus"));
    if (!cpus.ok()) return cpus.status();
    if (cpus->empty()) {
      topo->notes.push_back(dir + ": related_cpus is empty; policy skipped");
      continue;
    }
    u.cpu_ids = std::move(*cpus);
    u.name = "cpu" + std::to_string(u.cpu_ids.front());
    HETSCHED_RETURN_IF_ERROR(read_cpufreq(dir, &u, &topo->notes));
    read_core_topology(cpu_root, u.cpu_ids.front(), &u);
    topo->units.push_back(std::move(u));
  }
  if (!topo->units.empty()) {
    topo->has_cpufreq = true;
    return Status::Ok();
  }
  // No cpufreq (VMs, containers): one unit per online CPU, frequency unavailable.
  topo->notes.push_back(pol_root + ": no cpufreq policies; one unit per online CPU, frequency unavailable");
  std::vector<int> online;
  if (auto t = read_text(join(cpu_root, "online")); t.ok()) {
    auto list = parse_cpu_list(*t, join(cpu_root, "online"));
    if (!list.ok()) return list.status();
    online = std::move(*list);
  }
  if (online.empty()) {
    online = affinity_cpus();
    topo->notes.push_back(join(cpu_root, "online") + ": missing or empty; using sched_getaffinity");
  }
  for (int c : online) {
    LinuxUnit u;
    u.name = "cpu" + std::to_string(c);
    u.cpu_ids = {c};
    read_core_topology(cpu_root, c, &u);
    topo->units.push_back(std::move(u));
  }
  return Status::Ok();
}

void discover_devfreq(const std::string& devfreq_root, LinuxTopology* topo) {
  std::vector<LinuxUnit> gpus, npus;
  for (const std::string& dev : list_dir(devfreq_root, "")) {
    const bool gpu = dev.find("gpu") != std::string::npos;
    const bool npu = dev.find("npu") != std::string::npos;
    if (!gpu && !npu) continue;  // dmc (DDR) and others are not processing units
    LinuxUnit u;
    u.kind = gpu ? policies::UnitKind::kGpu : policies::UnitKind::kNpu;
    if (Status st = read_devfreq(join(devfreq_root, dev), &u); !st.ok()) {
      topo->notes.push_back(st.message() + "; device skipped");
      continue;
    }
    (gpu ? gpus : npus).push_back(std::move(u));
  }
  auto add = [&](std::vector<LinuxUnit>& list, const char* base) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      list[i].name = i == 0 ? std::string(base) : std::string(base) + std::to_string(i);
      topo->units.push_back(std::move(list[i]));
    }
  };
  add(gpus, "gpu");
  add(npus, "npu");
  topo->has_devfreq = std::any_of(topo->units.begin(), topo->units.end(),
                                  [](const LinuxUnit& u) { return u.freq_if == FreqInterface::kDevfreq; });
}

void discover_zones(const std::string& thermal_root, LinuxTopology* topo) {
  for (const std::string& z : list_dir(thermal_root, "thermal_zone")) {
    LinuxZone zone;
    zone.dir = join(thermal_root, z);
    auto type = read_text(join(zone.dir, "type"));
    zone.type = type.ok() && !type->empty() ? *type : z;
    for (int k = 0;; ++k) {
      const std::string p = join(zone.dir, "trip_point_" + std::to_string(k) + "_");
      auto t = read_int_file(p + "temp");
      if (!t.ok()) {
        if (t.status().code() != StatusCode::kUnavailable) topo->notes.push_back(t.status().message());
        break;
      }
      LinuxTrip trip;
      trip.temp_mc = *t;
      if (auto h = read_int_file(p + "hyst"); h.ok()) trip.hyst_mc = *h;
      trip.type = text_or_empty(p + "type");
      zone.trips.push_back(std::move(trip));
    }
    if (static_cast<int>(topo->zones.size()) == kMaxLinuxZones) {
      topo->notes.push_back(zone.dir + ": more than " + std::to_string(kMaxLinuxZones) + " zones; dropped");
      continue;
    }
    topo->zones.push_back(std::move(zone));
  }
}

// hwmon chips with power<K>_input (uW), or curr<K>_input (mA) with in<K>_input (mV).
void discover_power(const std::string& hwmon_root, LinuxTopology* topo) {
  for (const std::string& h : list_dir(hwmon_root, "hwmon")) {
    std::string dir = join(hwmon_root, h);
    // Old kernels keep the attributes under device/.
    if (!path_exists(join(dir, "name")) && path_exists(join(dir, "device/name"))) dir = join(dir, "device");
    const std::string chip = text_or_empty(join(dir, "name"));
    std::vector<LinuxPowerSensor> found;
    for (int k = 1; k <= 8; ++k) {
      const std::string ks = std::to_string(k);
      LinuxPowerSensor s;
      s.dir = dir;
      if (path_exists(join(dir, "power" + ks + "_input"))) {
        s.power_file = "power" + ks + "_input";
      } else if (path_exists(join(dir, "curr" + ks + "_input")) && path_exists(join(dir, "in" + ks + "_input"))) {
        s.volt_file = "in" + ks + "_input";
        s.curr_file = "curr" + ks + "_input";
      } else {
        continue;
      }
      std::string label = text_or_empty(join(dir, "in" + ks + "_label"));
      s.name = label.empty() ? "ch" + ks : label;
      found.push_back(std::move(s));
    }
    for (auto& s : found) {
      s.name = found.size() == 1 ? (chip.empty() ? h : chip) : (chip.empty() ? h : chip) + ":" + s.name;
      if (static_cast<int>(topo->power.size()) == kMaxLinuxPower) {
        topo->notes.push_back(dir + ": more than " + std::to_string(kMaxLinuxPower) + " power channels; dropped");
        break;
      }
      topo->power.push_back(std::move(s));
    }
  }
}

int zone_index(const LinuxTopology& t, const std::string& type) {
  for (std::size_t i = 0; i < t.zones.size(); ++i)
    if (t.zones[i].type == type) return static_cast<int>(i);
  return -1;
}

// Maps the platform's units onto sysfs. A path that does not exist is a note (the machine lacks
// it); a path of the wrong shape is an error naming the field.
Status map_platform(const std::string& sysfs_root, const policies::PlatformDesc& p, LinuxTopology* topo) {
  const std::string cpu_root = join(sysfs_root, "devices/system/cpu");
  for (std::size_t i = 0; i < p.units.size(); ++i) {
    const policies::UnitDesc& d = p.units[i];
    const std::string field = p.name + ".units[" + std::to_string(i) + "].freq_sysfs";
    LinuxUnit u;
    u.name = std::string(1, d.letter);
    u.letter = d.letter;
    u.kind = d.kind;
    u.cpu_ids = d.cpu_ids;
    std::sort(u.cpu_ids.begin(), u.cpu_ids.end());
    for (const auto& o : d.opps) u.opps_khz.push_back(o.freq_khz);
    if (!d.freq_sysfs.empty()) {
      const bool cpufreq = d.freq_sysfs.rfind("cpufreq/", 0) == 0;
      const bool devfreq = d.freq_sysfs.rfind("devfreq/", 0) == 0;
      if ((!cpufreq && !devfreq) || d.freq_sysfs.find("..") != std::string::npos || d.freq_sysfs.size() <= 8)
        return Error(StatusCode::kInvalidArgument,
                     field + ": '" + d.freq_sysfs + "' is not 'cpufreq/policyN' or 'devfreq/<device>'");
      const std::string dir = cpufreq ? join(cpu_root, d.freq_sysfs) : join(sysfs_root, "class/" + d.freq_sysfs);
      if (!is_dir(dir)) {
        topo->notes.push_back("unit " + u.name + ": " + dir + " not present; frequency unavailable");
      } else {
        LinuxUnit found;
        HETSCHED_RETURN_IF_ERROR(cpufreq ? read_cpufreq(dir, &found, &topo->notes) : read_devfreq(dir, &found));
        // The machine's own OPP list wins over the description (bins and vendor kernels differ).
        if (!found.opps_khz.empty() && !u.opps_khz.empty() && found.opps_khz != u.opps_khz)
          topo->notes.push_back("unit " + u.name + ": " + dir + " OPPs differ from the platform file; using sysfs");
        if (found.opps_khz.empty()) found.opps_khz = u.opps_khz;
        if (cpufreq) {
          auto rel = read_text(join(dir, "related_cpus"));
          auto cpus = rel.ok() ? parse_cpu_list(*rel, join(dir, "related_cpus")) : Result<std::vector<int>>(std::vector<int>{});
          if (!cpus.ok()) return cpus.status();
          if (!cpus->empty() && *cpus != u.cpu_ids)
            topo->notes.push_back("unit " + u.name + ": related_cpus of " + dir + " differ from the platform's cpu_ids");
          topo->has_cpufreq = true;
        } else {
          topo->has_devfreq = true;
        }
        found.name = std::move(u.name);
        found.letter = u.letter;
        found.kind = u.kind;
        found.cpu_ids = std::move(u.cpu_ids);
        u = std::move(found);
        if (!u.opps_khz.empty() && u.hw_min_khz <= 0) u.hw_min_khz = u.opps_khz.front();
        if (!u.opps_khz.empty() && u.hw_max_khz <= 0) u.hw_max_khz = u.opps_khz.back();
      }
    }
    if (!u.cpu_ids.empty()) read_core_topology(cpu_root, u.cpu_ids.front(), &u);
    if (!d.thermal_zone.empty()) {
      u.zone = zone_index(*topo, d.thermal_zone);
      if (u.zone < 0) topo->notes.push_back("unit " + u.name + ": thermal zone '" + d.thermal_zone + "' not present");
    }
    topo->units.push_back(std::move(u));
  }
  if (!p.board_power_sensor.empty()) {
    // Platform files may describe the sensor in words ("INA260 in the board supply line ..."):
    // the first word, case-insensitively, is matched against the hwmon chip name.
    auto lower = [](std::string x) {
      for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return x;
    };
    const std::string want = p.board_power_sensor;
    const std::string chip_word = lower(want.substr(0, want.find(' ')));
    for (std::size_t i = 0; i < topo->power.size() && topo->board_power < 0; ++i) {
      const std::string& n = topo->power[i].name;
      if (n == want || n.rfind(want + ":", 0) == 0 || lower(n.substr(0, n.find(':'))) == chip_word)
        topo->board_power = static_cast<int>(i);
    }
    if (topo->board_power < 0)
      topo->notes.push_back("board power sensor '" + p.board_power_sensor + "' not present");
  }
  return Status::Ok();
}

}  // namespace

Result<LinuxTopology> discover_linux(const std::string& sysfs_root, const policies::PlatformDesc* platform) {
  if (sysfs_root.empty()) return Error(StatusCode::kInvalidArgument, "Options.sysfs_root is empty");
  if (!is_dir(sysfs_root)) return Error(StatusCode::kNotFound, "Options.sysfs_root '" + sysfs_root + "' is not a directory");
  LinuxTopology topo;
  discover_zones(join(sysfs_root, "class/thermal"), &topo);
  if (topo.zones.empty()) topo.notes.push_back(join(sysfs_root, "class/thermal") + ": no thermal zones");
  discover_power(join(sysfs_root, "class/hwmon"), &topo);
  if (platform) {
    if (platform->units.empty())
      return Error(StatusCode::kInvalidArgument, "platform '" + platform->name + "': no units");
    if (platform->num_units() > kMaxLinuxUnits)
      return Error(StatusCode::kOutOfRange, "platform '" + platform->name + "': more than " +
                                                std::to_string(kMaxLinuxUnits) + " units");
    HETSCHED_RETURN_IF_ERROR(map_platform(sysfs_root, *platform, &topo));
  } else {
    HETSCHED_RETURN_IF_ERROR(discover_cpus(join(sysfs_root, "devices/system/cpu"), &topo));
    discover_devfreq(join(sysfs_root, "class/devfreq"), &topo);
    if (static_cast<int>(topo.units.size()) > kMaxLinuxUnits) {
      topo.notes.push_back(std::to_string(topo.units.size()) + " units found; keeping the first " +
                           std::to_string(kMaxLinuxUnits));
      topo.units.resize(kMaxLinuxUnits);
    }
  }
  for (const auto& u : topo.units)
    for (int c : u.cpu_ids)
      if (c >= kMaxLinuxCpus)
        topo.notes.push_back("unit " + u.name + ": cpu" + std::to_string(c) + " beyond " +
                             std::to_string(kMaxLinuxCpus) + " is not included in load");
  if (!topo.has_devfreq && !platform) topo.notes.push_back(join(sysfs_root, "class/devfreq") + ": no GPU/NPU devfreq devices");
  if (topo.power.empty()) topo.notes.push_back(join(sysfs_root, "class/hwmon") + ": no power sensors");
  return topo;
}

}  // namespace hetsched::runtime
