// CSV reader, ARM-CO-UP config parsing and the pipeline/switch accounting of predict_*.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <gtest/gtest.h>

#include "env/calib_data.hpp"
#include "env/cost_model.hpp"
#include "env/csv.hpp"

using namespace hetsched;

namespace {
const std::string kDir = HETSCHED_SOURCE_DIR;
struct Fixture {
  policies::PlatformDesc p;
  policies::ModelDesc m;
  std::unique_ptr<env::CostModel> c;
};
Fixture load(const std::string& model) {
  Fixture f;
  f.p = *policies::load_platform_by_name(kDir, "rockpi_n10");
  f.m = *policies::load_model_by_name(kDir, model);
  env::CostModel::Options o;
  o.data_dir = kDir;
  auto c = env::CostModel::create(f.p, f.m, o);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  f.c = std::make_unique<env::CostModel>(std::move(*c));
  return f;
}
}  // namespace

TEST(Csv, QuotedFieldsAndErrors) {
  auto t = env::parse_csv("a,b,c\r\n1,\"((3, 4), (1,))\",\"say \"\"hi\"\"\"\n\n2,,\"multi\nline\"\n", "x.csv");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[0][1], "((3, 4), (1,))");
  EXPECT_EQ(t->rows[0][2], "say \"hi\"");
  EXPECT_EQ(t->rows[1][1], "");
  EXPECT_EQ(t->rows[1][2], "multi\nline");
  EXPECT_EQ(t->line[1], 4);
  EXPECT_EQ(t->col("c"), 2);
  EXPECT_EQ(t->col("z"), -1);
  EXPECT_EQ(t->at(0, 7), "");
  auto bad = env::parse_csv("a,b\n1,\"open\n2,3\n", "bad.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.csv:2"), std::string::npos) << bad.status().message();
  auto stray = env::parse_csv("a,b\n1,x\"y\n", "s.csv");
  ASSERT_FALSE(stray.ok());
  EXPECT_NE(stray.status().message().find("s.csv:2"), std::string::npos);
  EXPECT_FALSE(env::parse_csv("", "e.csv").ok());
  EXPECT_EQ(env::csv_join({"a,b", "c\"d", "e"}), "\"a,b\",\"c\"\"d\",e");
  double v = 0;
  EXPECT_TRUE(env::parse_double(" 3.5 ", &v));
  EXPECT_EQ(v, 3.5);
  EXPECT_FALSE(env::parse_double("3.5x", &v));
  EXPECT_FALSE(env::parse_double("", &v));
}

TEST(Configs, PipelineAndSwitchParsing) {
  Fixture f = load("googlenet");
  // 11-letter order (coup11 grouping) expands to 13 blocks.
  auto e = env::expand_order_groups(f.m, "LLLLLLLLLLB");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, "LLLLLLLLLLLBB");
  EXPECT_FALSE(env::expand_order_groups(f.m, "LLL").ok());
  auto bad_letter = env::pipeline_config(f.p, f.m, "BBBBBBXBBBBBB", 'B', 'L', 408000, 1200000, 200000000);
  ASSERT_FALSE(bad_letter.ok());
  EXPECT_NE(bad_letter.status().message().find("'X'"), std::string::npos);
  auto bad_freq = env::pipeline_config(f.p, f.m, "BBBBBBBBBBBBB", 'B', 'L', 408000, 1234000, 200000000);
  ASSERT_FALSE(bad_freq.ok());
  EXPECT_NE(bad_freq.status().message().find("f_big_khz"), std::string::npos);
  auto bad_host = env::pipeline_config(f.p, f.m, "BBBBBBBBBBBBB", 'G', 'L', 408000, 1200000, 200000000);
  ASSERT_FALSE(bad_host.ok());
  EXPECT_NE(bad_host.status().message().find("gpu_host"), std::string::npos);
  auto ok = env::pipeline_config(f.p, f.m, "BBBBGGGGGNNNN", 'B', 'L', 1416000, 1800000, 800000000);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->freq_idx[f.p.unit_index('B')], 7);
  EXPECT_EQ(ok->freq_idx[f.p.unit_index('G')], 4);

  auto s = env::switch_config(f.p, f.m, "GGLGBBLLBBB", "((3, 4), (1, 0), (3,), (3, 6), (7,), (1,), (4,), (2,), (0,), (1,), (2,))", "BB");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->block_freq[0], 3);
  EXPECT_EQ(s->block_host_freq[0], 4);
  EXPECT_EQ(s->block_freq[12], 2);  // last group (2 blocks) at index 2
  auto mx = env::switch_config(f.p, f.m, "LLLLLLLLLLL", "(('max',),)", "BB");
  ASSERT_TRUE(mx.ok());
  EXPECT_EQ(mx->block_freq[5], 5);
  auto mn = env::switch_config(f.p, f.m, "GGGGGGGGGGG", "{{min}}", "BB");
  ASSERT_TRUE(mn.ok());
  EXPECT_EQ(mn->block_freq[5], 0);
  EXPECT_EQ(mn->block_host_freq[5], 0);
  auto range = env::switch_config(f.p, f.m, "LLLLLLLLLLL", "((9,), (1,), (1,), (1,), (1,), (1,), (1,), (1,), (1,), (1,), (1,))", "");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("out of range"), std::string::npos);
  EXPECT_FALSE(env::switch_config(f.p, f.m, "LLLLLLLLLLL", "((1,), (1,)", "").ok());
  EXPECT_FALSE(env::switch_config(f.p, f.m, "LLLLLLLLLLL", "((1,), (1,))", "").ok()) << "2 tuples for 11 letters";
  EXPECT_FALSE(env::switch_config(f.p, f.m, "LLLLLLLLLLL", "((x,),)", "").ok());
}

TEST(Predict, PipelineAccounting) {
  Fixture f = load("alexnet");
  const auto& c = *f.c;
  const int B = f.p.unit_index('B'), G = f.p.unit_index('G');
  auto single = env::pipeline_config(f.p, f.m, "BBBBBBBB", 'B', 'B', 1416000, 1800000, 800000000);
  ASSERT_TRUE(single.ok());
  auto r1 = env::predict_pipeline(c, *single);
  ASSERT_TRUE(r1.ok());
  double sum = c.input_ms(B, 7);
  for (int b = 0; b < 8; ++b) sum += c.block_time_ms(b, B, 7, 0);
  EXPECT_NEAR(r1->latency_ms, sum, 1e-6);
  EXPECT_NEAR(r1->fps, 1000.0 / sum, 1e-6) << "one stage: period = latency";
  EXPECT_NEAR(r1->energy_mj, r1->power_mw / r1->fps, 1e-9);
  // Two stages: period = the slower one; latency = both + the transfer.
  auto two = env::pipeline_config(f.p, f.m, "BBBBGGGG", 'B', 'B', 1416000, 1800000, 800000000);
  ASSERT_TRUE(two.ok());
  auto r2 = env::predict_pipeline(c, *two);
  ASSERT_TRUE(r2.ok());
  double sb = c.input_ms(B, 7), sg = c.transfer_ms(3, B, G) + c.segment_ms(G, B, 7);
  for (int b = 0; b < 4; ++b) sb += c.block_time_ms(b, B, 7, 0);
  for (int b = 4; b < 8; ++b) sg += c.block_time_ms(b, G, 4, B, 7);
  EXPECT_NEAR(r2->fps, 1000.0 / std::max(sb, sg), 1e-6);
  EXPECT_NEAR(r2->latency_ms, sb + sg, 1e-6);
  EXPECT_GT(r2->fps, r1->fps) << "splitting AlexNet over B and G pipelines faster than B alone";
  // Power is idle + utilisation-weighted dynamic power (+ the host's power driving the GPU).
  const double period = 1000.0 / r2->fps;
  const double expect = c.idle_power_mw(two->freq_idx, 25) - c.leakage_power_mw(25) + c.dynamic_power_mw(B, 7, sb / period) +
                        c.dynamic_power_mw(G, 4, sg / period) + c.host_drive_mw(G, B, 7) * sg / period;
  EXPECT_NEAR(r2->power_mw, expect, 1e-6);
  EXPECT_GT(c.host_drive_mw(G, B, 7), 0) << "fitted on the pipeline rows";
  // Wrong block count is an error, not a crash.
  policies::Config wrong = *two;
  wrong.num_blocks = 3;
  EXPECT_FALSE(env::predict_pipeline(c, wrong).ok());
}

TEST(Predict, SwitchPaysDvfsDelays) {
  Fixture f = load("alexnet");
  auto same = env::switch_config(f.p, f.m, "BBBBBBBB", "((7,), (7,), (7,), (7,), (7,), (7,), (7,), (7,))", "");
  auto changing = env::switch_config(f.p, f.m, "BBBBBBBB", "((7,), (7,), (7,), (0,), (7,), (7,), (7,), (7,))", "");
  ASSERT_TRUE(same.ok() && changing.ok());
  auto a = env::predict_switch(*f.c, *same), b = env::predict_switch(*f.c, *changing);
  ASSERT_TRUE(a.ok() && b.ok());
  const int B = f.p.unit_index('B');
  const double extra = f.c->dvfs_delay_ms(B, 7, 0) + f.c->dvfs_delay_ms(B, 0, 7) + f.c->switch_block_ms(3, B, 0, -1, 0) -
                       f.c->switch_block_ms(3, B, 7, -1, 0);
  EXPECT_NEAR(b->latency_ms - a->latency_ms, extra, 1e-6);
  EXPECT_NEAR(a->fps, 1000.0 / a->latency_ms, 1e-9);
  EXPECT_NEAR(a->energy_mj, a->power_mw * a->latency_ms * 1e-3, 1e-6);
}

// GoogleNet has fitted hand-overs: the receiving stage waits handoff_in (in its period, not in
// its dynamic power), the sending stage pays handoff_out.
TEST(Predict, PipelineHandOversChargeBothStages) {
  Fixture f = load("googlenet");
  const auto& c = *f.c;
  const int L = f.p.unit_index('L'), B = f.p.unit_index('B'), G = f.p.unit_index('G'), N = f.p.unit_index('N');
  auto cfg = env::pipeline_config(f.p, f.m, "NNNNNGGGBBBBL", 'B', 'L', 1416000, 1800000, 800000000);
  ASSERT_TRUE(cfg.ok());
  auto r = env::predict_pipeline(c, *cfg);
  ASSERT_TRUE(r.ok());
  // Stages N [0,5) host L, G [5,8) host B, B [8,12), L [12,13).
  double any = 0;
  for (auto [b, s, d] : {std::tuple{4, N, G}, std::tuple{7, G, B}, std::tuple{11, B, L}})
    any += std::fabs(c.handoff_in_ms(b, s, d)) + c.handoff_out_ms(b, s, d);
  ASSERT_GT(any, 0) << "googlenet has fitted hand-overs on these cuts";
  auto stage = [&](int first, int end, int u, int h, int hopp, int prev, int next) {
    double t = 0;
    for (int b = first; b < end; ++b) t += h >= 0 ? c.block_time_ms(b, u, u == N ? 0 : 4, h, hopp) : c.block_time_ms(b, u, u == B ? 7 : 5, 0);
    t += c.segment_ms(u, h, hopp);
    if (prev >= 0) t += c.transfer_ms(first - 1, prev, u) + c.handoff_in_ms(first - 1, prev, u);
    if (next >= 0) t += c.handoff_out_ms(end - 1, u, next);
    EXPECT_NEAR(c.stage_handoff_ms(first, end, prev, u, next),
                (prev >= 0 ? c.handoff_in_ms(first - 1, prev, u) : 0) + (next >= 0 ? c.handoff_out_ms(end - 1, u, next) : 0), 1e-12);
    return t;
  };
  const double tn = stage(0, 5, N, L, 5, -1, G) + c.input_ms(L, 5), tg = stage(5, 8, G, B, 7, N, B), tb = stage(8, 12, B, -1, 0, G, L),
               tl = stage(12, 13, L, -1, 0, B, -1);
  EXPECT_NEAR(r->latency_ms, tn + tg + tb + tl, 1e-6);
  EXPECT_NEAR(r->fps, 1000.0 / std::max({tn, tg, tb, tl}), 1e-6);
  const double period = 1000.0 / r->fps;
  const double pw = c.idle_power_mw(cfg->freq_idx, 25) - c.leakage_power_mw(25) +
                    (c.dynamic_power_mw(N, 0, 1) + c.host_drive_mw(N, L, 5)) * tn / period +
                    (c.dynamic_power_mw(G, 4, 1) + c.host_drive_mw(G, B, 7)) * (tg - c.handoff_in_ms(4, N, G)) / period +
                    c.dynamic_power_mw(B, 7, 1) * (tb - c.handoff_in_ms(7, G, B)) / period +
                    c.dynamic_power_mw(L, 5, 1) * (tl - c.handoff_in_ms(11, B, L)) / period;
  EXPECT_NEAR(r->power_mw, pw, 1e-6);
}
