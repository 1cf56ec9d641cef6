// The built-in CPU executor: a model instance (plan + weights, immutable, shared) and per-unit
// executors (workspace) that run its blocks with the Eigen kernels (runtime/kernels.hpp).
//
// Threads: the kernels are single-threaded by construction: the build has no OpenMP, so Eigen's
// GEMM runs on the calling thread only (Eigen::nbThreads() == 1) and spawns nothing. The pipeline
// runs one stage thread per unit pinned to the unit's cores; that thread is the only one that
// computes, so pinning it pins the kernels. A unit needs one EigenExecutor (its own workspace);
// several executors may share one EigenModel and run concurrently.
//
//   auto model = runtime::EigenModel::create(desc, {});          // weights: synthetic or file
//   auto exec = runtime::EigenExecutor::create(*model);          // arena + scratch allocated here
//   exec.value()->run_block(b, ins, n_in, outs, n_out);         // hot path: no allocation
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "hetsched/executor.hpp"
#include "policies/model.hpp"
#include "runtime/kernel_plan.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

struct ExecutorOptions {
  std::string weights_path;  // weights file (format in runtime/kernel_weights.hpp); "" = synthetic
  std::uint64_t seed = 1;    // seed of the synthetic weights (ignored with weights_path)
};

// 64-byte aligned float buffer (Eigen's packed GEMM panels want aligned memory).
class AlignedFloats {
 public:
  AlignedFloats() = default;
  explicit AlignedFloats(std::int64_t n);
  float* data() const noexcept { return p_.get(); }
  std::int64_t size() const noexcept { return n_; }

 private:
  struct Free { void operator()(float* p) const noexcept { std::free(p); } };
  std::unique_ptr<float, Free> p_;
  std::int64_t n_ = 0;
};

class EigenModel {
 public:
  // Plans the model (errors name the layer and field) and loads or synthesises its weights.
  static Result<std::shared_ptr<const EigenModel>> create(const policies::ModelDesc& model,
                                                          const ExecutorOptions& options);
  const ModelPlan& plan() const noexcept { return plan_; }
  const float* params() const noexcept { return params_.data(); }
  Status save_weights(const std::string& path) const;

 private:
  ModelPlan plan_;
  AlignedFloats params_;
};

class EigenExecutor final : public BlockExecutor {
 public:
  // Allocates the workspace for the largest block (any block may be placed on any unit).
  static Result<std::unique_ptr<EigenExecutor>> create(std::shared_ptr<const EigenModel> model);

  const BoundaryLayout& layout() const noexcept override { return model_->plan().layout; }
  Status run_block(int block, const TensorView* inputs, int n_in, TensorView* outputs,
                   int n_out) noexcept override;
  const char* engine() const noexcept override { return "eigen-cpu"; }

  // Blocks [first, end) in order: reads boundary `first`, writes boundary `end`; intermediate
  // boundaries go through two preallocated ping-pong buffers. run_range(0, n, ...) = inference.
  Status run_range(int first, int end, const TensorView* inputs, int n_in, TensorView* outputs,
                   int n_out) noexcept;
  const EigenModel& model() const noexcept { return *model_; }

 private:
  explicit EigenExecutor(std::shared_ptr<const EigenModel> model) : model_(std::move(model)) {}
  void run_layers(const BlockPlan& bp, const TensorView* inputs, TensorView* outputs) noexcept;

  std::shared_ptr<const EigenModel> model_;
  AlignedFloats arena_, scratch_, ping_, pong_;
  std::vector<TensorView> ping_views_, pong_views_;  // sized to the largest boundary
};

// Views of boundary k laid out back to back in `buffer` (which holds layout.boundary_floats(k)).
void boundary_views(const BoundaryLayout& layout, int k, float* buffer, TensorView* views) noexcept;

}  // namespace hetsched::runtime
