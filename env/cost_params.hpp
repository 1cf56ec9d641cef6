// Internal to env/: the parsed parameter set behind CostModel (platform "sim" section +
// <platform>.costs.json), and the op-level feature vector shared by the cost model and the
// calibrator. Not part of the public API; tools use env/cost_model.hpp.
//
// Time model of one block on one unit (ms), fitted per block and unit on layers_coup.csv:
//     t = a + b / f_own_GHz + c / f_host_eff_GHz
// a: frequency-independent part (memory stalls, driver waits); b: compute on the unit itself;
// c: work on the host CPU cluster (GPU kernel enqueue / NPU RKNN calls). f_host_eff scales
// the host frequency by the host's capacity (dmips/MHz) relative to the fastest cluster, so a
// GPU hosted by the A53s sees 485/1024 of the A72's speed per MHz. CPU blocks have c = 0; NPU
// blocks have b = 0 (no NPU DVFS). Why a + b/f: time = cycles/f for the compute-bound part
// plus a constant for the memory-bound part is the usual first-order DVFS model and fits the
// per-layer tables within a few percent (see docs/validation.md).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

struct TimeCoef {
  double a = 0, b = 0, c = 0;
};

// Op-level features of a block (or group of blocks): work per op class plus layer count.
inline constexpr int kNumOpFeatures = 19;
// 0-9 (legacy set): conv, dwconv, pwconv, fc (G-MACs); pool, lrn, eltwise (G-element-ops);
//   layers (count); MB out of the block; MB of weights.
// 10-15 (ARM-CL classes): im2col-GEMM conv (G-MACs), Winograd conv (3x3 stride 1, G-MACs),
//   1x1 conv (G-MACs), matrix-vector weights (MB: FC / classifier, streamed once per frame),
//   activations written (MB, every layer), weights of the other layers (MB).
// 16: image-input conv G-MACs (dense conv with C_in/groups <= 4: im2col with K = 27..363).
// 17: tasks: 1 per evaluated block range (a block or a profiled group), i.e. the per-task
//   dispatch + synchronisation cost the per-layer tables pay once per group.
// 18: Winograd conv G-MACs padded to whole output tiles (the layers of 11; ARM-CL NEON uses
//   F(4x4, 3x3) when the output map is > 4 in both dimensions, else F(2x2, 3x3)): a 13x13 map
//   is computed as 16x16, 1.51x its MAC count; 14x14 / 7x7 maps 1.31x; 28x28 and larger 1.0x.
// docs/simulator.md ("Op-level predictor") says which unit uses which set.
const char* op_feature_name(int i) noexcept;
// kLegacy = 0..9; kArmCl = dwconv, pool, lrn, eltwise, layers, 10, 12..15 and 18 (the MAC classes
// split by ARM-CL kernel, Winograd as tiles); kGpu = the legacy set without out_mb, plus 16 and 17.
enum class OpFeatureSet { kLegacy, kArmCl, kGpu };
bool op_feature_in_set(int i, OpFeatureSet set) noexcept;
std::array<double, kNumOpFeatures> block_features(const policies::ModelDesc& m, int first_block, int end_block);

// Platform-level simulation parameters from the platform file's "sim" section.
struct SimParams {
  double calibration_temp_c = 50;
  double leak_mw_at_cal = 0;
  double leak_doubling_c = 25;
  std::array<double, policies::kMaxUnits> capacity{};      // dmips/MHz for CPU units (0 otherwise)
  std::array<std::vector<double>, policies::kMaxUnits> dvfs_delay_ms;  // row-major [from*n+to]
  double prior_idle_mw = 3000;
  std::array<double, policies::kMaxUnits> prior_dpc{};
  double prior_npu_mw = 800;
  double transfer_fixed_ms = 0.5;
  double transfer_mb_per_s = 1000;
};
Result<SimParams> load_sim_params(const policies::PlatformDesc& platform);

// Default host of an accelerator: the CPU unit in its hosts string with the highest capacity x max freq.
int default_host(const policies::PlatformDesc& p, const SimParams& s, int unit) noexcept;
// Host frequency in GHz scaled by capacity relative to the fastest CPU cluster.
double host_eff_ghz(const policies::PlatformDesc& p, const SimParams& s, int host_unit, int host_opp) noexcept;
double opp_ghz(const policies::PlatformDesc& p, int unit, int opp) noexcept;

}  // namespace hetsched::env
