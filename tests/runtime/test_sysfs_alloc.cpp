// LinuxPlatform::read() and to_samples() allocate nothing after create().
//
// How: this file replaces the global operator new / new[] with versions that count calls made
// from the measuring thread (our code allocates only through new: std::string, std::vector).
// malloc itself is interposed by test_executor.cpp in this binary, so we count one level up.
// The definitions are weak so a later replacement elsewhere in the binary cannot clash at link
// time; if one wins, the canary below sees no count and these tests skip instead of proving nothing.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#include "runtime/linux_samples.hpp"
#include "tests/runtime/fake_tree.hpp"

namespace {
thread_local long t_allocs = 0;
void* volatile g_sink = nullptr;

void* counted_new(std::size_t n) {
  ++t_allocs;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

__attribute__((weak)) void* operator new(std::size_t n) { return counted_new(n); }
__attribute__((weak)) void* operator new[](std::size_t n) { return counted_new(n); }
__attribute__((weak)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((weak)) void operator delete[](void* p) noexcept { std::free(p); }
__attribute__((weak)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
__attribute__((weak)) void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

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
