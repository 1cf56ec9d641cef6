// End-to-end tests of `hetsched trace ...` through the real executable (HETSCHED_BINARY).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct CliRun {
  int code = -1;
  std::string out, err;
};

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string tmp(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "hetsched_cli_" + info->name() + "_" + name;
}

// Runs `hetsched <args>` (args already shell-safe) capturing stdout, stderr and the exit code.
CliRun hs(const std::string& args) {
  const std::string out = tmp("stdout"), err = tmp("stderr");
  const std::string cmd = std::string("'") + HETSCHED_BINARY + "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int st = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// "  temp_mc              18000" -> 18000 (the per-kind count in the summary).
long count_in_summary(const std::string& summary, const std::string& kind) {
  for (const auto& l : lines(summary)) {
    std::istringstream in(l);
    std::string k;
    long n = -1;
    if (in >> k >> n && k == kind) return n;
  }
  return -1;
}

TEST(TraceCli, RecordThenInfoPrintsTheSameSummary) {
  const std::string f = tmp("a.trace");
  CliRun rec = hs("trace record --out '" + f + "' --seconds 3 --seed 5");
  ASSERT_EQ(rec.code, 0) << rec.err;
  EXPECT_TRUE(rec.err.empty()) << rec.err;
  EXPECT_NE(rec.out.find("integrity:  clean"), std::string::npos) << rec.out;
  EXPECT_NE(rec.out.find("platform:   toy4"), std::string::npos);
  EXPECT_NE(rec.out.find("seeds:      5"), std::string::npos);
  EXPECT_EQ(count_in_summary(rec.out, "freq_khz"), 4 * 300);  // 4 domains x 100 Hz x 3 s
  EXPECT_EQ(count_in_summary(rec.out, "temp_mc"), 3 * 300);   // 3 zones
  CliRun info = hs("trace info '" + f + "'");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_EQ(info.out, rec.out);
}

TEST(TraceCli, RecordIsDeterministicPerSeed) {
  const std::string a = tmp("a.trace"), b = tmp("b.trace"), c = tmp("c.trace");
  ASSERT_EQ(hs("trace record --out '" + a + "' --seconds 2 --seed 9").code, 0);
  ASSERT_EQ(hs("trace record --out '" + b + "' --seconds 2 --seed 9").code, 0);
  ASSERT_EQ(hs("trace record --out '" + c + "' --seconds 2 --seed 10").code, 0);
  EXPECT_EQ(read_file(a), read_file(b));
  EXPECT_NE(read_file(a), read_file(c));
}

TEST(TraceCli, SmallRingRecordsDrops) {
  const std::string f = tmp("d.trace");
  CliRun rec = hs("trace record --out '" + f + "' --seconds 2 --ring 16");
  ASSERT_EQ(rec.code, 0) << rec.err;
  const auto pos = rec.out.find("dropped:    ");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_GT(std::stol(rec.out.substr(pos + 12)), 0) << rec.out;
}

TEST(TraceCli, DumpJsonlKindFilter) {
  const std::string f = tmp("j.trace");
  CliRun rec = hs("trace record --out '" + f + "' --seconds 3");
  ASSERT_EQ(rec.code, 0);
  CliRun d = hs("trace dump '" + f + "' --format jsonl --kind temp_mc");
  ASSERT_EQ(d.code, 0) << d.err;
  const auto ls = lines(d.out);
  EXPECT_EQ(static_cast<long>(ls.size()), count_in_summary(rec.out, "temp_mc"));
  std::int64_t last_t = -1;
  for (const auto& l : ls) {
    const auto j = nlohmann::json::parse(l);  // every line is one JSON object
    ASSERT_EQ(j.at("kind"), "temp_mc");
    const std::string src = j.at("source");
    EXPECT_TRUE(src == "cpu_thermal" || src == "gpu_thermal" || src == "npu_thermal") << src;
    EXPECT_GT(j.at("value").get<double>(), 10'000);  // milli-degrees: a toy board is above 10 C
    EXPECT_GE(j.at("t_ns").get<std::int64_t>(), last_t);
    last_t = j.at("t_ns");
  }
  CliRun ev = hs("trace dump '" + f + "' --format jsonl --kind event.config_applied --kind decision");
  ASSERT_EQ(ev.code, 0);
  const auto el = lines(ev.out);
  ASSERT_GE(el.size(), 4u);  // one config event + 3 decisions (one per second)
  const auto first = nlohmann::json::parse(el[0]);
  EXPECT_EQ(first.at("kind"), "event.config_applied");
  EXPECT_EQ(first.at("text"), "BGN");
  int decisions = 0;
  for (const auto& l : el) {
    const auto j = nlohmann::json::parse(l);
    if (j.at("kind") == "decision") {
      ++decisions;
      EXPECT_EQ(j.at("observation").size(), 4u);
    }
  }
  EXPECT_EQ(decisions, 3);
}

TEST(TraceCli, DumpCsvHasOneRowPerRecord) {
  const std::string f = tmp("c.trace");
  CliRun rec = hs("trace record --out '" + f + "' --seconds 1");
  ASSERT_EQ(rec.code, 0);
  CliRun d = hs("trace dump '" + f + "'");
  ASSERT_EQ(d.code, 0);
  const auto ls = lines(d.out);
  ASSERT_FALSE(ls.empty());
  EXPECT_EQ(ls[0], "t_ns,kind,source,value,text");
  auto total = [&](const char* key) {
    const auto p = rec.out.find(key);
    return p == std::string::npos ? -1L : std::stol(rec.out.substr(p + 12));
  };
  EXPECT_EQ(static_cast<long>(ls.size()) - 1, total("samples:   ") + total("events:    ") + total("decisions: "));
}

TEST(TraceCli, DamagedFilesAreReportedNotFatal) {
  const std::string f = tmp("t.trace");
  ASSERT_EQ(hs("trace record --out '" + f + "' --seconds 5").code, 0);
  std::string bytes = read_file(f);
  bytes.resize(bytes.size() * 2 / 3);  // cut mid-file
  std::ofstream(f, std::ios::binary | std::ios::trunc) << bytes;
  CliRun info = hs("trace info '" + f + "'");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("integrity:  TRUNCATED (no final chunk)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("skipped bytes ["), std::string::npos);
  CliRun d = hs("trace dump '" + f + "' --kind fps");
  EXPECT_EQ(d.code, 0);
  EXPECT_NE(d.err.find("warning"), std::string::npos);
}

TEST(TraceCli, UsageErrorsExit2WithOneLine) {
  const std::string f = tmp("u.trace");
  ASSERT_EQ(hs("trace record --out '" + f + "' --seconds 1").code, 0);
  const std::vector<std::string> cases = {
       "trace", "trace bogus", "trace info", "trace info a b", "trace dump", "trace dump '" + f + "' --format xml",
        "trace dump '" + f + "' --kind nope", "trace dump '" + f + "' --frobnicate", "trace record",
        "trace record --out x --seconds -1", "trace record --out x --seconds abc", "trace record --out x --seed -3",
        "trace record --out x --ring 1", "trace record --out"};
  for (const std::string& args : cases) {
    CliRun r = hs(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("hetsched: ", 0), 0u) << r.err;
  }
  EXPECT_EQ(hs("trace --help").code, 0);
  EXPECT_EQ(hs("trace dump --help").code, 0);
}

TEST(TraceCli, RuntimeErrorsExit1WithOneLine) {
  CliRun missing = hs("trace info '" + tmp("missing.trace") + "'");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;
  EXPECT_EQ(lines(missing.err).size(), 1u);

  const std::string txt = tmp("x.txt");
  std::ofstream(txt) << "time,value\n1,2\n";
  CliRun bad = hs("trace dump '" + txt + "'");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "hetsched: " + txt + ": not a hetsched trace (bad magic)\n");

  const std::string empty = tmp("e.trace");
  std::ofstream(empty).close();
  CliRun e = hs("trace info '" + empty + "'");
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.err.find("empty file"), std::string::npos);

  CliRun unwritable = hs("trace record --out /nonexistent_dir_hetsched/x.trace --seconds 1");
  EXPECT_EQ(unwritable.code, 1);
  EXPECT_NE(unwritable.err.find("cannot create"), std::string::npos) << unwritable.err;
}

}  // namespace
