// Public interface of pluggable block executors: how the pipeline runs one block of a model on
// one compute unit, whatever engine does the work (the built-in Eigen CPU executor, or a user's
// GPU/NPU inference engine registered through a plain function pointer).
//
// Tensors: fp32, batch 1, NCHW (c planes of h rows of w floats), caller-owned memory.
//
// Hand-over between blocks (the "boundary" contract). Blocks are consecutive layer ranges.
// Boundary k (0 <= k <= num_blocks) is the list of tensors live between block k-1 and block k:
// every tensor produced before block k (the model input counts as produced by layer -1) that a
// layer of block k or later still reads, plus the model outputs (layers nobody reads) produced
// so far. Block b reads exactly boundary b and writes exactly boundary b+1, both in ascending
// producer order. So a skip connection or YOLO route that spans several blocks simply rides
// along in every boundary in between (a block copies a tensor it does not consume through), and
// a pipeline stage running blocks [i, j) needs nothing but boundary i and produces boundary j.
// Boundary 0 is {model input}; boundary num_blocks is the model outputs (YOLOv3 has three).
//
// Errors: no exception ever crosses this interface; every call returns a Status.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched {

// A view of one caller-owned tensor.
struct TensorView {
  float* data = nullptr;
  int c = 0, h = 0, w = 0;
  std::int64_t elements() const noexcept { return std::int64_t{c} * h * w; }
};

// One tensor crossing a block boundary.
struct TensorSpec {
  int producer = -1;  // index of the producing layer; -1 = the model input
  int c = 0, h = 0, w = 0;
  std::int64_t elements() const noexcept { return std::int64_t{c} * h * w; }
};

struct BoundaryLayout {
  std::string model;                              // canonical model name
  std::vector<std::vector<TensorSpec>> boundary;  // num_blocks + 1 entries (see the contract above)
  int num_blocks() const noexcept { return static_cast<int>(boundary.size()) - 1; }
  // Floats crossing boundary k (what a pipeline queue slot between two stages must hold).
  std::int64_t boundary_floats(int k) const noexcept;
};

// Checks a run_block call against the layout: block in range, counts equal to the boundary
// sizes, non-null data, shapes equal. Names the offending argument.
Status check_block_args(const BoundaryLayout& layout, int block, const TensorView* inputs, int n_in,
                        const TensorView* outputs, int n_out) noexcept;

// Abstract per-unit executor. One instance is used by one thread at a time (the stage thread of
// its unit); create one instance per unit. run_block must not allocate.
class BlockExecutor {
 public:
  virtual ~BlockExecutor() = default;
  virtual const BoundaryLayout& layout() const noexcept = 0;
  // Reads boundary `block` (inputs[0..n_in)) and writes boundary `block`+1 (outputs[0..n_out)).
  virtual Status run_block(int block, const TensorView* inputs, int n_in, TensorView* outputs,
                           int n_out) noexcept = 0;
  // Short engine name for logs ("eigen-cpu", or what the user registered).
  virtual const char* engine() const noexcept = 0;
};

// A user engine as a C-style callback: runs `block` reading inputs and writing outputs (shapes
// already checked against the layout). Must not throw; report failures through the Status.
using BlockFn = Status (*)(void* user, int block, const TensorView* inputs, int n_in, TensorView* outputs,
                           int n_out) noexcept;

// Wraps a BlockFn (plus its opaque user pointer, not owned) into a BlockExecutor.
// Errors: null fn, empty layout.
Result<std::unique_ptr<BlockExecutor>> make_function_executor(BoundaryLayout layout, BlockFn fn, void* user,
                                                              std::string engine_name);

// Which executor runs blocks on which unit ("cpu_big", "gpu", "npu", ... as named by the platform).
// All executors registered in one registry must share the same boundary layout (same model), so
// any placement of blocks onto units hands over compatible tensors.
class ExecutorRegistry {
 public:
  // Errors: empty unit name, null executor, unit already registered, layout mismatch.
  Status add(const std::string& unit, std::shared_ptr<BlockExecutor> executor);
  // nullptr if the unit has no executor.
  BlockExecutor* find(const std::string& unit) const noexcept;
  std::vector<std::string> units() const;

 private:
  std::vector<std::pair<std::string, std::shared_ptr<BlockExecutor>>> entries_;
};

}  // namespace hetsched
