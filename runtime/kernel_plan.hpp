// Execution plan of a model for the CPU kernels: per-layer kernel parameters and shapes, the
// block boundary layout (see hetsched/executor.hpp) and, per block, where each tensor lives
// while the block runs. Computed once at create time from the shared policies::ModelDesc.
//
// Shapes: derived here (conv: floor mode; pooling: Caffe ceil mode) and, when the model loader
// already derived LayerDesc::out, checked against it; for pooling the loader's shape decides
// between ceil and floor mode, so both conventions of the zoo sources are honoured.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hetsched/executor.hpp"
#include "policies/model.hpp"
#include "runtime/kernels.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

inline constexpr int kMaxLayerInputs = 16;  // concat fan-in limit (GoogleNet needs 4)
// Per tensor and per layer's parameters: keeps every index in int64 and a layer's float count in
// the weights file's u32 (1 Gi floats = 4 GiB, far above any zoo layer).
inline constexpr std::int64_t kMaxTensorFloats = std::int64_t{1} << 30;
inline constexpr int kLrnDefaultSize = 5;    // Caffe AlexNet/GoogleNet: size 5, alpha 1e-4, beta 0.75, k 1
inline constexpr float kLrnAlpha = 1e-4f, kLrnBeta = 0.75f, kLrnK = 1.0f;

struct LayerPlan {
  policies::OpType op = policies::OpType::kConv;
  std::vector<int> inputs;  // resolved producers (-1 = model input), never empty
  policies::TensorShape out;
  Act act = Act::kNone;     // fused activation
  ConvParams conv;          // conv / dwconv / pwconv
  PoolParams pool;          // max / avg pool
  int fc_in = 0;            // fully connected: flattened input features
  int factor = 2;           // upsample factor
  int lrn_size = kLrnDefaultSize;
  std::int64_t weight_floats = 0, bias_floats = 0;  // parameter counts (0 for parameter-free ops)
  std::int64_t param_offset = 0;                    // into the model's parameter array
  std::int64_t scratch_floats = 0;                  // kernel scratch (conv im2col + GEMM packing)
};

// Where a tensor lives during run_block: the caller's input/output views or the executor arena.
struct Slot {
  enum class Kind : std::uint8_t { kInput, kOutput, kArena };
  Kind kind = Kind::kArena;
  std::int64_t index = 0;  // boundary position for kInput/kOutput, float offset for kArena
};

struct BlockPlan {
  int first = 0, end = 0;                       // layers [first, end)
  std::vector<Slot> out;                        // per layer of the block
  std::vector<std::vector<Slot>> in;            // per layer of the block, per input
  std::vector<std::pair<int, int>> pass_through;  // (input position, output position) copied as is
  std::int64_t arena_floats = 0;                // peak of the block's intermediate tensors
};

struct ModelPlan {
  std::string name;
  policies::TensorShape input;
  std::vector<LayerPlan> layers;
  std::vector<BlockPlan> blocks;
  BoundaryLayout layout;
  std::int64_t param_floats = 0;    // all weights + biases
  std::int64_t arena_floats = 0;    // max over blocks
  std::int64_t scratch_floats = 0;  // max over layers
  double macs = 0;                  // conv + fc multiply-accumulates (for GFLOP/s figures)
};

// Errors (kInvalidArgument) name the model, the layer index and name, and the field.
Result<ModelPlan> plan_model(const policies::ModelDesc& model);

}  // namespace hetsched::runtime
