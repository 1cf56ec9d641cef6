// Parsers and the fd-cached attribute reader of the Linux sensing code.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cerrno>

#include "runtime/linux_proc_stat.hpp"
#include "runtime/sysfs_file.hpp"
#include "tests/runtime/fake_tree.hpp"

namespace hetsched::runtime {
namespace {

using testing::FakeTree;

TEST(SysfsParse, IntegersWithSysfsWhitespace) {
  std::int64_t v = 0;
  EXPECT_EQ(parse_int("1416000\n", &v), ReadError::kNone);
  EXPECT_EQ(v, 1416000);
  EXPECT_EQ(parse_int("  -5000 \n", &v), ReadError::kNone);
  EXPECT_EQ(v, -5000);
  EXPECT_EQ(parse_int("\n", &v), ReadError::kEmpty);
  EXPECT_EQ(parse_int("", &v), ReadError::kEmpty);
  EXPECT_EQ(parse_int("<unsupported>\n", &v), ReadError::kNotANumber);
  EXPECT_EQ(parse_int("45000abc", &v), ReadError::kNotANumber);
  EXPECT_EQ(parse_int("99999999999999999999999", &v), ReadError::kNotANumber);
  EXPECT_EQ(v, -5000);  // untouched on error
}

TEST(SysfsParse, CpuListsInBothKernelSpellings) {
  auto a = parse_cpu_list("0 1 2 3\n", "related_cpus");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::vector<int>{0, 1, 2, 3}));
  auto b = parse_cpu_list("0-3,6,8-9", "online");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<int>{0, 1, 2, 3, 6, 8, 9}));
  auto c = parse_cpu_list("", "online");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
  for (const char* bad : {"0-x", "3-1", "-1", "a b", "0-99999"}) {
    auto r = parse_cpu_list(bad, "policy0/related_cpus");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(r.status().message().find("policy0/related_cpus"), std::string::npos) << r.status().message();
  }
}

TEST(SysfsParse, HexCpuMasks) {
  auto a = parse_cpu_mask("0f\n", "core_siblings");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::vector<int>{0, 1, 2, 3}));
  auto b = parse_cpu_mask("00000001,00000030", "core_siblings");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<int>{4, 5, 32}));
  auto c = parse_cpu_mask("0", "core_siblings");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
  auto bad = parse_cpu_mask("0x3", "cpu2/topology/core_siblings");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cpu2/topology/core_siblings"), std::string::npos);
}

TEST(SysfsParse, IntListNamesTheBadToken) {
  auto ok = parse_int_list("408000 600000 816000 \n", "f");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 3u);
  auto bad = parse_int_list("408000 6OO000", "policy4/scaling_available_frequencies");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("6OO000"), std::string::npos);
  EXPECT_NE(bad.status().message().find("scaling_available_frequencies"), std::string::npos);
}

TEST(SysfsParse, LoadFormats) {
  std::int64_t v = -1;
  EXPECT_EQ(parse_load_permille("37@800000000Hz\n", &v), ReadError::kNone);
  EXPECT_EQ(v, 370);
  EXPECT_EQ(parse_load_permille("NPU load:  Core0: 60%, Core1: 30%, Core2:  0%,\n", &v), ReadError::kNone);
  EXPECT_EQ(v, 300);  // mean of 60, 30, 0 percent
  EXPECT_EQ(parse_load_permille("NPU load:  Core0:  7%,", &v), ReadError::kNone);
  EXPECT_EQ(v, 70);
  EXPECT_EQ(parse_load_permille("", &v), ReadError::kEmpty);
  EXPECT_EQ(parse_load_permille("x@800000000Hz", &v), ReadError::kNotANumber);
  EXPECT_EQ(parse_load_permille("130@800000000Hz", &v), ReadError::kOutOfRange);
  EXPECT_EQ(parse_load_permille("Core0: abc%", &v), ReadError::kNotANumber);
  EXPECT_EQ(parse_load_permille("garbage", &v), ReadError::kNotANumber);
}

TEST(SysfsParse, ErrnoMapping) {
  EXPECT_EQ(errno_status(EACCES, "write", "/sys/x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(errno_status(EPERM, "write", "/sys/x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(errno_status(EINVAL, "write", "/sys/x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(errno_status(ENOENT, "open", "/sys/x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(errno_status(EIO, "read", "/sys/x").code(), StatusCode::kIoError);
  const Status st = errno_status(EINVAL, "write '123' to", "/sys/devices/system/cpu/cpufreq/policy0/scaling_setspeed");
  EXPECT_NE(st.message().find("policy0/scaling_setspeed"), std::string::npos);
  EXPECT_NE(st.message().find("Invalid argument"), std::string::npos);
}

TEST(SysfsParse, ProcStatLinesAndUtilisation) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  CpuTickTable a, b;
  const char* s1 =
      "cpu  300 0 150 1550 0 0 0 0 0 0\n"
      "cpu0 100 0 50 850 0 0 0 0 0 0\n"
      "cpu1 200 0 100 700 0 0 0 0 0 0\n"
      "intr 1 2 3\n";
  EXPECT_EQ(parse_proc_stat(s1, &a), 2);
  EXPECT_EQ(a[0].total, 1000u);
  EXPECT_EQ(a[0].idle, 850u);
  EXPECT_EQ(a[2].state, ReadError::kUnavailable);
  // cpu0: 100 ticks, 25 busy (user 20 + system 5), idle 70 + iowait 5 -> 250 permille.
  // cpu1: 100 ticks, 100 busy -> 1000. guest (col 9) grows too but is already inside user.
  const char* s2 =
      "cpu  0 0 0 0 0 0 0 0 0 0\n"
      "cpu0 120 0 55 920 5 0 0 0 0 0\n"
      "cpu1 290 0 105 700 0 0 5 0 90 0\n";
  EXPECT_EQ(parse_proc_stat(s2, &b), 2);
  std::int64_t u = -1;
  const int c0[] = {0}, c1[] = {1}, both[] = {0, 1}, none[] = {5};
  ASSERT_EQ(util_permille(a, b, c0, &u), ReadError::kNone);
  EXPECT_EQ(u, 250);
  ASSERT_EQ(util_permille(a, b, c1, &u), ReadError::kNone);
  EXPECT_EQ(u, 1000);
  ASSERT_EQ(util_permille(a, b, both, &u), ReadError::kNone);
  EXPECT_EQ(u, 625);  // (25 + 100) / 200 core-ticks
  EXPECT_EQ(util_permille(a, b, none, &u), ReadError::kUnavailable);
  EXPECT_EQ(util_permille(a, a, c0, &u), ReadError::kOutOfRange);  // no tick elapsed
  EXPECT_EQ(util_permille(b, a, c0, &u), ReadError::kNoBaseline);  // counters went backwards
  CpuTickTable empty;
  EXPECT_EQ(util_permille(empty, b, c0, &u), ReadError::kNoBaseline);
}

TEST(SysfsParse, ProcStatMalformedLinesAreMarked) {
  CpuTickTable t;
  EXPECT_EQ(parse_proc_stat("cpu0 1 2 x 4\ncpu1 1 2 3 4\n", &t), 1);
  EXPECT_EQ(t[0].state, ReadError::kNotANumber);
  EXPECT_EQ(t[1].state, ReadError::kNone);
  EXPECT_EQ(parse_proc_stat("cpu0 1 2\n", &t), 0);  // fewer than four columns
  EXPECT_EQ(t[0].state, ReadError::kNotANumber);
  EXPECT_EQ(parse_proc_stat("cpu0 1 2 3 4", &t), 0);  // cut off: no newline
  EXPECT_EQ(parse_proc_stat("", &t), 0);
  EXPECT_EQ(parse_proc_stat("\n\n\n", &t), 0);
  CpuTickTable prev;
  EXPECT_EQ(parse_proc_stat("cpu0 1 2 3 4\ncpu1 1 2 3 4\n", &prev), 2);
  parse_proc_stat("cpu0 1 2 x 4\ncpu1 1 2 3 9\n", &t);
  std::int64_t u = 0;
  const int both[] = {0, 1};
  EXPECT_EQ(util_permille(prev, t, both, &u), ReadError::kNotANumber);
}

TEST(SysfsFile, PreadSeesNewContentAndReportsMalformedValues) {
  FakeTree t;
  t.put_sys("class/thermal/thermal_zone0/temp", "45000");
  auto f = SysfsFile::open_read(t.sys() + "/class/thermal/thermal_zone0/temp");
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  std::int64_t v = 0;
  ASSERT_EQ(f->read_int(-50000, 150000, &v), ReadError::kNone);
  EXPECT_EQ(v, 45000);
  t.put_sys("class/thermal/thermal_zone0/temp", "71250");  // same inode, rewritten
  ASSERT_EQ(f->read_int(-50000, 150000, &v), ReadError::kNone);
  EXPECT_EQ(v, 71250);
  t.put("sys/class/thermal/thermal_zone0/temp", "");
  EXPECT_EQ(f->read_int(-50000, 150000, &v), ReadError::kEmpty);
  t.put_sys("class/thermal/thermal_zone0/temp", "hot");
  EXPECT_EQ(f->read_int(-50000, 150000, &v), ReadError::kNotANumber);
  EXPECT_NE(f->describe(ReadError::kNotANumber, "m°C").find("'hot'"), std::string::npos);
  t.put_sys("class/thermal/thermal_zone0/temp", "-273000");
  EXPECT_EQ(f->read_int(-50000, 150000, &v), ReadError::kOutOfRange);
  const std::string d = f->describe(ReadError::kOutOfRange, "m°C");
  EXPECT_NE(d.find("thermal_zone0/temp"), std::string::npos) << d;
  EXPECT_NE(d.find("-273000"), std::string::npos) << d;
  t.put_sys("class/thermal/thermal_zone0/temp", std::string(200, '7'));  // longer than any integer
  EXPECT_EQ(f->read_int(-50000, 150000, &v), ReadError::kNotANumber);
  EXPECT_EQ(v, 71250);
}

TEST(SysfsFile, OpenFailuresAreClassified) {
  FakeTree t;
  auto missing = SysfsFile::open_read(t.sys() + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.status().message().find("/nope"), std::string::npos);
  std::filesystem::create_directories(t.sys() + "/dir");
  auto dir = SysfsFile::open_write(t.sys() + "/dir");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kIoError);  // EISDIR
  SysfsFile closed;
  std::int64_t v = 0;
  EXPECT_EQ(closed.read_int(0, 1, &v), ReadError::kUnavailable);
  EXPECT_EQ(closed.write_int(5).code(), StatusCode::kUnavailable);
}

TEST(SysfsFile, FifoNeverHangs) {
  // Real sysfs has no FIFOs, but a wrong root might: opening and reading must not block.
  FakeTree t;
  const std::string fifo = t.sys() + "/temp";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto f = SysfsFile::open_read(fifo);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  std::int64_t v = 0;
  EXPECT_EQ(f->read_int(0, 100, &v), ReadError::kIo);  // pread on a pipe: ESPIPE
  EXPECT_FALSE(f->describe(ReadError::kIo, "m°C").empty());
  auto text = read_text(fifo);
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(text->empty());
  auto w = SysfsFile::open_write(fifo);  // `f` is a reader, so this opens without blocking
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->write_int(5).code(), StatusCode::kIoError);  // pwrite on a pipe: ESPIPE
  *f = SysfsFile();  // close the only reader
  w = SysfsFile::open_write(fifo);
  EXPECT_FALSE(w.ok());  // no reader: ENXIO instead of blocking
}

TEST(SysfsFile, ListDirSortsNaturally) {
  FakeTree t;
  for (const char* z : {"thermal_zone10", "thermal_zone2", "thermal_zone0", "cooling_device0"})
    std::filesystem::create_directories(t.sys() + "/class/thermal/" + z);
  auto zones = list_dir(t.sys() + "/class/thermal", "thermal_zone");
  EXPECT_EQ(zones, (std::vector<std::string>{"thermal_zone0", "thermal_zone2", "thermal_zone10"}));
  EXPECT_TRUE(list_dir(t.sys() + "/absent", "x").empty());
}

}  // namespace
}  // namespace hetsched::runtime
