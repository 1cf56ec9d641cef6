// Fake sysfs/procfs trees for the Linux sensing tests, laid out as on the boards (paths, file
// names and value formats from /work/shared/calibration/sysfs.md and platforms/rk3399.md,
// rk3588.md). Header-only: tests/runtime/test_*.cpp are globbed into one binary.
//
// Real sysfs regenerates an attribute on every read and ignores the file size on write; a
// regular file keeps old bytes past a shorter pwrite. Our writer appends '\n' (as echo does),
// so first_line() of a fake attribute is exactly the last value written.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hetsched::runtime::testing {

class FakeTree {
 public:
  FakeTree() {
    // tmpfs when available: hundreds of small files per tree are ~30x faster there than on a
    // busy disk (5 s -> 0.2 s for the whole suite on the shared build machine).
    const bool shm = ::access("/dev/shm", W_OK | X_OK) == 0 && std::getenv("TMPDIR") == nullptr;
    const std::filesystem::path base = shm ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "hetsched_sysfs_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    root_ = tmpl;
    std::filesystem::create_directories(sys());
    std::filesystem::create_directories(proc());
  }
  ~FakeTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  FakeTree(const FakeTree&) = delete;
  FakeTree& operator=(const FakeTree&) = delete;

  std::string sys() const { return root_ + "/sys"; }
  std::string proc() const { return root_ + "/proc"; }
  // Writes (truncating, same inode) <root>/<rel>, creating parent directories.
  void put(const std::string& rel, const std::string& content) const {
    const std::filesystem::path p = std::filesystem::path(root_) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::trunc);
    out << content;
  }
  void put_sys(const std::string& rel, const std::string& content) const { put("sys/" + rel, content + "\n"); }
  void remove_sys(const std::string& rel) const { std::filesystem::remove_all(sys() + "/" + rel); }
  // Replaces <sys>/<rel> with a symlink to `target` (e.g. a real read-only sysfs attribute).
  void link_sys(const std::string& rel, const std::string& target) const {
    const std::string p = sys() + "/" + rel;
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::filesystem::create_symlink(target, p);
  }
  std::string first_line(const std::string& rel_sys) const {
    std::ifstream in(sys() + "/" + rel_sys);
    std::string line;
    std::getline(in, line);
    return line;
  }

  // /proc/stat with one line per CPU: {user, nice, system, idle, iowait, irq, softirq, steal}.
  void put_proc_stat(const std::vector<std::vector<unsigned long long>>& cpus) const {
    std::vector<unsigned long long> sum(10, 0);
    std::ostringstream lines;
    for (std::size_t c = 0; c < cpus.size(); ++c) {
      lines << "cpu" << c;
      for (std::size_t k = 0; k < 10; ++k) {
        unsigned long long v = k < cpus[c].size() ? cpus[c][k] : 0;
        sum[k] += v;
        lines << ' ' << v;
      }
      lines << '\n';
    }
    std::ostringstream all;
    all << "cpu ";
    for (auto v : sum) all << ' ' << v;
    all << '\n' << lines.str() << "intr 133944 0 0 0\nctxt 250071\nbtime 1764055200\nprocesses 2150\n";
    put("proc/stat", all.str());
  }

  // One cpufreq policy (kHz files) and the per-core topology of its CPUs.
  void add_policy(int first, const std::vector<int>& cpus, const std::vector<long>& opps_khz, long cur_khz,
                  int capacity, int cluster, const std::string& governor = "schedutil") const {
    const std::string d = "devices/system/cpu/cpufreq/policy" + std::to_string(first) + "/";
    std::string list, freqs;
    for (int c : cpus) list += (list.empty() ? "" : " ") + std::to_string(c);
    for (long f : opps_khz) freqs += std::to_string(f) + " ";
    put_sys(d + "related_cpus", list);
    put_sys(d + "affected_cpus", list);
    put_sys(d + "scaling_available_frequencies", freqs);  // the kernel leaves a trailing space
    put_sys(d + "cpuinfo_min_freq", std::to_string(opps_khz.front()));
    put_sys(d + "cpuinfo_max_freq", std::to_string(opps_khz.back()));
    put_sys(d + "cpuinfo_transition_latency", "40000");
    put_sys(d + "scaling_cur_freq", std::to_string(cur_khz));
    put_sys(d + "scaling_min_freq", std::to_string(opps_khz.front()));
    put_sys(d + "scaling_max_freq", std::to_string(opps_khz.back()));
    put_sys(d + "scaling_governor", governor);
    put_sys(d + "scaling_available_governors", "conservative ondemand userspace powersave performance schedutil");
    put_sys(d + "scaling_driver", "cpufreq-dt");
    put_sys(d + "scaling_setspeed", "<unsupported>");
    unsigned mask = 0;
    for (int c : cpus) mask |= 1u << c;
    char hex[16];
    std::snprintf(hex, sizeof hex, "%02x", mask);
    for (int c : cpus) {
      const std::string cd = "devices/system/cpu/cpu" + std::to_string(c) + "/";
      put_sys(cd + "topology/core_siblings", hex);  // mask form only: exercises the hex parser
      put_sys(cd + "cpu_capacity", std::to_string(capacity));
      put_sys(cd + "topology/cluster_id", std::to_string(cluster));
      put_sys(cd + "topology/physical_package_id", "0");
    }
  }

  // One devfreq device (Hz files).
  void add_devfreq(const std::string& name, const std::vector<long long>& opps_hz, long long cur_hz,
                   const std::string& load = "") const {
    const std::string d = "class/devfreq/" + name + "/";
    std::string freqs;
    for (long long f : opps_hz) freqs += std::to_string(f) + " ";
    put_sys(d + "available_frequencies", freqs);
    put_sys(d + "cur_freq", std::to_string(cur_hz));
    put_sys(d + "target_freq", std::to_string(cur_hz));
    put_sys(d + "min_freq", std::to_string(opps_hz.front()));
    put_sys(d + "max_freq", std::to_string(opps_hz.back()));
    put_sys(d + "governor", "simple_ondemand");
    put_sys(d + "available_governors", "userspace powersave performance simple_ondemand");
    put_sys(d + "polling_interval", "50");
    put_sys(d + "userspace/set_freq", "0");
    if (!load.empty()) put_sys(d + "load", load);
  }

  // thermal_zoneN with trips {temp_mc, type}; hysteresis 2 °C as in the mainline dtsi.
  void add_zone(int n, const std::string& type, long temp_mc, const std::vector<std::pair<long, std::string>>& trips) const {
    const std::string d = "class/thermal/thermal_zone" + std::to_string(n) + "/";
    put_sys(d + "type", type);
    put_sys(d + "temp", std::to_string(temp_mc));
    put_sys(d + "mode", "enabled");
    put_sys(d + "policy", "step_wise");
    for (std::size_t k = 0; k < trips.size(); ++k) {
      const std::string t = d + "trip_point_" + std::to_string(k) + "_";
      put_sys(t + "temp", std::to_string(trips[k].first));
      put_sys(t + "type", trips[k].second);
      put_sys(t + "hyst", "2000");
    }
  }

 private:
  std::string root_;
};

inline const std::vector<long> kRk3399A53 = {408000, 600000, 816000, 1008000, 1200000, 1416000};
inline const std::vector<long> kRk3399A72 = {408000, 600000, 816000, 1008000, 1200000, 1416000, 1608000, 1800000};
inline const std::vector<long long> kRk3399Gpu = {200000000, 297000000, 400000000, 500000000, 600000000, 800000000};
inline const std::vector<long> kRk3588A55 = {408000, 600000, 816000, 1008000, 1200000, 1416000, 1608000, 1800000};
inline const std::vector<long> kRk3588A76 = {408000,  600000,  816000,  1008000, 1200000, 1416000,
                                             1608000, 1800000, 2016000, 2208000, 2400000};
inline const std::vector<long long> kRk3588Gpu = {300000000, 400000000, 500000000, 600000000,
                                                  700000000, 800000000, 900000000, 1000000000};

// RK3399 (mainline names): policy0 A53 cpus 0-3, policy4 A72 cpus 4-5, ff9a0000.gpu, dmc,
// cpu-thermal/gpu-thermal, an INA226 on hwmon0 (power1_input in uW) and the cpu_thermal mirror.
// bsp = true: the Rockchip BSP zones (soc-thermal 70/85/115 °C, gpu-thermal sensor only) and an
// INA260 in the supply line, as on the Rock Pi N10 (RK3399Pro) of env/platforms/rockpi_n10.json.
inline void make_rk3399(const FakeTree& t, bool bsp = false) {
  t.put_sys("devices/system/cpu/online", "0-5");
  t.put_sys("devices/system/cpu/possible", "0-5");
  t.add_policy(0, {0, 1, 2, 3}, kRk3399A53, 1416000, 381, 0);
  t.add_policy(4, {4, 5}, kRk3399A72, 1800000, 1024, 1);
  t.add_devfreq("ff9a0000.gpu", kRk3399Gpu, 800000000, "37@800000000Hz");
  t.add_devfreq("dmc", {200000000, 800000000}, 800000000);
  if (bsp) {
    t.add_zone(0, "soc-thermal", 45000, {{70000, "passive"}, {85000, "passive"}, {115000, "critical"}});
    t.add_zone(1, "gpu-thermal", 43500, {});
  } else {
    t.add_zone(0, "cpu-thermal", 45000, {{70000, "passive"}, {75000, "passive"}, {95000, "critical"}});
    t.add_zone(1, "gpu-thermal", 43500, {{75000, "passive"}, {95000, "critical"}});
  }
  t.put_sys("class/hwmon/hwmon0/name", bsp ? "ina260" : "ina226");
  t.put_sys("class/hwmon/hwmon0/in0_input", "2");        // shunt voltage, mV
  t.put_sys("class/hwmon/hwmon0/in1_input", "5104");     // bus voltage, mV
  t.put_sys("class/hwmon/hwmon0/curr1_input", "812");    // mA
  t.put_sys("class/hwmon/hwmon0/power1_input", "4143000");  // uW
  t.put_sys("class/hwmon/hwmon1/name", "cpu_thermal");
  t.put_sys("class/hwmon/hwmon1/temp1_input", "45000");
  t.put_proc_stat({{100, 0, 50, 850}, {100, 0, 50, 850}, {100, 0, 50, 850}, {100, 0, 50, 850},
                   {400, 0, 100, 500}, {400, 0, 100, 500}});
}

// RK3588 (mainline zones, BSP NPU): policy0 A55 0-3, policy4 A76 4-5, policy6 A76 6-7,
// fb000000.gpu (BSP load), fdab0000.npu (descending OPP list, no devfreq load; rknpu debugfs
// load instead), dmc, seven zones, an INA3221 without power attributes (V x I).
inline void make_rk3588(const FakeTree& t) {
  t.put_sys("devices/system/cpu/online", "0-7");
  t.add_policy(0, {0, 1, 2, 3}, kRk3588A55, 1800000, 414, 0);
  t.add_policy(4, {4, 5}, kRk3588A76, 2400000, 1024, 1);
  t.add_policy(6, {6, 7}, kRk3588A76, 2208000, 1024, 2);
  t.add_devfreq("fb000000.gpu", kRk3588Gpu, 1000000000, "12@1000000000Hz");
  t.add_devfreq("fdab0000.npu", {1000000000, 900000000, 800000000, 700000000, 600000000, 500000000, 400000000, 300000000},
                1000000000);
  t.put_sys("kernel/debug/rknpu/load", "NPU load:  Core0: 60%, Core1: 30%, Core2:  0%,");
  t.add_devfreq("dmc", {528000000, 1068000000, 1560000000, 2112000000}, 2112000000);
  const std::vector<std::pair<long, std::string>> crit = {{115000, "critical"}};
  const std::vector<std::pair<long, std::string>> pas = {{85000, "passive"}, {115000, "critical"}};
  t.add_zone(0, "package-thermal", 52000, crit);
  t.add_zone(1, "bigcore0-thermal", 53000, pas);
  t.add_zone(2, "bigcore2-thermal", 53500, pas);
  t.add_zone(3, "littlecore-thermal", 51000, pas);
  t.add_zone(4, "center-thermal", 50000, crit);
  t.add_zone(5, "gpu-thermal", 49000, pas);
  t.add_zone(6, "npu-thermal", 48000, crit);
  t.put_sys("class/hwmon/hwmon0/name", "ina3221");
  const char* labels[3] = {"VDD_CPU", "VDD_GPU", "VDD_NPU"};
  const int mv[3] = {5000, 5000, 4980};
  const int ma[3] = {300, 150, 200};
  for (int k = 1; k <= 3; ++k) {
    const std::string h = "class/hwmon/hwmon0/";
    t.put_sys(h + "in" + std::to_string(k) + "_label", labels[k - 1]);
    t.put_sys(h + "in" + std::to_string(k) + "_input", std::to_string(mv[k - 1]));
    t.put_sys(h + "curr" + std::to_string(k) + "_input", std::to_string(ma[k - 1]));
    t.put_sys(h + "in" + std::to_string(k + 3) + "_input", "1500");  // shunt voltage, uV
  }
  std::vector<std::vector<unsigned long long>> cpus(8, {200, 0, 100, 700});
  t.put_proc_stat(cpus);
}

// This VM: two CPUs, an empty cpufreq directory, no devfreq/thermal/hwmon.
inline void make_vm(const FakeTree& t) {
  t.put_sys("devices/system/cpu/online", "0-1");
  for (int c = 0; c < 2; ++c) {
    const std::string cd = "devices/system/cpu/cpu" + std::to_string(c) + "/";
    t.put_sys(cd + "cpu_capacity", "1024");
    t.put_sys(cd + "topology/cluster_id", "65535");
    t.put_sys(cd + "topology/physical_package_id", std::to_string(c));
    t.put_sys(cd + "topology/core_siblings_list", "0-1");
  }
  std::filesystem::create_directories(t.sys() + "/devices/system/cpu/cpufreq");
  std::filesystem::create_directories(t.sys() + "/class/thermal");
  t.put_proc_stat({{582, 0, 605, 37436, 6, 0, 7, 2}, {883, 0, 908, 36710, 180, 0, 31, 6}});
}

}  // namespace hetsched::runtime::testing
