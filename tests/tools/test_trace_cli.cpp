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

// A small ARM-CO-UP-shaped measurement (the real ones are in ../shared/calibration/armcoup/*/raw/).
void write_armcoup(const std::string& dir, const std::string& tag, const std::string& power, const std::string& order) {
  std::ofstream(dir + "/power_" + tag + ".csv") << power;
  std::ofstream(dir + "/time_" + tag + ".txt") << "Threads : 2\nOrder is : " << order
                                               << "\nGPU host is: B\nNPU host is: L\nPhoto_index:0\tFrame Index:0\n"
                                                  "Layer Number: 0 \t time: 15.9687\nAVG Latency: 228.447\n";
}

TEST(TraceCli, ImportArmcoupPowerAndLogBecomeATrace) {
  const std::string dir = tmp("armcoup");
  std::system(("mkdir -p '" + dir + "'").c_str());
  write_armcoup(dir, "MobileV1_BBNN", "1,4487,3000.00\n1,4489,5380.00\n0,4490,4710.50\n0,4491,4720\n1,4493,5000\n", "BBNN");
  const std::string out = tmp("imp.trace");
  CliRun r = hs("trace import-armcoup '" + dir + "/power_MobileV1_BBNN.csv' '" + dir + "/time_MobileV1_BBNN.txt' --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("imported 5 power samples, 3 GPIO edges, 3 log events"), std::string::npos) << r.out;
  CliRun info = hs("trace info '" + out + "'");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_EQ(count_in_summary(info.out, "board_power_mw"), 5);
  EXPECT_NE(info.out.find("mode=import"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("source_power=" + dir + "/power_MobileV1_BBNN.csv"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("model:      mobilenet_v1"), std::string::npos) << info.out;
  CliRun dump = hs("trace dump '" + out + "' --kind board_power_mw");
  ASSERT_EQ(dump.code, 0);
  EXPECT_NE(dump.out.find("4490000000,board_power_mw,board,4710.5"), std::string::npos) << dump.out;
  CliRun ev = hs("trace dump '" + out + "' --kind event");
  EXPECT_NE(ev.out.find("\"BBNN:BL\""), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("gpio 0"), std::string::npos);
  EXPECT_NE(ev.out.find("time_MobileV1_BBNN.txt:7"), std::string::npos) << ev.out;  // AVG Latency line
  CliRun rep = hs("replay '" + out + "'");
  EXPECT_EQ(rep.code, 1);
  EXPECT_NE(rep.err.find("no decisions to replay"), std::string::npos) << rep.err;

  // Bad input names the file and line; nothing is left behind.
  const std::string bad = tmp("bad.trace");
  write_armcoup(dir, "MobileV1_BB", "1,10,100\n1,9,100\n", "BB");
  r = hs("trace import-armcoup '" + dir + "/power_MobileV1_BB.csv' '" + dir + "/time_MobileV1_BB.txt' --out '" + bad + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("power_MobileV1_BB.csv:2: time goes backwards"), std::string::npos) << r.err;
  EXPECT_FALSE(std::ifstream(bad).good());
  for (const char* power : {"2,10,100\n", "1,abc,100\n", "1,10\n", "1,10,-5\n", "1,10,100,7\n"}) {
    write_armcoup(dir, "MobileV1_BB", std::string("1,1,1\n") + power, "BB");
    r = hs("trace import-armcoup '" + dir + "/power_MobileV1_BB.csv' '" + dir + "/time_MobileV1_BB.txt' --out '" + bad + "'");
    EXPECT_EQ(r.code, 1) << power;
    EXPECT_NE(r.err.find("power_MobileV1_BB.csv:2:"), std::string::npos) << r.err;
  }
  // Power file and log of different runs.
  r = hs("trace import-armcoup '" + dir + "/power_MobileV1_BBNN.csv' '" + dir + "/time_MobileV1_BB.txt' --out '" + bad + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("different runs"), std::string::npos) << r.err;
  write_armcoup(dir, "MobileV1_GG", "1,1,1\n", "BB");  // the tag says GG, the log says BB
  r = hs("trace import-armcoup '" + dir + "/power_MobileV1_GG.csv' '" + dir + "/time_MobileV1_GG.txt' --out '" + bad + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("time_MobileV1_GG.txt:2: order 'BB' does not match"), std::string::npos) << r.err;
  std::ofstream(dir + "/console.log") << "hello\n";  // no run tag: only its content is checked
  r = hs("trace import-armcoup '" + dir + "/power_MobileV1_BB.csv' '" + dir + "/console.log' --out '" + bad + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not an ARM-CO-UP time log"), std::string::npos) << r.err;
  EXPECT_EQ(hs("trace import-armcoup '" + dir + "/power_MobileV1_BB.csv'").code, 2);
  EXPECT_EQ(hs("trace import-armcoup a b").code, 2);  // no --out
}

TEST(TraceCli, ImportArmcoupRealMeasurementWhenAvailable) {
  const std::string raw = std::string(HETSCHED_SOURCE_DIR) + "/../shared/calibration/armcoup/rockpi_n10/raw";
  if (!std::ifstream(raw + "/power_MobileV1_BBBBBBBBBBBBBB.csv").good()) GTEST_SKIP() << "no calibration data at " << raw;
  const std::string out = tmp("real.trace");
  CliRun r = hs("trace import-armcoup '" + raw + "/power_MobileV1_BBBBBBBBBBBBBB.csv' '" + raw +
                "/time_MobileV1_BBBBBBBBBBBBBB.txt' --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  CliRun info = hs("trace info '" + out + "'");
  EXPECT_EQ(count_in_summary(info.out, "board_power_mw"), 87379);  // one sample per line of the file
  EXPECT_NE(info.out.find("platform:   rockpi_n10"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("integrity:  clean"), std::string::npos);
}

}  // namespace
