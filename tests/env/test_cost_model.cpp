// CostModel sanity on the shipped rockpi_n10 calibration: monotone in frequency, G/N depend on
// the host cluster's frequency, transfers are free on the same unit, leakage/DVFS behave, and
// predictions of a few measured rows fall within tolerance.
#include <cmath>

#include <gtest/gtest.h>

#include "env/calib_data.hpp"
#include "env/cost_model.hpp"
#include "env/cost_params.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"

using namespace hetsched;
using env::CostModel;

namespace {
const std::string kDir = HETSCHED_SOURCE_DIR;

CostModel make(const std::string& model, bool analytic = true) {
  auto p = policies::load_platform_by_name(kDir, "rockpi_n10");
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  auto m = policies::load_model_by_name(kDir, model);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  CostModel::Options o;
  o.data_dir = kDir;
  o.allow_analytic = analytic;
  auto c = CostModel::create(*p, *m, o);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return std::move(*c);
}
}  // namespace

TEST(CostModel, MonotoneInOwnAndHostFrequency) {
  for (const char* name : {"alexnet", "googlenet", "mobilenet_v1", "resnet50", "yolov3", "squeezenet"}) {
    CostModel c = make(name);
    const auto& p = c.platform();
    const int L = p.unit_index('L'), B = p.unit_index('B'), G = p.unit_index('G'), N = p.unit_index('N');
    for (int b = 0; b < c.model().num_blocks(); ++b) {
      for (int u : {L, B}) {
        for (int f = 1; f <= p.units[u].max_opp(); ++f)
          EXPECT_LE(c.block_time_ms(b, u, f, 0), c.block_time_ms(b, u, f - 1, 0) * (1 + 1e-9)) << name << " block " << b;
      }
      for (int f = 1; f <= p.units[G].max_opp(); ++f)
        EXPECT_LE(c.block_time_ms(b, G, f, B, 7), c.block_time_ms(b, G, f - 1, B, 7) * (1 + 1e-9));
      for (int h = 1; h <= p.units[B].max_opp(); ++h) {
        EXPECT_LE(c.block_time_ms(b, G, 4, B, h), c.block_time_ms(b, G, 4, B, h - 1) * (1 + 1e-9));
        EXPECT_LE(c.block_time_ms(b, N, 0, B, h), c.block_time_ms(b, N, 0, B, h - 1) * (1 + 1e-9));
      }
      EXPECT_GT(c.block_time_ms(b, L, 0, 0), 0.0);
    }
  }
}

TEST(CostModel, HostClusterMatters) {
  CostModel c = make("mobilenet_v1");
  const auto& p = c.platform();
  const int L = p.unit_index('L'), B = p.unit_index('B'), G = p.unit_index('G'), N = p.unit_index('N');
  double g_lo = 0, g_hi = 0, n_l = 0, n_b = 0;
  for (int b = 0; b < c.model().num_blocks(); ++b) {
    g_lo += c.block_time_ms(b, G, 4, B, 0);
    g_hi += c.block_time_ms(b, G, 4, B, 7);
    n_l += c.block_time_ms(b, N, 0, L, 5) + c.segment_ms(N, L, 5);
    n_b += c.block_time_ms(b, N, 0, B, 7) + c.segment_ms(N, B, 7);
  }
  EXPECT_GT(g_lo, g_hi * 1.02) << "the GPU's host (B) frequency changes GPU block time (measured: Freq_Host)";
  EXPECT_GT(n_l, n_b) << "an NPU driven by the A53s is slower than by the A72s";
  EXPECT_EQ(c.default_host(G), B);
  EXPECT_EQ(c.default_host(L), -1);
  EXPECT_EQ(c.segment_ms(L, -1, 0), 0.0);
}

TEST(CostModel, TransfersPowerAndDelays) {
  CostModel c = make("googlenet");
  const auto& p = c.platform();
  const int L = p.unit_index('L'), B = p.unit_index('B'), G = p.unit_index('G');
  for (int b = 0; b < c.model().num_blocks(); ++b)
    for (int u = 0; u < p.num_units(); ++u) EXPECT_EQ(c.transfer_ms(b, u, u), 0.0);
  EXPECT_GT(c.transfer_ms(0, B, G), 0.0);
  // Power: idle grows with the OPPs, dynamic power grows with OPP and utilisation.
  std::array<std::int8_t, policies::kMaxUnits> lo{}, hi{};
  hi[L] = 5, hi[B] = 7, hi[G] = 4;
  EXPECT_GT(c.idle_power_mw(hi, 25), c.idle_power_mw(lo, 25));
  EXPECT_GT(c.dynamic_power_mw(B, 7, 1.0), c.dynamic_power_mw(B, 0, 1.0));
  EXPECT_NEAR(c.dynamic_power_mw(B, 7, 0.5), 0.5 * c.dynamic_power_mw(B, 7, 1.0), 1e-9);
  EXPECT_EQ(c.dynamic_power_mw(B, 7, 0.0), 0.0);
  EXPECT_GT(c.block_power_mw(0, B, 7, 0), c.block_power_mw(0, B, 0, 0));
  // Leakage: 0 at the calibration temperature (50 degC in the platform file), grows with T.
  EXPECT_NEAR(c.leakage_power_mw(50), 0.0, 1e-9);
  EXPECT_GT(c.leakage_power_mw(80), c.leakage_power_mw(60));
  EXPECT_LT(c.leakage_power_mw(30), 0.0);
  // DVFS: measured delays (dvfs_transition_delay.csv): raising L 408 -> 1416 MHz ~1.7 ms, lowering ~0.16 ms.
  EXPECT_EQ(c.dvfs_delay_ms(L, 3, 3), 0.0);
  EXPECT_NEAR(c.dvfs_delay_ms(L, 0, 5), 1.7023, 1e-3);
  EXPECT_LT(c.dvfs_delay_ms(L, 5, 0), 0.5);
  EXPECT_EQ(c.dvfs_delay_ms(p.unit_index('N'), 0, 0), 0.0);
}

TEST(CostModel, ProfiledVersusAnalytic) {
  CostModel a = make("alexnet");
  const int B = a.platform().unit_index('B'), N = a.platform().unit_index('N');
  EXPECT_TRUE(a.profiled(0, B));
  EXPECT_FALSE(a.profiled(0, N)) << "AlexNet has no NPU profile";
  CostModel s = make("squeezenet");
  for (int b = 0; b < s.model().num_blocks(); ++b) EXPECT_FALSE(s.profiled(b, B)) << "SqueezeNet is held out";
  EXPECT_LT(s.block_time_ms(1, B, 7, 0), 1e6) << "predicted from op-level features";
  CostModel s2 = make("squeezenet", /*analytic=*/false);
  EXPECT_GE(s2.block_time_ms(1, B, 7, 0), 1e8) << "without the op-level predictor the block cannot run";
  policies::Config c;
  c.num_blocks = s2.model().num_blocks();
  for (int b = 0; b < c.num_blocks; ++b) c.unit[b] = 'B';
  c.freq_idx = {5, 7, 4, -1};
  EXPECT_FALSE(env::predict_pipeline(s2, c).ok());
  EXPECT_TRUE(env::predict_pipeline(s, c).ok());
  EXPECT_FALSE(s.profiled(-1, B));
  EXPECT_GE(s.block_time_ms(1000, B, 7, 0), 1e8);
}

// A few measured rows (held-back split, never fitted): whole-board numbers within tolerance.
TEST(CostModel, PredictsMeasuredRows) {
  CostModel g = make("googlenet");
  const auto& p = g.platform();
  // Every 12th held-back row of pipeline_googlenet_lbgn.csv (never fitted): FPS and power
  // MAPE within the bounds docs/validation.md reports for the whole held-back set (+ margin).
  auto rows = env::read_pipeline_rows(kDir + "/../shared/calibration", "rockpi_n10");
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  double e_fps = 0, e_pow = 0;
  int n = 0, k = 0;
  for (const auto& row : *rows) {
    if (row.file != "pipeline_googlenet_lbgn.csv" || !env::held_back(env::pipeline_key(row))) continue;
    if (k++ % 12 != 0) continue;
    auto c = env::pipeline_config(p, g.model(), row.order, row.gpu_host, row.npu_host, row.f_little_khz, row.f_big_khz,
                                  row.f_gpu_hz);
    ASSERT_TRUE(c.ok()) << row.line << ": " << c.status().to_string();
    auto r = env::predict_pipeline(g, *c);
    ASSERT_TRUE(r.ok());
    EXPECT_NEAR(r->energy_mj, r->power_mw / r->fps, 1e-9);
    e_fps += std::fabs(r->fps - row.fps) / row.fps;
    e_pow += std::fabs(r->power_mw - row.power_mw) / row.power_mw;
    ++n;
  }
  ASSERT_GT(n, 500);
  EXPECT_LT(100 * e_fps / n, 12.0);
  EXPECT_LT(100 * e_pow / n, 7.5);
  // eval_switch_lwdvfs_alex.csv row 0: GGLGBBLL at per-layer OPPs: 218.0 ms, 943.1 mJ.
  CostModel a = make("alexnet");
  auto s = env::switch_config(a.platform(), a.model(), "GGLGBBLL", "((3, 4), (1, 0), (3,), (3, 6), (7,), (1,), (4,), (2,))", "");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto rs = env::predict_switch(a, *s);
  ASSERT_TRUE(rs.ok());
  EXPECT_NEAR(rs->latency_ms, 218.04, 218.04 * 0.10);
  EXPECT_NEAR(rs->energy_mj, 943.1, 943.1 * 0.15);
}

// Op-level features: the ARM-CL classes (10..15) partition the same work as the legacy set
// (0..9), matrix-vector layers go by weight bytes, and 3x3 stride-1 convs count as Winograd
// except on the image input.
TEST(CostModel, OpFeatureClasses) {
  auto alex = policies::load_model_by_name(kDir, "alexnet");
  auto yolo = policies::load_model_by_name(kDir, "yolov3");
  ASSERT_TRUE(alex.ok() && yolo.ok());
  for (const policies::ModelDesc* m : {&*alex, &*yolo}) {
    const auto f = env::block_features(*m, 0, m->num_blocks());
    double gemv_mb = 0, weights_mb = 0;
    for (const auto& l : m->layers) {
      weights_mb += static_cast<double>(l.param_bytes) * 1e-6;
      if (l.out.h * l.out.w == 1 && l.macs > 0) gemv_mb += static_cast<double>(l.param_bytes) * 1e-6;
    }
    EXPECT_NEAR(f[13], gemv_mb, 1e-6) << m->name;
    EXPECT_NEAR(f[13] + f[15], f[9], 1e-6) << m->name << ": weights split into streamed + reused";
    EXPECT_NEAR(f[9], weights_mb, 1e-6) << m->name;
    EXPECT_GT(f[14], f[8]) << m->name << ": all activations exceed the last block's output";
  }
  const auto fa = env::block_features(*alex, 0, alex->num_blocks());
  EXPECT_GT(fa[13], 200.0) << "AlexNet FC6-FC8 stream > 200 MB of weights per frame";
  EXPECT_NEAR(fa[0], fa[10] + fa[11], 1e-9) << "dense conv = GEMM conv + Winograd conv (no dense gemv in AlexNet)";
  const auto fy = env::block_features(*yolo, 0, 1);  // the first conv: 3x3 stride 1 on the RGB image
  EXPECT_GT(fy[10], 0.0);
  EXPECT_EQ(fy[11], 0.0) << "image-input conv (C_in = 3) is im2col GEMM, not Winograd";
  const auto fy_all = env::block_features(*yolo, 0, yolo->num_blocks());
  EXPECT_GT(fy_all[11], 0.8 * fy_all[0]) << "most of YOLOv3's dense-conv MACs are 3x3 stride 1";
  EXPECT_EQ(fy_all[13], 0.0) << "YOLOv3 has no matrix-vector layer";
  for (int i = 0; i < env::kNumOpFeatures; ++i) {
    EXPECT_NE(env::op_feature_in_set(i, env::OpFeatureSet::kLegacy), i >= 10) << i;
    EXPECT_STRNE(env::op_feature_name(i), "?");
  }
}

// Winograd as whole 4x4 output tiles (feature 18): the padding of a map that is not a multiple
// of 4 is paid, per layer; the ARM-CL set counts the tiles, not the MACs (11).
TEST(CostModel, WinogradTilesPayForThePadding) {
  auto alex = policies::load_model_by_name(kDir, "alexnet");
  auto yolo = policies::load_model_by_name(kDir, "yolov3");
  ASSERT_TRUE(alex.ok() && yolo.ok());
  double expect_alex = 0, expect_yolo = 0;
  for (const auto* m : {&*alex, &*yolo}) {
    for (const auto& l : m->layers) {
      if (l.op != policies::OpType::kConv || l.kernel != 3 || l.stride != 1 || l.out.h * l.out.w == 1) continue;
      if (l.macs / (static_cast<double>(l.out.elements()) * 9) <= 4) continue;  // image input: GEMM
      const double t = 4.0 * std::ceil(l.out.h / 4.0) * 4.0 * std::ceil(l.out.w / 4.0) / (l.out.h * l.out.w);
      (m == &*alex ? expect_alex : expect_yolo) += l.macs * 1e-9 * t;
    }
  }
  const auto fa = env::block_features(*alex, 0, alex->num_blocks());
  const auto fy = env::block_features(*yolo, 0, yolo->num_blocks());
  EXPECT_NEAR(fa[18], expect_alex, 1e-9);
  EXPECT_NEAR(fy[18], expect_yolo, 1e-9);
  // AlexNet's 3x3 convs all run on 13x13 maps: 16 x 16 / 169 of their MACs.
  EXPECT_NEAR(fa[18], fa[11] * 256.0 / 169.0, 1e-9);
  // YOLOv3 at 608: 19x19 and 38x38 maps pad to 20x20 and 40x40, 76x76 and larger do not.
  EXPECT_GT(fy[18], fy[11]);
  EXPECT_LT(fy[18], fy[11] * 400.0 / 361.0);
  EXPECT_TRUE(env::op_feature_in_set(18, env::OpFeatureSet::kArmCl));
  EXPECT_FALSE(env::op_feature_in_set(11, env::OpFeatureSet::kArmCl)) << "tiles replace the MAC count";
  EXPECT_FALSE(env::op_feature_in_set(18, env::OpFeatureSet::kLegacy));
  EXPECT_FALSE(env::op_feature_in_set(18, env::OpFeatureSet::kGpu));
  EXPECT_STREQ(env::op_feature_name(18), "wino_tiled_gmac");
}
