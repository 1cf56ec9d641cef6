#include "runtime/linux_platform.hpp"

#include <algorithm>

namespace hetsched::runtime {

const char* freq_control_name(FreqControl c) noexcept {
  switch (c) {
    case FreqControl::kNone: return "none";
    case FreqControl::kSetspeed: return "setspeed";
    case FreqControl::kClamp: return "clamp";
  }
  return "unknown";
}

// Plausibility bounds in file units. Why 100 GHz: no DVFS domain comes near it, so anything
// above is garbage; 0 is also rejected (a stopped clock is not a frequency we can schedule on).
static constexpr std::int64_t kMaxFreqKhz = 100'000'000;
static constexpr std::int64_t kMaxPowerUw = 1'000'000'000;  // 1 kW: no board rail comes near it
static constexpr std::int64_t kMaxBusMv = 100'000;          // INA226 bus range is 36 V
static constexpr std::int64_t kMaxCurrMa = 1'000'000;

struct LinuxPlatform::UnitIo {
  SysfsFile cur;               // scaling_cur_freq | cur_freq
  SysfsFile max_read;          // scaling_max_freq | max_freq
  SysfsFile load;              // devfreq load | rknpu debugfs load
  SysfsFile setspeed;          // scaling_setspeed | userspace/set_freq
  SysfsFile min_w, max_w;      // scaling_min/max_freq | min/max_freq
  std::int64_t scale = 1;      // file units per kHz: 1 (cpufreq) or 1000 (devfreq Hz)
  FreqControl control = FreqControl::kNone;
  Status control_status;       // why control == kNone
  std::int64_t min_raw = 0, max_raw = 0;  // current limits in file units (for write ordering)
  std::int64_t saved_min_raw = 0, saved_max_raw = 0;
  bool limits_written = false;
  std::int64_t saved_speed_raw = 0;  // frequency when setspeed control began (0 = unknown)
  bool speed_written = false;
  std::string governor_path, saved_governor;  // non-empty saved_governor = we changed it
};

struct LinuxPlatform::ZoneIo {
  SysfsFile temp;  // thermal_zoneN/temp, m°C
};

struct LinuxPlatform::PowerIo {
  SysfsFile power, volt, curr;
  bool curr_failed = false;  // V x I sensors: the last error came from curr, not volt
};

LinuxPlatform::LinuxPlatform() = default;

LinuxPlatform::~LinuxPlatform() {
  if (!opt_.restore_on_destroy) return;
  try {
    (void)restore();
  } catch (...) {  // restore only allocates on failure paths; never let that escape a destructor
  }
}

static std::string join(const std::string& a, const std::string& b) { return a + "/" + b; }

Result<std::unique_ptr<LinuxPlatform>> LinuxPlatform::create(const LinuxOptions& o) {
  if (o.clock == nullptr) return Error(StatusCode::kInvalidArgument, "LinuxOptions.clock is null (time is injected)");
  if (o.procfs_root.empty()) return Error(StatusCode::kInvalidArgument, "LinuxOptions.procfs_root is empty");
  if (o.temp_min_mc >= o.temp_max_mc)
    return Error(StatusCode::kInvalidArgument, "LinuxOptions.temp_min_mc (" + std::to_string(o.temp_min_mc) +
                                                   ") must be below temp_max_mc (" + std::to_string(o.temp_max_mc) + ")");
  auto topo = discover_linux(o.sysfs_root, o.platform);
  if (!topo.ok()) return topo.status();

  std::unique_ptr<LinuxPlatform> p(new LinuxPlatform());
  p->opt_ = o;
  p->opt_.platform = nullptr;  // not kept: the caller owns it and may free it after create
  p->topo_ = std::move(*topo);
  p->units_.resize(p->topo_.units.size());
  for (int i = 0; i < p->num_units(); ++i) HETSCHED_RETURN_IF_ERROR(p->open_unit(o, i));

  p->zones_.resize(p->topo_.zones.size());
  for (std::size_t z = 0; z < p->zones_.size(); ++z) {
    auto f = SysfsFile::open_read(join(p->topo_.zones[z].dir, "temp"));
    if (f.ok()) p->zones_[z].temp = std::move(*f);
    else p->topo_.notes.push_back(f.status().message());
  }
  p->power_.resize(p->topo_.power.size());
  for (std::size_t s = 0; s < p->power_.size(); ++s) {
    const LinuxPowerSensor& d = p->topo_.power[s];
    PowerIo& io = p->power_[s];
    const std::string* names[3] = {&d.power_file, &d.volt_file, &d.curr_file};
    SysfsFile* files[3] = {&io.power, &io.volt, &io.curr};
    for (int k = 0; k < 3; ++k) {
      if (names[k]->empty()) continue;
      auto f = SysfsFile::open_read(join(d.dir, *names[k]));
      if (f.ok()) *files[k] = std::move(*f);
      else p->topo_.notes.push_back(f.status().message());
    }
  }

  p->ticks_ = std::make_unique<CpuTickTable[]>(2);
  if (auto r = ProcStatReader::open(o.procfs_root); r.ok()) {
    p->proc_ = std::move(*r);
    p->proc_.read(&p->ticks_[p->prev_]);  // baseline: the first read() reports load since create
  } else {
    p->topo_.notes.push_back(r.status().message() + "; CPU load unavailable");
  }
  return p;
}

Status LinuxPlatform::open_unit(const LinuxOptions& o, int i) {
  const LinuxUnit& u = topo_.units[i];
  UnitIo& io = units_[i];
  auto open_opt = [&](const std::string& path, SysfsFile* f) {
    auto r = SysfsFile::open_read(path);
    if (r.ok()) *f = std::move(*r);
    return r.ok();
  };
  if (u.freq_if == FreqInterface::kCpufreq) {
    io.scale = 1;
    // scaling_cur_freq is world-readable; cpuinfo_cur_freq is root-only on common kernels.
    if (!open_opt(join(u.freq_dir, "scaling_cur_freq"), &io.cur) && !open_opt(join(u.freq_dir, "cpuinfo_cur_freq"), &io.cur))
      topo_.notes.push_back("unit " + u.name + ": " + u.freq_dir + " has no readable scaling_cur_freq");
    open_opt(join(u.freq_dir, "scaling_max_freq"), &io.max_read);
  } else if (u.freq_if == FreqInterface::kDevfreq) {
    io.scale = 1000;
    if (!open_opt(join(u.freq_dir, "cur_freq"), &io.cur))
      topo_.notes.push_back("unit " + u.name + ": " + u.freq_dir + " has no readable cur_freq");
    open_opt(join(u.freq_dir, "max_freq"), &io.max_read);
    if (!open_opt(join(u.freq_dir, "load"), &io.load) && u.kind == policies::UnitKind::kNpu)
      open_opt(join(o.sysfs_root, "kernel/debug/rknpu/load"), &io.load);
  }
  return resolve_control(o, i);
}

// Picks setspeed or clamp and opens the files it writes. Failing to get write access is not an
// error of create(): the unit stays readable and control_status() says why it cannot be set.
Status LinuxPlatform::resolve_control(const LinuxOptions& o, int i) {
  const LinuxUnit& u = topo_.units[i];
  UnitIo& io = units_[i];
  const std::string prefix = "unit " + u.name + ": ";
  if (u.freq_if == FreqInterface::kNone) {
    io.control_status = Error(StatusCode::kUnavailable, prefix + "no cpufreq/devfreq interface on this machine");
    return Status::Ok();
  }
  if (!o.enable_actuation) {
    io.control_status = Error(StatusCode::kUnavailable, prefix + "actuation disabled (LinuxOptions.enable_actuation)");
    return Status::Ok();
  }
  const bool cpufreq = u.freq_if == FreqInterface::kCpufreq;
  const std::string gov_file = join(u.freq_dir, cpufreq ? "scaling_governor" : "governor");
  const std::string set_file = join(u.freq_dir, cpufreq ? "scaling_setspeed" : "userspace/set_freq");
  bool userspace = u.governor == "userspace";
  if (!userspace && o.take_userspace_governor) {
    const bool offered = u.governors.empty() ||
                         std::find(u.governors.begin(), u.governors.end(), "userspace") != u.governors.end();
    if (!offered) {
      topo_.notes.push_back(prefix + "userspace governor not offered; using min/max clamps");
    } else if (auto g = SysfsFile::open_write(gov_file); !g.ok()) {
      topo_.notes.push_back(prefix + g.status().message() + "; using min/max clamps");
    } else if (Status st = g->write_text("userspace"); !st.ok()) {
      topo_.notes.push_back(prefix + st.message() + "; using min/max clamps");
    } else {
      io.governor_path = gov_file;
      io.saved_governor = u.governor;
      userspace = true;
    }
  }
  if (userspace) {
    auto s = SysfsFile::open_write(set_file);
    if (s.ok()) {
      io.setspeed = std::move(*s);
      io.control = FreqControl::kSetspeed;
      // Saved so restore() can put back a userspace frequency someone else had chosen.
      if (auto cur = read_int_file(join(u.freq_dir, cpufreq ? "scaling_cur_freq" : "cur_freq")); cur.ok() && *cur > 0)
        io.saved_speed_raw = *cur;
      return Status::Ok();
    }
    topo_.notes.push_back(prefix + s.status().message() + "; trying min/max clamps");
  }
  const std::string min_file = join(u.freq_dir, cpufreq ? "scaling_min_freq" : "min_freq");
  const std::string max_file = join(u.freq_dir, cpufreq ? "scaling_max_freq" : "max_freq");
  // Write access first: it is the failure that decides whether the unit can be actuated.
  auto wmin = SysfsFile::open_write(min_file);
  auto wmax = SysfsFile::open_write(max_file);
  if (!wmin.ok() || !wmax.ok()) {
    const Status& bad = wmin.ok() ? wmax.status() : wmin.status();
    io.control_status = Status(bad.code(), prefix + bad.message());
    topo_.notes.push_back(io.control_status.message());
    return Status::Ok();
  }
  // The current limits order the two writes of every later change (see write_limits).
  auto mn = read_int_file(min_file);
  auto mx = read_int_file(max_file);
  if (!mn.ok() || !mx.ok()) {
    io.control_status = Status(mn.ok() ? mx.status().code() : mn.status().code(),
                               prefix + (mn.ok() ? mx.status().message() : mn.status().message()));
    topo_.notes.push_back(io.control_status.message());
    return Status::Ok();
  }
  io.min_w = std::move(*wmin);
  io.max_w = std::move(*wmax);
  io.min_raw = io.saved_min_raw = *mn;
  io.max_raw = io.saved_max_raw = *mx;
  io.control = FreqControl::kClamp;
  return Status::Ok();
}

int LinuxPlatform::unit_index(std::string_view name) const noexcept {
  for (int i = 0; i < num_units(); ++i)
    if (topo_.units[i].name == name) return i;
  return -1;
}

FreqControl LinuxPlatform::control(int unit) const noexcept {
  return unit >= 0 && unit < num_units() ? units_[unit].control : FreqControl::kNone;
}

Status LinuxPlatform::control_status(int unit) const {
  if (unit < 0 || unit >= num_units())
    return Error(StatusCode::kOutOfRange, "unit index " + std::to_string(unit) + " outside 0.." + std::to_string(num_units() - 1));
  return units_[unit].control == FreqControl::kNone ? units_[unit].control_status : Status::Ok();
}

void LinuxPlatform::read(SensorReadings* out) noexcept {
  out->t_ns = opt_.clock->now_ns();
  out->num_units = num_units();
  out->num_zones = static_cast<int>(zones_.size());
  out->num_power = static_cast<int>(power_.size());

  // Load first: one /proc/stat read serves every CPU unit.
  const int cur = 1 - prev_;
  out->proc_stat = proc_.read(&ticks_[cur]);
  for (int i = 0; i < num_units(); ++i) {
    UnitIo& io = units_[i];
    UnitReadings& r = out->units[i];
    std::int64_t v = 0;
    r.freq_khz.error = io.cur.read_int(1, kMaxFreqKhz * io.scale, &v);
    r.freq_khz.value = r.freq_khz.error == ReadError::kNone ? (v + io.scale / 2) / io.scale : 0;
    r.max_freq_khz.error = io.max_read.read_int(1, kMaxFreqKhz * io.scale, &v);
    r.max_freq_khz.value = r.max_freq_khz.error == ReadError::kNone ? (v + io.scale / 2) / io.scale : 0;
    r.util_permille = Reading{};
    if (!topo_.units[i].cpu_ids.empty()) {
      if (out->proc_stat == ReadError::kNone)
        r.util_permille.error = util_permille(ticks_[prev_], ticks_[cur], topo_.units[i].cpu_ids, &r.util_permille.value);
      else
        r.util_permille.error = out->proc_stat;
    } else if (io.load.is_open()) {
      char buf[128];
      const long n = io.load.read_raw(buf, sizeof buf);
      r.util_permille.error = n < 0 ? ReadError::kIo
                                    : parse_load_permille({buf, static_cast<std::size_t>(n)}, &r.util_permille.value);
    }
    if (!r.util_permille.ok()) r.util_permille.value = 0;
  }
  if (out->proc_stat == ReadError::kNone) prev_ = cur;

  for (std::size_t z = 0; z < zones_.size(); ++z) {
    Reading& t = out->temp_mc[z];
    t.value = 0;
    t.error = zones_[z].temp.read_int(opt_.temp_min_mc, opt_.temp_max_mc, &t.value);
  }
  for (std::size_t s = 0; s < power_.size(); ++s) {
    PowerIo& io = power_[s];
    Reading& p = out->power_uw[s];
    p.value = 0;
    if (io.power.is_open() || topo_.power[s].curr_file.empty()) {
      p.error = io.power.read_int(-kMaxPowerUw, kMaxPowerUw, &p.value);
      continue;
    }
    // mV x mA = uW exactly; current may be negative with a reversed shunt, so the sign is kept.
    std::int64_t mv = 0, ma = 0;
    p.error = io.volt.read_int(0, kMaxBusMv, &mv);
    io.curr_failed = false;
    if (p.error == ReadError::kNone) {
      p.error = io.curr.read_int(-kMaxCurrMa, kMaxCurrMa, &ma);
      io.curr_failed = p.error != ReadError::kNone;
    }
    if (p.error == ReadError::kNone) p.value = mv * ma;
  }
}

// Moves the [min, max] limits to [lo, hi] without ever asking for min > max (devfreq and older
// cpufreq reject that with EINVAL): if the new floor is above the current ceiling, raise the
// ceiling first; otherwise lower/raise the floor first.
Status LinuxPlatform::write_limits(int i, std::int64_t lo, std::int64_t hi) {
  UnitIo& io = units_[i];
  io.limits_written = true;
  if (lo > io.max_raw) {
    HETSCHED_RETURN_IF_ERROR(io.max_w.write_int(hi));
    io.max_raw = hi;
    HETSCHED_RETURN_IF_ERROR(io.min_w.write_int(lo));
    io.min_raw = lo;
  } else {
    HETSCHED_RETURN_IF_ERROR(io.min_w.write_int(lo));
    io.min_raw = lo;
    HETSCHED_RETURN_IF_ERROR(io.max_w.write_int(hi));
    io.max_raw = hi;
  }
  return Status::Ok();
}

Status LinuxPlatform::set_freq_khz(int unit, std::int64_t freq_khz) {
  if (unit < 0 || unit >= num_units())
    return Error(StatusCode::kOutOfRange, "unit index " + std::to_string(unit) + " outside 0.." + std::to_string(num_units() - 1));
  const LinuxUnit& u = topo_.units[unit];
  UnitIo& io = units_[unit];
  if (io.control == FreqControl::kNone) return io.control_status;
  if (!u.opps_khz.empty()) {
    if (!std::binary_search(u.opps_khz.begin(), u.opps_khz.end(), freq_khz))
      return Error(StatusCode::kInvalidArgument,
                   "unit " + u.name + ": freq_khz " + std::to_string(freq_khz) + " is not one of its " +
                       std::to_string(u.opps_khz.size()) + " OPPs (" + std::to_string(u.opps_khz.front()) + ".." +
                       std::to_string(u.opps_khz.back()) + " kHz)");
  } else if (freq_khz <= 0 || (u.hw_min_khz > 0 && freq_khz < u.hw_min_khz) ||
             (u.hw_max_khz > 0 && freq_khz > u.hw_max_khz)) {
    return Error(StatusCode::kInvalidArgument, "unit " + u.name + ": freq_khz " + std::to_string(freq_khz) +
                                                   " outside " + std::to_string(u.hw_min_khz) + ".." +
                                                   std::to_string(u.hw_max_khz) + " kHz");
  }
  const std::int64_t raw = freq_khz * io.scale;
  if (io.control == FreqControl::kSetspeed) io.speed_written = true;
  Status st = io.control == FreqControl::kSetspeed ? io.setspeed.write_int(raw) : write_limits(unit, raw, raw);
  if (!st.ok()) return Status(st.code(), "unit " + u.name + ": " + st.message());
  return Status::Ok();
}

Status LinuxPlatform::restore() {
  Status first;
  auto keep = [&](Status st, const std::string& name) {
    if (!st.ok() && first.ok()) first = Status(st.code(), "unit " + name + ": restore: " + st.message());
  };
  for (int i = 0; i < num_units(); ++i) {
    UnitIo& io = units_[i];
    if (io.limits_written) {
      keep(write_limits(i, io.saved_min_raw, io.saved_max_raw), topo_.units[i].name);
      io.limits_written = false;
    }
    if (io.speed_written && io.saved_governor.empty() && io.saved_speed_raw > 0) {
      keep(io.setspeed.write_int(io.saved_speed_raw), topo_.units[i].name);
      io.speed_written = false;
    }
    if (!io.saved_governor.empty()) {
      auto g = SysfsFile::open_write(io.governor_path);
      keep(g.ok() ? g->write_text(io.saved_governor) : g.status(), topo_.units[i].name);
      io.saved_governor.clear();
      io.setspeed = SysfsFile();
      io.control = FreqControl::kNone;
      io.control_status = Error(StatusCode::kUnavailable, "unit " + topo_.units[i].name + ": governor restored");
    }
  }
  return first;
}

std::vector<std::string> LinuxPlatform::describe_errors(const SensorReadings& r) const {
  std::vector<std::string> out;
  auto add = [&](const Reading& x, const SysfsFile& f, const std::string& what, std::string_view unit) {
    if (x.error == ReadError::kNone || x.error == ReadError::kUnavailable) return;
    out.push_back(what + ": " + (f.is_open() ? f.describe(x.error, unit) : std::string(read_error_name(x.error))));
  };
  for (int i = 0; i < std::min(r.num_units, num_units()); ++i) {
    const std::string n = "unit " + topo_.units[i].name;
    const char* fu = units_[i].scale == 1 ? "kHz" : "Hz";
    add(r.units[i].freq_khz, units_[i].cur, n + " freq_khz", fu);
    add(r.units[i].max_freq_khz, units_[i].max_read, n + " max_freq_khz", fu);
    const Reading& u = r.units[i].util_permille;
    if (topo_.units[i].cpu_ids.empty()) add(u, units_[i].load, n + " util_permille", "percent");
    else if (u.error != ReadError::kNone && u.error != ReadError::kUnavailable)
      out.push_back(n + " util_permille: '" + proc_.path() + "' " + read_error_name(u.error));
  }
  for (int z = 0; z < std::min<int>(r.num_zones, static_cast<int>(zones_.size())); ++z)
    add(r.temp_mc[z], zones_[z].temp, "zone " + topo_.zones[z].type + " temp_mc", "m°C");
  for (int s = 0; s < std::min<int>(r.num_power, static_cast<int>(power_.size())); ++s) {
    const PowerIo& io = power_[s];
    const SysfsFile& f = io.power.is_open() ? io.power : (io.curr_failed ? io.curr : io.volt);
    add(r.power_uw[s], f, "power " + topo_.power[s].name + " power_uw", io.power.is_open() ? "uW" : "mV x mA");
  }
  return out;
}

}  // namespace hetsched::runtime
