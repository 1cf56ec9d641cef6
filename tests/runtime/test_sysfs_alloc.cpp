// LinuxPlatform::read() and to_samples() allocate nothing after create().
//
// How: this file interposes malloc/calloc/realloc (glibc exports __libc_malloc & co.) and counts
// calls made from the measuring thread; operator new ends in malloc. The definitions are weak so
// that another test of this binary may interpose too without a link clash; if theirs wins, the
// canary below sees no count and these tests skip instead of proving nothing.
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "runtime/linux_samples.hpp"
#include "tests/runtime/fake_tree.hpp"

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);

namespace {
thread_local long t_allocs = 0;
void* volatile g_sink = nullptr;
}  // namespace

extern "C" __attribute__((weak)) void* malloc(std::size_t n) {
  ++t_allocs;
  return __libc_malloc(n);
}
extern "C" __attribute__((weak)) void* calloc(std::size_t n, std::size_t s) {
  ++t_allocs;
  return __libc_calloc(n, s);
}
extern "C" __attribute__((weak)) void* realloc(void* p, std::size_t n) {
  ++t_allocs;
  return __libc_realloc(p, n);
}

namespace hetsched::runtime {
namespace {

bool counter_works() {
  const long before = t_allocs;
  std::vector<char> v(1000);
  g_sink = v.data();
  return t_allocs > before;
}

void check_read_path(const std::string& layout) {
  if (!counter_works()) GTEST_SKIP() << "malloc is interposed by another test file";
  testing::FakeTree t;
  if (layout == "rk3588") testing::make_rk3588(t);
  else testing::make_vm(t);
  ManualClock clock;
  LinuxOptions o;
  o.sysfs_root = t.sys();
  o.procfs_root = t.proc();
  o.clock = &clock;
  auto p = LinuxPlatform::create(o);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  telemetry::SourceTable table;
  auto src = register_sources(**p, &table);
  ASSERT_TRUE(src.ok());
  SensorReadings r;
  std::vector<telemetry::Sample> out(2 * kMaxLinuxUnits + kMaxLinuxZones + kMaxLinuxPower);
  // Include the error paths: a malformed temperature and an empty GPU load.
  if (layout == "rk3588") {
    t.put_sys("class/thermal/thermal_zone2/temp", "garbage");
    t.put("sys/class/devfreq/fb000000.gpu/load", "");
  }
  const long before = t_allocs;
  std::size_t n = 0;
  for (int i = 0; i < 50; ++i) {
    clock.advance_ns(10'000'000);
    (*p)->read(&r);
    n += to_samples(r, *src, out);
  }
  const long used = t_allocs - before;
  EXPECT_EQ(used, 0) << layout;
  EXPECT_EQ(r.proc_stat, ReadError::kNone);  // the /proc/stat read and parse ran every time
  if (layout == "rk3588") {
    EXPECT_GT(n, 0u);  // the VM has no frequency and an unchanging fake load
  }
}

TEST(SysfsAlloc, ReadAndToSamplesRk3588) { check_read_path("rk3588"); }
TEST(SysfsAlloc, ReadAndToSamplesVm) { check_read_path("vm"); }

}  // namespace
}  // namespace hetsched::runtime
