// Configurations "ORDER:HOSTS:FREQS": grouping expansion, both frequency modes, round trips
// and each error case. The platform is built in code (an RK3399Pro-like board) so these tests
// do not depend on the platform files.
#include <gtest/gtest.h>

#include <random>

#include "policies/config.hpp"

namespace hetsched::policies {
namespace {

const std::string kSrc = HETSCHED_SOURCE_DIR;

PlatformDesc rockpi() {
  PlatformDesc p;
  p.name = "rockpi_n10";
  auto opps = [](int n) {
    std::vector<Opp> v;
    for (int i = 0; i < n; ++i) v.push_back({408000 + 200000 * i, 800000 + 25000 * i});
    return v;
  };
  p.units.push_back({'L', "Cortex-A53 x4", UnitKind::kCpu, 4, {0, 1, 2, 3}, opps(6), "", "cpufreq/policy0", ""});
  p.units.push_back({'B', "Cortex-A72 x2", UnitKind::kCpu, 2, {4, 5}, opps(8), "", "cpufreq/policy4", ""});
  p.units.push_back({'G', "Mali-T860 MP4", UnitKind::kGpu, 4, {}, opps(5), "LB", "devfreq/ff9a0000.gpu", ""});
  p.units.push_back({'N', "RK3399Pro NPU", UnitKind::kNpu, 1, {}, {}, "LB", "", ""});
  return p;
}

ModelDesc model(const std::string& name) {
  Result<ModelDesc> m = load_model(kSrc + "/env/models/" + name + ".json");
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? m.value() : ModelDesc{};
}

std::string err(const std::string& text, const std::string& m = "googlenet") {
  Result<Config> c = parse_config(text, rockpi(), model(m));
  return c.ok() ? std::string("OK") : c.status().message();
}

TEST(ExpandOrder, CoarseGroupingMapsToBlocks) {
  const ModelDesc g = model("googlenet");
  // coup11 ends [1,3,4,...,11,13]: letter 1 covers conv2_reduce+conv2, letter 10 covers 5b+classifier.
  Result<std::string> e = expand_order(g, "LBGNLBGNLBG");
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e.value(), "LBBGNLBGNLBGG");
  EXPECT_EQ(expand_order(g, "LBBGNLBGNLBGG").value(), "LBBGNLBGNLBGG");  // block level is the identity

  const ModelDesc m = model("mobilenet_v1");
  EXPECT_EQ(expand_order(m, "LBBBBBBBBBBBBG").value(), "L" + std::string(24, 'B') + "GGG");
}

TEST(ExpandOrder, WrongLengthListsTheAcceptedOnes) {
  Result<std::string> e = expand_order(model("googlenet"), "BBBBBBBBBBBB");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "order: 12 letters, but model googlenet takes 13 (blocks) or 11 (coup11) letters");
  EXPECT_FALSE(expand_order(model("googlenet"), "").ok());
  EXPECT_EQ(expand_order(model("alexnet"), "BBB?BBBB").status().message(),
            "order[3]: '?' is not a unit letter (L, B, G, N ...)");
}

TEST(ParseConfig, PipelineModeRoundTrip) {
  const PlatformDesc p = rockpi();
  const ModelDesc g = model("googlenet");
  Result<Config> c = parse_config("BBBBGGGGGNNNN:BL:5,7,4", p, g);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_FALSE(c->per_block_freq);
  EXPECT_EQ(c->order(), "BBBBGGGGGNNNN");
  EXPECT_EQ(c->gpu_host, 'B');
  EXPECT_EQ(c->npu_host, 'L');
  EXPECT_EQ(c->freq_idx[0], 5);
  EXPECT_EQ(c->freq_idx[1], 7);
  EXPECT_EQ(c->freq_idx[2], 4);
  EXPECT_EQ(c->freq_idx[3], -1);  // the NPU has no DVFS
  EXPECT_EQ(format_config(c.value(), p), "BBBBGGGGGNNNN:BL:5,7,4");
  Result<Config> again = parse_config(format_config(c.value(), p), p, g);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), c.value());
  EXPECT_TRUE(validate_config(c.value(), p, g).ok());
}

TEST(ParseConfig, GroupedOrderFormatsAtBlockLevel) {
  const PlatformDesc p = rockpi();
  const ModelDesc g = model("googlenet");
  Result<Config> c = parse_config("LBGNLBGNLBG:LB:max,min,2", p, g);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(format_config(c.value(), p), "LBBGNLBGNLBGG:LB:5,0,2");
  EXPECT_EQ(parse_config(format_config(c.value(), p), p, g).value(), c.value());
}

TEST(ParseConfig, SwitchModeRoundTrip) {
  const PlatformDesc p = rockpi();
  const ModelDesc m = model("mobilenet_v1");
  // 14 letters (coup14): CPU blocks take their own index, G blocks own/host, N blocks the host's.
  const std::string text = "BBBBGGGGNNNNLL:BL:7,7,6,6,4/7,4/7,3/6,3/6,5,5,4,4,3,3";
  Result<Config> c = parse_config(text, p, m);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE(c->per_block_freq);
  EXPECT_EQ(c->num_blocks, 28);
  // Group 4 (first G) = blocks 7,8; group 8 (first N) = blocks 15,16; last group = blocks 25..27.
  EXPECT_EQ(c->unit[7], 'G');
  EXPECT_EQ(c->block_freq[7], 4);
  EXPECT_EQ(c->block_host_freq[8], 7);
  EXPECT_EQ(c->unit[15], 'N');
  EXPECT_EQ(c->block_freq[15], 5);  // host L's index
  EXPECT_EQ(c->block_host_freq[15], -1);
  EXPECT_EQ(c->block_freq[27], 3);
  EXPECT_EQ(c->block_host_freq[27], -1);
  const std::string f = format_config(c.value(), p);
  EXPECT_EQ(f.substr(0, 30), "BBBBBBBGGGGGGGGNNNNNNNNLLLLL:B");
  Result<Config> again = parse_config(f, p, m);
  ASSERT_TRUE(again.ok()) << again.status().to_string() << " for " << f;
  EXPECT_EQ(again.value(), c.value());
}

TEST(ParseConfig, ErrorsNameTheCharacterOrItem) {
  EXPECT_EQ(err("BBBBBXBBBBBBB:BL:5,7,4"), "order[5]: unit 'X' is not on platform rockpi_n10 (units: L B G N)");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL:5,9,4"), "freqs[1]: OPP index 9 out of range 0..7 for unit B");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL:6,7,4"), "freqs[0]: OPP index 6 out of range 0..5 for unit L");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL:5,7,-1"), "freqs[2]: OPP index -1 out of range 0..4 for unit G");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL:5,x7,4"), "freqs[1]: 'x7' is not an OPP index (integer, max, min or -)");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL:5,,4"), "freqs[1]: '' is not an OPP index (integer, max, min or -)");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL:5,7"),
            "freqs: 2 values; expected 3 (pipeline mode: one per DVFS unit L B G) or 13 (switch mode: one per order letter)");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL:"), "freqs: empty (OPP indices, see docs/models.md)");
  EXPECT_EQ(err("BBBBBBBBBBBBB:GL:5,7,4"), "hosts[0]: 'G' is not a CPU unit on platform rockpi_n10 (units: L B G N)");
  EXPECT_EQ(err("BBBBBBBBBBBBB:B:5,7,4"), "hosts: expected 2 letters (GPU host, NPU host), got 'B'");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL"), "config 'BBBBBBBBBBBBB:BL': expected ORDER:HOSTS:FREQS (3 fields separated by ':'), got 2");
  EXPECT_EQ(err("BBBBBBBBBBBBB:BL:5,7,4:1"),
            "config 'BBBBBBBBBBBBB:BL:5,7,4:1': expected ORDER:HOSTS:FREQS (3 fields separated by ':'), got 4");
  EXPECT_EQ(err("BBBBBBBBBBBB:BL:5,7,4"), "order: 12 letters, but model googlenet takes 13 (blocks) or 11 (coup11) letters");
  EXPECT_EQ(err(":BL:5,7,4"), "order: empty (one unit letter per block or group)");
}

TEST(ParseConfig, SwitchModeErrors) {
  // googlenet coup11 letters: items are per letter.
  EXPECT_EQ(err("BGNBBBBBBBB:BL:7,4,5,7,7,7,7,7,7,7,7"), "freqs[1]: '4': a G block takes OWN/HOST OPP indices, e.g. 4/7");
  EXPECT_EQ(err("BGNBBBBBBBB:BL:7,4/7,5/5,7,7,7,7,7,7,7,7"),
            "freqs[2]: '5/5': unit N has no DVFS; give only the host's OPP index");
  EXPECT_EQ(err("BGNBBBBBBBB:BL:7,4/7,6,7,7,7,7,7,7,7,7"), "freqs[2].host: OPP index 6 out of range 0..5 for unit L");
  EXPECT_EQ(err("BGNBBBBBBBB:LL:7,4/7,5,7,7,7,7,7,7,7,7"), "freqs[1].host: OPP index 7 out of range 0..5 for unit L");
  EXPECT_EQ(err("BGNBBBBBBBB:BL:7/1,4/7,5,7,7,7,7,7,7,7,7"), "freqs[0]: '7/1': a CPU block (B) takes one OPP index");
  EXPECT_EQ(err("BGNBBBBBBBB:BL:7,4/7,5,7,7,7,7,7,7,7,7"), "OK");
}

TEST(ValidateConfig, ChecksBuiltConfigs) {
  const PlatformDesc p = rockpi();
  const ModelDesc a = model("alexnet");
  Config c = parse_config("BBBBBBBB:BL:5,7,4", p, a).value();
  EXPECT_TRUE(validate_config(c, p, a).ok());

  Config bad = c;
  bad.num_blocks = 7;
  EXPECT_EQ(validate_config(bad, p, a).message(), "num_blocks: 7 but model alexnet has 8 blocks");
  bad = c;
  bad.unit[3] = 'Q';
  EXPECT_EQ(validate_config(bad, p, a).message(), "unit[3]: unit 'Q' is not on platform rockpi_n10 (units: L B G N)");
  bad = c;
  bad.freq_idx[1] = 8;
  EXPECT_EQ(validate_config(bad, p, a).message(), "freq_idx[1]: OPP index 8 out of range 0..7 for unit B");
  bad = c;
  bad.freq_idx[3] = 0;  // NPU: no DVFS, must stay -1
  EXPECT_EQ(validate_config(bad, p, a).message(),
            "freq_idx[3]: unit N has no DVFS; its frequency must be '-' (-1), got 0");
  bad = c;
  bad.npu_host = 'N';
  EXPECT_EQ(validate_config(bad, p, a).message(), "npu_host: 'N' is not a CPU unit on platform rockpi_n10 (units: L B G N)");

  Config sw = parse_config("LBGNLBGN:BB:5,7,4/7,7,5,7,4/7,7", p, a).value();
  EXPECT_TRUE(validate_config(sw, p, a).ok());
  sw.block_host_freq[0] = 3;
  EXPECT_EQ(validate_config(sw, p, a).message(), "block_host_freq[0]: must be -1 for a CPU block");
}

TEST(ValidateConfig, GpuHostMustBeAllowedByTheGpu) {
  PlatformDesc p = rockpi();
  p.units[2].hosts = "B";  // a board where only the big cluster drives the GPU
  Result<Config> c = parse_config("BBBBBBBB:LB:5,7,4", p, model("alexnet"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "hosts[0]: 'L' cannot host the GPU on platform rockpi_n10 (allowed: B)");
}

TEST(ParseConfig, RandomTextNeverCrashesAndValidResultsRoundTrip) {
  // Property: any string either fails with a message or parses into a Config that formats
  // and re-parses to itself.
  const PlatformDesc p = rockpi();
  const ModelDesc a = model("alexnet");
  const std::string alphabet = "LBGNX:,/0123456789-max";
  std::mt19937 rng(12345);
  int ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    if (i % 2 == 0) {
      // Near-valid shape so a fair share parses.
      for (int k = 0; k < 8; ++k) s += "LBGN"[rng() % 4];
      s += ":";
      s += "LB"[rng() % 2];
      s += "LB"[rng() % 2];
      s += ":" + std::to_string(rng() % 7) + "," + std::to_string(rng() % 9) + "," + std::to_string(rng() % 6);
    } else {
      const size_t n = rng() % 30;
      for (size_t k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    }
    Result<Config> c = parse_config(s, p, a);
    if (!c.ok()) {
      EXPECT_FALSE(c.status().message().empty()) << s;
      continue;
    }
    ++ok;
    const std::string f = format_config(c.value(), p);
    Result<Config> again = parse_config(f, p, a);
    ASSERT_TRUE(again.ok()) << s << " -> " << f << ": " << again.status().message();
    EXPECT_EQ(again.value(), c.value()) << s;
  }
  EXPECT_GT(ok, 200);  // the generator must actually exercise the success path
}

}  // namespace
}  // namespace hetsched::policies
