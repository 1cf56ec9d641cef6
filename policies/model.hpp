// Model description: the ONE description of a network that the simulator (env/), the action
// space (policies/) and the real executor (runtime/) all read. It lives in policies/ because
// policies/ is reachable from both env/ and runtime/ without either including the other.
//
// A model is a list of layers (concrete shapes, so the runtime can build real kernels and
// the simulator can compute MACs and bytes) cut into blocks: a block is the finest unit of
// placement any measurement uses. Groupings map coarser measured granularities (e.g. the
// 11-block GoogleNet of the per-layer table vs. the 13 blocks of the pipeline points) onto blocks.
//
// File format: env/models/<name>.json, documented in docs/models.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::policies {

enum class OpType : std::uint8_t {
  kConv,            // dense convolution (batch-norm folded in)
  kDepthwiseConv,   // groups == channels
  kPointwiseConv,   // 1x1 convolution
  kMaxPool,
  kAvgPool,         // includes global average pooling
  kFullyConnected,
  kAdd,             // elementwise add (residual)
  kConcat,          // channel concat
  kRelu,
  kRelu6,
  kLeakyRelu,
  kUpsample,        // nearest-neighbour x2 (YOLOv3)
  kLrn,             // local response normalisation (AlexNet, GoogleNet)
  kSoftmax,
  kCount
};
const char* op_name(OpType op) noexcept;
// Accepts the names op_name() returns ("conv", "dwconv", ...). Returns false if unknown.
bool parse_op(const std::string& name, OpType* out) noexcept;

struct TensorShape {
  int c = 0, h = 0, w = 0;
  std::int64_t elements() const noexcept { return std::int64_t{c} * h * w; }
};

struct LayerDesc {
  std::string name;
  OpType op = OpType::kConv;
  std::vector<int> inputs;  // producer layer indices; -1 = the model input; empty = previous layer
  int out_channels = 0;     // conv/fc
  int kernel = 1, stride = 1, pad = 0, groups = 1;
  OpType activation = OpType::kCount;  // fused activation (kRelu/kRelu6/kLeakyRelu), kCount = none
  bool ceil_mode = false;    // pooling: Caffe-style ceil rounding of the output size
  bool global_pool = false;  // pooling: window = whole input plane (kernel set to its height at load)
  // Derived at load time from the shapes:
  TensorShape out;
  double macs = 0;               // multiply-accumulates (conv/fc only; published totals count these)
  double elem_ops = 0;           // non-MAC work: pool window reads, LRN/softmax/elementwise per element
  std::int64_t param_bytes = 0;  // fp32 weights + bias
};

struct BlockDesc {
  std::string name;
  int first_layer = 0, end_layer = 0;  // layers [first_layer, end_layer)
  // Derived at load time:
  double macs = 0;
  std::int64_t param_bytes = 0;
  std::int64_t output_bytes = 0;       // fp32 tensor(s) that leave the block
  std::vector<OpType> op_types;        // distinct op types inside, in first-seen order
  // Extensions (derived):
  double elem_ops = 0;                 // sum of the layers' elem_ops
  std::int64_t cut_bytes = 0;          // fp32 bytes live across the boundary after this block, i.e.
                                       // what a pipeline cut here must transfer (skip connections
                                       // included); 0 for the last block
};

// A coarser view of the blocks used by some data set: group g covers blocks
// [end[g-1], end[g]) (end[-1] = 0; end.back() == number of blocks).
struct Grouping {
  std::string name;               // e.g. "coup11", "pipeall13"
  std::string used_by;            // which measurement files use it (documentation)
  std::vector<int> end;

  int num_groups() const noexcept { return static_cast<int>(end.size()); }
  // First block of group g (precondition: 0 <= g < num_groups()).
  int first(int g) const noexcept { return g == 0 ? 0 : end[static_cast<size_t>(g - 1)]; }
  // Group containing `block`, or -1 if block is outside [0, end.back()).
  int group_of(int block) const noexcept {
    if (block < 0) return -1;
    for (int g = 0; g < num_groups(); ++g)
      if (block < end[static_cast<size_t>(g)]) return g;
    return -1;
  }
};

struct ModelDesc {
  std::string name;                  // canonical: alexnet, googlenet, mobilenet_v1, resnet50, yolov3, squeezenet
  std::vector<std::string> aliases;  // names used in data sets: "Google", "google", "GoogleNet", ...
  TensorShape input;
  std::vector<LayerDesc> layers;
  std::vector<BlockDesc> blocks;
  std::vector<Grouping> groupings;
  std::string source;                // where the architecture comes from
  std::string path;                  // the file it was loaded from

  double total_macs() const noexcept;
  std::int64_t total_param_bytes() const noexcept;
  // Index of the grouping with this name, or -1.
  int grouping_index(const std::string& grouping_name) const noexcept;
  // True if `name` is the canonical name or an alias (case-insensitive).
  bool matches(const std::string& name) const;

  int num_blocks() const noexcept { return static_cast<int>(blocks.size()); }
  // Grouping with this many groups (e.g. 11 for GoogleNet's per-layer table), or nullptr.
  const Grouping* grouping_with(int groups) const noexcept;
};

inline constexpr int kMaxModelDim = 1 << 16;              // bound on channels, height, width
inline constexpr double kMaxModelElements = 4294967296.0;  // 2^32 elements per tensor

// Parses and validates a model file; derives shapes, MACs and bytes. Errors name file and field.
Result<ModelDesc> load_model(const std::string& path);
// Checks the structure of a ModelDesc (inputs earlier than their consumer, add/concat shapes,
// blocks tiling the layers, grouping ends) and (re)computes every derived field. load_model()
// calls it; call it again after editing a model in code (e.g. another input size). Errors name
// `path` (or the model name) and the field as spelled in the JSON.
Status derive_model(ModelDesc* m);
// Finds <data_dir>/env/models/*.json whose name or alias matches (case-insensitive).
Result<ModelDesc> load_model_by_name(const std::string& data_dir, const std::string& name);
std::vector<std::string> list_models(const std::string& data_dir);

}  // namespace hetsched::policies
