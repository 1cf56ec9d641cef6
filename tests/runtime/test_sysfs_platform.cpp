// LinuxPlatform on fake trees: readings and their units, load from two /proc/stat snapshots,
// actuation (setspeed and min/max clamps), failed writes, malformed sensors, restore.
#include <gtest/gtest.h>

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/linux_platform.hpp"
#include "tests/runtime/fake_tree.hpp"

namespace hetsched::runtime {
namespace {

using testing::FakeTree;

constexpr const char* kPol0 = "devices/system/cpu/cpufreq/policy0/";
constexpr const char* kPol4 = "devices/system/cpu/cpufreq/policy4/";
constexpr const char* kGpu = "class/devfreq/ff9a0000.gpu/";

// Names of the files modified in `dir`, in write order, since the watch was added.
class WriteOrder {
 public:
  explicit WriteOrder(const std::string& dir) : fd_(inotify_init1(IN_NONBLOCK)) {
    if (fd_ >= 0) inotify_add_watch(fd_, dir.c_str(), IN_MODIFY);
  }
  ~WriteOrder() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  std::vector<std::string> take() {
    std::vector<std::string> out;
    alignas(inotify_event) char buf[4096];
    for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;)
      for (char* p = buf; p < buf + n;) {
        auto* e = reinterpret_cast<inotify_event*>(p);
        if (e->len && (out.empty() || out.back() != e->name)) out.emplace_back(e->name);
        p += sizeof(inotify_event) + e->len;
      }
    return out;
  }

 private:
  int fd_;
};

std::unique_ptr<LinuxPlatform> make(const FakeTree& t, const ManualClock& clock, bool userspace = false,
                                    bool restore = true) {
  LinuxOptions o;
  o.sysfs_root = t.sys();
  o.procfs_root = t.proc();
  o.clock = &clock;
  o.take_userspace_governor = userspace;
  o.restore_on_destroy = restore;
  auto p = LinuxPlatform::create(o);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? std::move(*p) : nullptr;
}

TEST(SysfsPlatform, OptionsAreValidated) {
  FakeTree t;
  testing::make_vm(t);
  LinuxOptions o;
  o.sysfs_root = t.sys();
  o.procfs_root = t.proc();
  auto no_clock = LinuxPlatform::create(o);
  ASSERT_FALSE(no_clock.ok());
  EXPECT_NE(no_clock.status().message().find("clock"), std::string::npos);
  ManualClock clock;
  o.clock = &clock;
  o.temp_min_mc = 200000;
  auto bad_range = LinuxPlatform::create(o);
  ASSERT_FALSE(bad_range.ok());
  EXPECT_NE(bad_range.status().message().find("temp_min_mc"), std::string::npos);
}

TEST(SysfsPlatform, Rk3399ReadingsInOurUnits) {
  FakeTree t;
  testing::make_rk3399(t);
  ManualClock clock(5'000'000);
  auto p = make(t, clock);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->num_units(), 3);
  SensorReadings r;
  p->read(&r);
  EXPECT_EQ(r.t_ns, 5'000'000);
  EXPECT_EQ(r.num_units, 3);
  ASSERT_TRUE(r.units[0].freq_khz.ok());
  EXPECT_EQ(r.units[0].freq_khz.value, 1416000);
  EXPECT_EQ(r.units[1].freq_khz.value, 1800000);
  EXPECT_EQ(r.units[1].max_freq_khz.value, 1800000);
  ASSERT_TRUE(r.units[2].freq_khz.ok());
  EXPECT_EQ(r.units[2].freq_khz.value, 800000);  // 800000000 Hz -> kHz
  ASSERT_TRUE(r.units[2].util_permille.ok());
  EXPECT_EQ(r.units[2].util_permille.value, 370);  // "37@800000000Hz"
  ASSERT_EQ(r.num_zones, 2);
  EXPECT_EQ(r.temp_mc[0].value, 45000);
  EXPECT_EQ(r.temp_mc[1].value, 43500);
  ASSERT_EQ(r.num_power, 1);
  EXPECT_EQ(r.power_uw[0].value, 4143000);
  // CPU load needs a second /proc/stat snapshot; nothing moved since create().
  EXPECT_EQ(r.units[0].util_permille.error, ReadError::kOutOfRange);

  // The kernel changes the files; the cached fds see it.
  t.put_sys(std::string(kGpu) + "cur_freq", "297000000");
  t.put_sys("class/thermal/thermal_zone0/temp", "71000");
  // A53s: +100 ticks each, 40 busy; A72s: +100 ticks each, all busy.
  t.put_proc_stat({{130, 0, 60, 910}, {130, 0, 60, 910}, {130, 0, 60, 910}, {130, 0, 60, 910},
                   {480, 0, 120, 500}, {480, 0, 120, 500}});
  clock.advance_ns(1'000'000'000);
  p->read(&r);
  EXPECT_EQ(r.t_ns, 1'005'000'000);
  EXPECT_EQ(r.units[2].freq_khz.value, 297000);
  EXPECT_EQ(r.temp_mc[0].value, 71000);
  ASSERT_TRUE(r.units[0].util_permille.ok()) << read_error_name(r.units[0].util_permille.error);
  EXPECT_EQ(r.units[0].util_permille.value, 400);
  EXPECT_EQ(r.units[1].util_permille.value, 1000);

  // Next interval: one A53 busy, three idle -> 250 permille of the cluster.
  t.put_proc_stat({{230, 0, 60, 910}, {130, 0, 60, 1010}, {130, 0, 60, 1010}, {130, 0, 60, 1010},
                   {480, 0, 120, 600}, {480, 0, 120, 600}});
  p->read(&r);
  EXPECT_EQ(r.units[0].util_permille.value, 250);
  EXPECT_EQ(r.units[1].util_permille.value, 0);
  EXPECT_TRUE(p->describe_errors(r).empty());
}

TEST(SysfsPlatform, Rk3588VoltTimesCurrentAndNpuDebugfsLoad) {
  FakeTree t;
  testing::make_rk3588(t);
  ManualClock clock;
  auto p = make(t, clock);
  ASSERT_TRUE(p);
  SensorReadings r;
  p->read(&r);
  const int npu = p->unit_index("npu");
  ASSERT_EQ(npu, 4);
  EXPECT_EQ(r.units[npu].freq_khz.value, 1000000);
  ASSERT_TRUE(r.units[npu].util_permille.ok());
  EXPECT_EQ(r.units[npu].util_permille.value, 300);
  EXPECT_EQ(r.units[p->unit_index("gpu")].util_permille.value, 120);
  ASSERT_EQ(r.num_power, 3);
  EXPECT_EQ(r.power_uw[0].value, 5000 * 300);  // mV x mA = uW
  EXPECT_EQ(r.power_uw[2].value, 4980 * 200);
  ASSERT_EQ(r.num_zones, 7);
  EXPECT_EQ(r.temp_mc[2].value, 53500);
}

TEST(SysfsPlatform, MalformedSensorsAreInvalidWithAClearMessage) {
  FakeTree t;
  testing::make_rk3588(t);
  ManualClock clock;
  auto p = make(t, clock);
  ASSERT_TRUE(p);
  t.put("sys/class/thermal/thermal_zone3/temp", "");
  t.put_sys("class/thermal/thermal_zone4/temp", "-40000000");
  t.put_sys("class/thermal/thermal_zone5/temp", "warm");
  t.put_sys(std::string(kPol4) + "scaling_cur_freq", "<unknown>");
  t.put_sys("class/devfreq/fb000000.gpu/load", "??@1000000000Hz");
  t.put_sys("class/hwmon/hwmon0/curr2_input", "lots");
  t.put("proc/stat", "cpu  1 2 3 4\ncpu0 garbage\n");
  SensorReadings r;
  p->read(&r);
  EXPECT_EQ(r.temp_mc[3].error, ReadError::kEmpty);
  EXPECT_EQ(r.temp_mc[4].error, ReadError::kOutOfRange);
  EXPECT_EQ(r.temp_mc[5].error, ReadError::kNotANumber);
  EXPECT_TRUE(r.temp_mc[6].ok());  // the others still read
  EXPECT_EQ(r.units[1].freq_khz.error, ReadError::kNotANumber);
  EXPECT_TRUE(r.units[2].freq_khz.ok());
  EXPECT_EQ(r.units[3].util_permille.error, ReadError::kNotANumber);
  EXPECT_EQ(r.power_uw[1].error, ReadError::kNotANumber);
  EXPECT_TRUE(r.power_uw[0].ok());
  EXPECT_EQ(r.proc_stat, ReadError::kNotANumber);
  EXPECT_FALSE(r.units[0].util_permille.ok());
  const auto errors = p->describe_errors(r);
  auto mentions = [&](const std::string& a, const std::string& b) {
    return std::any_of(errors.begin(), errors.end(), [&](const std::string& e) {
      return e.find(a) != std::string::npos && e.find(b) != std::string::npos;
    });
  };
  EXPECT_TRUE(mentions("thermal_zone4/temp", "-40000000"));
  EXPECT_TRUE(mentions("littlecore-thermal", "empty"));
  EXPECT_TRUE(mentions("thermal_zone5/temp", "'warm'"));
  EXPECT_TRUE(mentions("policy4/scaling_cur_freq", "<unknown>"));
  EXPECT_TRUE(mentions("curr2_input", "'lots'"));
  EXPECT_TRUE(mentions("proc/stat", "not_a_number"));
  // Recovery: valid text again -> valid reading.
  t.put_sys("class/thermal/thermal_zone5/temp", "61000");
  p->read(&r);
  EXPECT_EQ(r.temp_mc[5].value, 61000);
}

TEST(SysfsPlatform, ClampActuationKeepsMinBelowMax) {
  FakeTree t;
  testing::make_rk3399(t);
  ManualClock clock;
  auto p = make(t, clock, /*userspace=*/false, /*restore=*/true);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->control(0), FreqControl::kClamp);  // schedutil: clamps
  ASSERT_EQ(p->control(2), FreqControl::kClamp);
  // The kernel rejects min > max, so the order of the two writes matters.
  WriteOrder order(t.sys() + "/" + kPol0);
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(p->set_freq_khz(0, 816000).ok());  // [408000, 1416000] -> floor up first
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_min_freq"), "816000");
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_max_freq"), "816000");
  EXPECT_EQ(order.take(), (std::vector<std::string>{"scaling_min_freq", "scaling_max_freq"}));
  ASSERT_TRUE(p->set_freq_khz(0, 1200000).ok());  // above the current max: ceiling first
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_min_freq"), "1200000");
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_max_freq"), "1200000");
  EXPECT_EQ(order.take(), (std::vector<std::string>{"scaling_max_freq", "scaling_min_freq"}));
  ASSERT_TRUE(p->set_freq_khz(0, 408000).ok());  // down: floor first
  EXPECT_EQ(order.take(), (std::vector<std::string>{"scaling_min_freq", "scaling_max_freq"}));
  ASSERT_TRUE(p->set_freq_khz(0, 1200000).ok());
  // devfreq is written in Hz.
  ASSERT_TRUE(p->set_freq_khz(2, 400000).ok());
  EXPECT_EQ(t.first_line(std::string(kGpu) + "min_freq"), "400000000");
  EXPECT_EQ(t.first_line(std::string(kGpu) + "max_freq"), "400000000");
  // Not an OPP / out of range / bad index: rejected without touching the files.
  Status st = p->set_freq_khz(0, 1000000);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("not one of its 6 OPPs"), std::string::npos) << st.message();
  EXPECT_EQ(p->set_freq_khz(7, 816000).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_min_freq"), "1200000");
  p.reset();  // restore on destroy
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_min_freq"), "408000");
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_max_freq"), "1416000");
  EXPECT_EQ(t.first_line(std::string(kGpu) + "min_freq"), "200000000");
  EXPECT_EQ(t.first_line(std::string(kGpu) + "max_freq"), "800000000");
}

TEST(SysfsPlatform, UserspaceGovernorAndSetspeed) {
  FakeTree t;
  testing::make_rk3399(t);
  ManualClock clock;
  auto p = make(t, clock, /*userspace=*/true);
  ASSERT_TRUE(p);
  EXPECT_EQ(t.first_line(std::string(kPol4) + "scaling_governor"), "userspace");
  EXPECT_EQ(t.first_line(std::string(kGpu) + "governor"), "userspace");
  ASSERT_EQ(p->control(1), FreqControl::kSetspeed);
  ASSERT_TRUE(p->set_freq_khz(1, 1608000).ok());
  EXPECT_EQ(t.first_line(std::string(kPol4) + "scaling_setspeed"), "1608000");
  ASSERT_TRUE(p->set_freq_khz(2, 600000).ok());
  EXPECT_EQ(t.first_line(std::string(kGpu) + "userspace/set_freq"), "600000000");
  EXPECT_EQ(t.first_line(std::string(kPol4) + "scaling_min_freq"), "408000");  // clamps untouched
  ASSERT_TRUE(p->restore().ok());
  EXPECT_EQ(t.first_line(std::string(kPol4) + "scaling_governor"), "schedutil");
  EXPECT_EQ(t.first_line(std::string(kGpu) + "governor"), "simple_ondemand");
  EXPECT_EQ(p->set_freq_khz(1, 1608000).code(), StatusCode::kUnavailable);
}

TEST(SysfsPlatform, AlreadyUserspaceUsesSetspeedWithoutTouchingTheGovernor) {
  FakeTree t;
  testing::make_rk3399(t);
  t.put_sys(std::string(kPol0) + "scaling_governor", "userspace");
  ManualClock clock;
  auto p = make(t, clock);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->control(0), FreqControl::kSetspeed);
  EXPECT_EQ(p->control(1), FreqControl::kClamp);
  ASSERT_TRUE(p->set_freq_khz(0, 600000).ok());
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_setspeed"), "600000");
  p.reset();  // the governor was not ours; the frequency it had (scaling_cur_freq 1416000) comes back
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_setspeed"), "1416000");
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_governor"), "userspace");
}

// Root ignores file modes, so a read-only attribute is simulated the way the kernel enforces it:
// a link to a real 0444 sysfs attribute, whose open for writing fails with EACCES even for root.
TEST(SysfsPlatform, ReadOnlyFilesReportTheFailureAndTheRestCarriesOn) {
  const std::string ro = "/sys/devices/system/cpu/online";
  if (!path_exists(ro)) GTEST_SKIP() << ro << " missing: no sysfs here";
  FakeTree t;
  testing::make_rk3399(t);
  t.link_sys(std::string(kPol4) + "scaling_max_freq", ro);
  t.link_sys(std::string(kGpu) + "governor", ro);
  ManualClock clock;
  auto p = make(t, clock, /*userspace=*/true);
  ASSERT_TRUE(p);
  // policy4 could switch to userspace: setspeed works. Its clamp file is not needed.
  EXPECT_EQ(p->control(1), FreqControl::kSetspeed);
  // The GPU governor cannot be written: falls back to clamps, and says so.
  EXPECT_EQ(p->control(2), FreqControl::kClamp);
  EXPECT_TRUE(std::any_of(p->notes().begin(), p->notes().end(), [](const std::string& n) {
    return n.find("ff9a0000.gpu/governor") != std::string::npos && n.find("using min/max clamps") != std::string::npos;
  }));

  FakeTree u;
  testing::make_rk3399(u);
  u.link_sys(std::string(kPol4) + "scaling_max_freq", ro);
  auto q = make(u, clock, /*userspace=*/false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->control(1), FreqControl::kNone);
  Status st = q->set_freq_khz(1, 1608000);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.to_string();
  EXPECT_EQ(q->control_status(1).code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("policy4/scaling_max_freq"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("unit cpu4"), std::string::npos) << st.message();
  // Other units still work, and reading still works.
  EXPECT_TRUE(q->set_freq_khz(0, 600000).ok());
  SensorReadings r;
  q->read(&r);
  EXPECT_TRUE(r.units[1].freq_khz.ok());
}

TEST(SysfsPlatform, WriteFailingAfterCreateIsReported) {
  FakeTree t;
  testing::make_rk3399(t);
  ManualClock clock;
  auto p = make(t, clock, /*userspace=*/true, /*restore=*/false);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->control(0), FreqControl::kSetspeed);
  // An attribute that cannot be opened for writing (here a directory: EISDIR) at create:
  // noted, and the unit falls back to clamps.
  t.remove_sys(std::string(kPol0) + "scaling_setspeed");
  std::filesystem::create_directories(t.sys() + "/" + kPol0 + "scaling_setspeed");
  auto q = make(t, clock, /*userspace=*/true, /*restore=*/false);
  ASSERT_TRUE(q);
  EXPECT_NE(q->control(0), FreqControl::kSetspeed);
  EXPECT_TRUE(std::any_of(q->notes().begin(), q->notes().end(), [](const std::string& n) {
    return n.find("policy0/scaling_setspeed") != std::string::npos;
  }));
  if (path_exists("/dev/full")) {
    // /dev/full fails every write with ENOSPC: the live-fd failure path.
    FakeTree u;
    testing::make_rk3399(u);
    u.put_sys(std::string(kPol0) + "scaling_governor", "userspace");
    u.link_sys(std::string(kPol0) + "scaling_setspeed", "/dev/full");
    auto f = make(u, clock);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->control(0), FreqControl::kSetspeed);
    Status st = f->set_freq_khz(0, 600000);
    EXPECT_EQ(st.code(), StatusCode::kIoError);
    EXPECT_NE(st.message().find("policy0/scaling_setspeed"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("'600000"), std::string::npos) << st.message();
  }
}

TEST(SysfsPlatform, VmHasLoadButNoFrequency) {
  FakeTree t;
  testing::make_vm(t);
  ManualClock clock;
  auto p = make(t, clock);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->num_units(), 2);
  EXPECT_TRUE(p->has_load());
  EXPECT_EQ(p->control(0), FreqControl::kNone);
  Status st = p->set_freq_khz(0, 1000000);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("cpu0"), std::string::npos);
  t.put_proc_stat({{682, 0, 605, 37436, 6, 0, 7, 2}, {883, 0, 908, 36810, 180, 0, 31, 6}});
  SensorReadings r;
  p->read(&r);
  EXPECT_EQ(r.units[0].freq_khz.error, ReadError::kUnavailable);
  EXPECT_EQ(r.units[0].max_freq_khz.error, ReadError::kUnavailable);
  EXPECT_EQ(r.num_zones, 0);
  EXPECT_EQ(r.num_power, 0);
  EXPECT_EQ(r.units[0].util_permille.value, 1000);
  EXPECT_EQ(r.units[1].util_permille.value, 0);
  EXPECT_TRUE(p->describe_errors(r).empty());  // missing sensors are not errors
}

TEST(SysfsPlatform, NoProcStatMeansNoLoadNotAFailure) {
  FakeTree t;
  testing::make_vm(t);
  std::filesystem::remove(t.proc() + "/stat");
  ManualClock clock;
  auto p = make(t, clock);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->has_load());
  SensorReadings r;
  p->read(&r);
  EXPECT_EQ(r.proc_stat, ReadError::kUnavailable);
  EXPECT_EQ(r.units[0].util_permille.error, ReadError::kUnavailable);
}

TEST(SysfsPlatform, ReadOnlyModeOpensNothingForWriting) {
  FakeTree t;
  testing::make_rk3399(t);
  ManualClock clock;
  LinuxOptions o;
  o.sysfs_root = t.sys();
  o.procfs_root = t.proc();
  o.clock = &clock;
  o.enable_actuation = false;
  o.take_userspace_governor = true;  // ignored when actuation is off
  auto p = LinuxPlatform::create(o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->control(0), FreqControl::kNone);
  EXPECT_EQ((*p)->set_freq_khz(0, 816000).code(), StatusCode::kUnavailable);
  EXPECT_EQ(t.first_line(std::string(kPol0) + "scaling_governor"), "schedutil");
}

}  // namespace
}  // namespace hetsched::runtime
