#include "runtime/executor.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "runtime/kernel_gemm.hpp"
#include "runtime/kernel_weights.hpp"
#include "runtime/kernels.hpp"

// ---- Public API (runtime/include/hetsched/executor.hpp) ----------------------------------------
namespace hetsched {
namespace {

std::string spec_str(int c, int h, int w) {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

Status check_views(const BoundaryLayout& layout, int k, const TensorView* views, int n, const char* what) {
  const auto& want = layout.boundary[static_cast<size_t>(k)];
  if (n != static_cast<int>(want.size()))
    return Error(StatusCode::kInvalidArgument, std::string(what) + ": " + std::to_string(n) + " tensors given, boundary " +
                                                   std::to_string(k) + " of '" + layout.model + "' has " +
                                                   std::to_string(want.size()));
  if (n > 0 && views == nullptr) return Error(StatusCode::kInvalidArgument, std::string(what) + ": null array");
  for (int i = 0; i < n; ++i) {
    const TensorView& v = views[i];
    const TensorSpec& s = want[static_cast<size_t>(i)];
    if (v.data == nullptr)
      return Error(StatusCode::kInvalidArgument, std::string(what) + "[" + std::to_string(i) + "]: null data");
    if (v.c != s.c || v.h != s.h || v.w != s.w)
      return Error(StatusCode::kInvalidArgument,
                   std::string(what) + "[" + std::to_string(i) + "]: shape " + spec_str(v.c, v.h, v.w) +
                       " (CxHxW), boundary " + std::to_string(k) + " expects " + spec_str(s.c, s.h, s.w) +
                       " (output of layer " + std::to_string(s.producer) + ")");
  }
  return Status::Ok();
}

class FunctionExecutor final : public BlockExecutor {
 public:
  FunctionExecutor(BoundaryLayout layout, BlockFn fn, void* user, std::string name)
      : layout_(std::move(layout)), fn_(fn), user_(user), name_(std::move(name)) {}
  const BoundaryLayout& layout() const noexcept override { return layout_; }
  Status run_block(int block, const TensorView* inputs, int n_in, TensorView* outputs, int n_out) noexcept override {
    HETSCHED_RETURN_IF_ERROR(check_block_args(layout_, block, inputs, n_in, outputs, n_out));
    return fn_(user_, block, inputs, n_in, outputs, n_out);
  }
  const char* engine() const noexcept override { return name_.c_str(); }

 private:
  BoundaryLayout layout_;
  BlockFn fn_;
  void* user_;
  std::string name_;
};

bool same_layout(const BoundaryLayout& a, const BoundaryLayout& b) {
  if (a.model != b.model || a.boundary.size() != b.boundary.size()) return false;
  for (size_t k = 0; k < a.boundary.size(); ++k) {
    if (a.boundary[k].size() != b.boundary[k].size()) return false;
    for (size_t i = 0; i < a.boundary[k].size(); ++i) {
      const TensorSpec &x = a.boundary[k][i], &y = b.boundary[k][i];
      if (x.producer != y.producer || x.c != y.c || x.h != y.h || x.w != y.w) return false;
    }
  }
  return true;
}

}  // namespace

std::int64_t BoundaryLayout::boundary_floats(int k) const noexcept {
  if (k < 0 || k >= static_cast<int>(boundary.size())) return 0;
  std::int64_t n = 0;
  for (const TensorSpec& s : boundary[static_cast<size_t>(k)]) n += s.elements();
  return n;
}

Status check_block_args(const BoundaryLayout& layout, int block, const TensorView* inputs, int n_in,
                        const TensorView* outputs, int n_out) noexcept {
  if (block < 0 || block >= layout.num_blocks())
    return Error(StatusCode::kOutOfRange, "block " + std::to_string(block) + " not in [0, " +
                                              std::to_string(layout.num_blocks()) + ") of '" + layout.model + "'");
  HETSCHED_RETURN_IF_ERROR(check_views(layout, block, inputs, n_in, "inputs"));
  return check_views(layout, block + 1, outputs, n_out, "outputs");
}

Result<std::unique_ptr<BlockExecutor>> make_function_executor(BoundaryLayout layout, BlockFn fn, void* user,
                                                              std::string engine_name) {
  if (fn == nullptr) return Error(StatusCode::kInvalidArgument, "make_function_executor: fn is null");
  if (layout.num_blocks() < 1)
    return Error(StatusCode::kInvalidArgument, "make_function_executor: layout of '" + layout.model + "' has no blocks");
  if (engine_name.empty()) engine_name = "user";
  return std::unique_ptr<BlockExecutor>(new FunctionExecutor(std::move(layout), fn, user, std::move(engine_name)));
}

Status ExecutorRegistry::add(const std::string& unit, std::shared_ptr<BlockExecutor> executor) {
  if (unit.empty()) return Error(StatusCode::kInvalidArgument, "ExecutorRegistry: empty unit name");
  if (!executor) return Error(StatusCode::kInvalidArgument, "ExecutorRegistry: null executor for unit '" + unit + "'");
  if (find(unit)) return Error(StatusCode::kInvalidArgument, "ExecutorRegistry: unit '" + unit + "' already registered");
  if (!entries_.empty() && !same_layout(entries_.front().second->layout(), executor->layout()))
    return Error(StatusCode::kInvalidArgument,
                 "ExecutorRegistry: unit '" + unit + "' runs model '" + executor->layout().model +
                     "' with another block layout than unit '" + entries_.front().first + "' ('" +
                     entries_.front().second->layout().model + "')");
  entries_.emplace_back(unit, std::move(executor));
  return Status::Ok();
}

BlockExecutor* ExecutorRegistry::find(const std::string& unit) const noexcept {
  for (const auto& e : entries_)
    if (e.first == unit) return e.second.get();
  return nullptr;
}

std::vector<std::string> ExecutorRegistry::units() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.first);
  return out;
}

}  // namespace hetsched

// ---- Eigen CPU executor ------------------------------------------------------------------------
namespace hetsched::runtime {

using policies::OpType;

AlignedFloats::AlignedFloats(std::int64_t n) : n_(n) {
  // aligned_alloc needs a size that is a multiple of the alignment; never ask for 0 bytes.
  const std::size_t bytes = static_cast<std::size_t>(align_floats(std::max<std::int64_t>(n, 1))) * sizeof(float);
  p_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
  if (!p_) throw std::bad_alloc();
}

void boundary_views(const BoundaryLayout& layout, int k, float* buffer, TensorView* views) noexcept {
  for (const TensorSpec& s : layout.boundary[static_cast<size_t>(k)]) {
    *views++ = {buffer, s.c, s.h, s.w};
    buffer += s.elements();
  }
}

Result<std::shared_ptr<const EigenModel>> EigenModel::create(const policies::ModelDesc& model,
                                                             const ExecutorOptions& options) {
  auto plan = plan_model(model);
  if (!plan.ok()) return plan.status();
  auto m = std::shared_ptr<EigenModel>(new EigenModel());
  m->plan_ = std::move(plan).value();
  try {
    m->params_ = AlignedFloats(m->plan_.param_floats);
  } catch (const std::bad_alloc&) {
    return Error(StatusCode::kInternal, "model '" + model.name + "': cannot allocate " +
                                            std::to_string(m->plan_.param_floats * 4) + " bytes of weights");
  }
  if (options.weights_path.empty()) {
    synthesize_weights(m->plan_, options.seed, m->params_.data());
  } else {
    HETSCHED_RETURN_IF_ERROR(load_weights(options.weights_path, m->plan_, m->params_.data()));
  }
  return std::shared_ptr<const EigenModel>(std::move(m));
}

Status EigenModel::save_weights(const std::string& path) const {
  return runtime::save_weights(path, plan_, params_.data());
}

Result<std::unique_ptr<EigenExecutor>> EigenExecutor::create(std::shared_ptr<const EigenModel> model) {
  if (!model) return Error(StatusCode::kInvalidArgument, "EigenExecutor::create: null model");
  std::unique_ptr<EigenExecutor> e(new EigenExecutor(model));
  const ModelPlan& p = model->plan();
  std::int64_t max_floats = 0;
  size_t max_count = 0;
  for (int k = 0; k <= p.layout.num_blocks(); ++k) {
    max_floats = std::max(max_floats, p.layout.boundary_floats(k));
    max_count = std::max(max_count, p.layout.boundary[static_cast<size_t>(k)].size());
  }
  try {
    e->arena_ = AlignedFloats(p.arena_floats);
    e->scratch_ = AlignedFloats(p.scratch_floats);
    e->ping_ = AlignedFloats(max_floats);
    e->pong_ = AlignedFloats(max_floats);
    e->ping_views_.resize(max_count);
    e->pong_views_.resize(max_count);
  } catch (const std::bad_alloc&) {
    return Error(StatusCode::kInternal, "model '" + p.name + "': cannot allocate the executor workspace");
  }
  return e;
}

Status EigenExecutor::run_block(int block, const TensorView* inputs, int n_in, TensorView* outputs,
                                int n_out) noexcept {
  HETSCHED_RETURN_IF_ERROR(check_block_args(layout(), block, inputs, n_in, outputs, n_out));
  run_layers(model_->plan().blocks[static_cast<size_t>(block)], inputs, outputs);
  return Status::Ok();
}

Status EigenExecutor::run_range(int first, int end, const TensorView* inputs, int n_in, TensorView* outputs,
                                int n_out) noexcept {
  const BoundaryLayout& l = layout();
  if (first < 0 || end > l.num_blocks() || first >= end)
    return Error(StatusCode::kOutOfRange, "run_range: blocks [" + std::to_string(first) + ", " + std::to_string(end) +
                                              ") not a non-empty range of [0, " + std::to_string(l.num_blocks()) + ")");
  HETSCHED_RETURN_IF_ERROR(check_views(l, first, inputs, n_in, "inputs"));
  HETSCHED_RETURN_IF_ERROR(check_views(l, end, outputs, n_out, "outputs"));
  const TensorView* in = inputs;
  for (int b = first; b < end; ++b) {
    TensorView* out = outputs;
    if (b + 1 < end) {  // alternate the intermediate boundaries between ping and pong
      const bool use_ping = (b - first) % 2 == 0;
      out = use_ping ? ping_views_.data() : pong_views_.data();
      boundary_views(l, b + 1, use_ping ? ping_.data() : pong_.data(), out);
    }
    run_layers(model_->plan().blocks[static_cast<size_t>(b)], in, out);
    in = out;
  }
  return Status::Ok();
}

void EigenExecutor::run_layers(const BlockPlan& bp, const TensorView* inputs, TensorView* outputs) noexcept {
  const ModelPlan& plan = model_->plan();
  float* arena = arena_.data();
  auto ptr = [&](const Slot& s) -> float* {
    switch (s.kind) {
      case Slot::Kind::kInput: return inputs[s.index].data;
      case Slot::Kind::kOutput: return outputs[s.index].data;
      case Slot::Kind::kArena: break;
    }
    return arena + s.index;
  };
  for (const auto& [i, o] : bp.pass_through)
    std::memcpy(outputs[o].data, inputs[i].data, sizeof(float) * static_cast<size_t>(outputs[o].elements()));
  std::array<const float*, kMaxLayerInputs> in{};
  std::array<std::int64_t, kMaxLayerInputs> sizes{};
  for (int i = bp.first; i < bp.end; ++i) {
    const LayerPlan& lp = plan.layers[static_cast<size_t>(i)];
    const auto& slots = bp.in[static_cast<size_t>(i - bp.first)];
    const int n_in = static_cast<int>(slots.size());
    for (int k = 0; k < n_in; ++k) {
      in[static_cast<size_t>(k)] = ptr(slots[static_cast<size_t>(k)]);
      const int src = lp.inputs[static_cast<size_t>(k)];
      sizes[static_cast<size_t>(k)] =
          src < 0 ? plan.input.elements() : plan.layers[static_cast<size_t>(src)].out.elements();
    }
    float* out = ptr(bp.out[static_cast<size_t>(i - bp.first)]);
    const float* w = model_->params() + lp.param_offset;
    const float* bias = w + lp.weight_floats;
    const std::int64_t n = lp.out.elements();
    bool act_done = true;  // whether the kernel already applied lp.act
    switch (lp.op) {
      case OpType::kConv:
      case OpType::kPointwiseConv:
      case OpType::kDepthwiseConv: conv2d(lp.conv, in[0], w, bias, out, scratch_.data()); break;
      case OpType::kFullyConnected: fully_connected(lp.fc_in, lp.out.c, in[0], w, bias, out, lp.act); break;
      case OpType::kAdd: add(in.data(), n_in, n, out, lp.act); break;
      case OpType::kMaxPool: max_pool(lp.pool, in[0], out); act_done = false; break;
      case OpType::kAvgPool: avg_pool(lp.pool, in[0], out); act_done = false; break;
      case OpType::kConcat: concat(in.data(), sizes.data(), n_in, out); act_done = false; break;
      case OpType::kRelu: activate(in[0], n, Act::kRelu, out); act_done = false; break;
      case OpType::kRelu6: activate(in[0], n, Act::kRelu6, out); act_done = false; break;
      case OpType::kLeakyRelu: activate(in[0], n, Act::kLeakyRelu, out); act_done = false; break;
      case OpType::kUpsample: {
        const int c = lp.out.c, h = lp.out.h / lp.factor, wd = lp.out.w / lp.factor;
        upsample_nearest(c, h, wd, lp.factor, in[0], out);
        act_done = false;
        break;
      }
      case OpType::kLrn:
        lrn(lp.out.c, lp.out.h, lp.out.w, lp.lrn_size, kLrnAlpha, kLrnBeta, kLrnK, in[0], out);
        act_done = false;
        break;
      case OpType::kSoftmax: softmax(lp.out.c, lp.out.h, lp.out.w, in[0], out); act_done = false; break;
      case OpType::kCount: break;
    }
    if (!act_done && lp.act != Act::kNone) activate(out, n, lp.act, out);
  }
}

}  // namespace hetsched::runtime
