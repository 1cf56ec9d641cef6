#include "runtime/kernel_plan.hpp"

#include "runtime/kernel_gemm.hpp"

#include <algorithm>
#include <limits>

namespace hetsched::runtime {
namespace {

using policies::OpType;
using policies::TensorShape;

std::string shape_str(const TensorShape& s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

struct Ctx {
  const policies::ModelDesc& m;
  Status err(int layer, const std::string& field, const std::string& what) const {
    std::string where = "model '" + m.name + "'";
    if (layer >= 0) {
      where += " layers[" + std::to_string(layer) + "] '" + m.layers[static_cast<size_t>(layer)].name + "'";
    }
    if (!field.empty()) where += " ." + field;
    return Error(StatusCode::kInvalidArgument, where + ": " + what);
  }
};

Status fused_act(const Ctx& c, int i, OpType a, Act* out) {
  switch (a) {
    case OpType::kCount: *out = Act::kNone; return Status::Ok();
    case OpType::kRelu: *out = Act::kRelu; return Status::Ok();
    case OpType::kRelu6: *out = Act::kRelu6; return Status::Ok();
    case OpType::kLeakyRelu: *out = Act::kLeakyRelu; return Status::Ok();
    default: return c.err(i, "activation", std::string("op '") + policies::op_name(a) + "' cannot be fused");
  }
}

// Kernel parameters and output shape of layer i (inputs already resolved and earlier).
Status plan_layer(const Ctx& c, const std::vector<TensorShape>& shapes, int i, LayerPlan* lp) {
  const policies::LayerDesc& l = c.m.layers[static_cast<size_t>(i)];
  auto shape_of = [&](int src) { return src < 0 ? c.m.input : shapes[static_cast<size_t>(src)]; };
  const TensorShape in = shape_of(lp->inputs[0]);
  const bool multi = l.op == OpType::kAdd || l.op == OpType::kConcat;
  if (!multi && lp->inputs.size() != 1) return c.err(i, "inputs", "this op takes exactly one input");
  if (static_cast<int>(lp->inputs.size()) > kMaxLayerInputs)
    return c.err(i, "inputs", "more than " + std::to_string(kMaxLayerInputs) + " inputs");
  HETSCHED_RETURN_IF_ERROR(fused_act(c, i, l.activation, &lp->act));
  // Hand-built descriptions skip the loader's bounds; keep all int arithmetic below overflow.
  for (const auto& [field, v] : {std::pair<const char*, int>{"out_channels", l.out_channels}, {"kernel", l.kernel},
                                 {"stride", l.stride}, {"pad", l.pad}, {"groups", l.groups}})
    if (v > policies::kMaxModelDim) return c.err(i, field, std::to_string(v) + " exceeds " + std::to_string(policies::kMaxModelDim));
  if (l.stride < 1) return c.err(i, "stride", "must be >= 1, got " + std::to_string(l.stride));
  if (l.pad < 0) return c.err(i, "pad", "must be >= 0, got " + std::to_string(l.pad));
  switch (l.op) {
    case OpType::kConv:
    case OpType::kPointwiseConv:
    case OpType::kDepthwiseConv: {
      const int groups = l.op == OpType::kDepthwiseConv ? in.c : l.groups;
      const int out_c = (l.op == OpType::kDepthwiseConv && l.out_channels == 0) ? in.c : l.out_channels;
      if (out_c <= 0) return c.err(i, "out_channels", "must be > 0");
      if (l.kernel < 1) return c.err(i, "kernel", "must be >= 1");
      if (groups < 1 || in.c % groups != 0 || out_c % groups != 0)
        return c.err(i, "groups", std::to_string(groups) + " must divide input channels " + std::to_string(in.c) +
                                      " and out_channels " + std::to_string(out_c));
      ConvParams& p = lp->conv;
      p = {in.c, in.h, in.w, out_c, conv_out_size(in.h, l.kernel, l.stride, l.pad),
           conv_out_size(in.w, l.kernel, l.stride, l.pad), l.kernel, l.kernel, l.stride, l.pad, groups, lp->act};
      lp->out = {out_c, p.out_h, p.out_w};
      lp->weight_floats = std::int64_t{out_c} * (in.c / groups) * l.kernel * l.kernel;
      lp->bias_floats = out_c;
      lp->scratch_floats = conv2d_scratch_floats(p);
      break;
    }
    case OpType::kFullyConnected:
      if (l.out_channels <= 0) return c.err(i, "out_channels", "must be > 0");
      if (in.elements() > std::numeric_limits<int>::max()) return c.err(i, "inputs", "input too large for fc");
      lp->fc_in = static_cast<int>(in.elements());
      lp->out = {l.out_channels, 1, 1};
      lp->weight_floats = std::int64_t{l.out_channels} * lp->fc_in;
      lp->bias_floats = l.out_channels;
      break;
    case OpType::kMaxPool:
    case OpType::kAvgPool: {
      PoolParams& p = lp->pool;
      if (l.global_pool) {
        p = {in.c, in.h, in.w, 1, 1, in.h, in.w, 1, 0};
      } else {
        if (l.kernel < 1) return c.err(i, "kernel", "must be >= 1");
        p = {in.c, in.h, in.w, pool_out_size(in.h, l.kernel, l.stride, l.pad, l.ceil_mode),
             pool_out_size(in.w, l.kernel, l.stride, l.pad, l.ceil_mode), l.kernel, l.kernel, l.stride, l.pad};
      }
      lp->out = {in.c, p.out_h, p.out_w};
      break;
    }
    case OpType::kAdd:
    case OpType::kConcat: {
      TensorShape o = in;
      for (size_t k = 1; k < lp->inputs.size(); ++k) {
        const TensorShape s = shape_of(lp->inputs[k]);
        if (s.h != in.h || s.w != in.w || (l.op == OpType::kAdd && s.c != in.c))
          return c.err(i, "inputs[" + std::to_string(k) + "]",
                       "shape " + shape_str(s) + " does not match " + shape_str(in) + " (CxHxW)");
        if (l.op == OpType::kConcat) o.c += s.c;
      }
      lp->out = o;
      break;
    }
    case OpType::kUpsample:
      lp->factor = l.stride;  // the model format stores the upsampling factor in "stride"
      if (std::int64_t{std::max(in.h, in.w)} * l.stride > policies::kMaxModelDim)
        return c.err(i, "stride", "upsampling " + shape_str(in) + " by " + std::to_string(l.stride) + " is too large");
      lp->out = {in.c, in.h * l.stride, in.w * l.stride};
      break;
    case OpType::kLrn:
      if (l.kernel < 1) return c.err(i, "kernel", "LRN size must be >= 1");
      lp->lrn_size = l.kernel;
      lp->out = in;
      break;
    case OpType::kRelu:
    case OpType::kRelu6:
    case OpType::kLeakyRelu:
    case OpType::kSoftmax:
      lp->out = in;
      break;
    case OpType::kCount:
      return c.err(i, "op", "no op");
  }
  if (lp->out.c > policies::kMaxModelDim || lp->out.h > policies::kMaxModelDim || lp->out.w > policies::kMaxModelDim ||
      lp->out.elements() > kMaxTensorFloats)
    return c.err(i, "", "output " + shape_str(lp->out) + " too large (limit " + std::to_string(kMaxTensorFloats) + " floats)");
  if (lp->weight_floats + lp->bias_floats > kMaxTensorFloats)
    return c.err(i, "", std::to_string(lp->weight_floats + lp->bias_floats) + " parameters exceed the limit of " +
                            std::to_string(kMaxTensorFloats) + " per layer");
  if (lp->out.c <= 0 || lp->out.h <= 0 || lp->out.w <= 0)
    return c.err(i, "", "empty output " + shape_str(lp->out) + " (input " + shape_str(in) + " too small)");
  if (l.out.c != 0 && (l.out.c != lp->out.c || l.out.h != lp->out.h || l.out.w != lp->out.w))
    return c.err(i, "out", "the model says " + shape_str(l.out) + " but the kernels derive " + shape_str(lp->out));
  return Status::Ok();
}

// First-fit placement of the block's intermediate tensors in one arena: a tensor occupies
// [offset, offset + size) from its producer until its last reader inside the block.
struct ArenaPlanner {
  struct Live { std::int64_t off, size; int last; };
  std::vector<Live> live;  // sorted by offset
  std::int64_t peak = 0;
  std::int64_t place(std::int64_t size, int now, int last) {
    live.erase(std::remove_if(live.begin(), live.end(), [&](const Live& a) { return a.last < now; }), live.end());
    std::int64_t off = 0;
    auto it = live.begin();
    for (; it != live.end(); ++it) {
      if (it->off - off >= size) break;
      off = std::max(off, it->off + it->size);
    }
    live.insert(it, {off, size, last});
    peak = std::max(peak, off + size);
    return off;
  }
};

}  // namespace

Result<ModelPlan> plan_model(const policies::ModelDesc& m) {
  const Ctx c{m};
  const int n = static_cast<int>(m.layers.size());
  ModelPlan mp;
  mp.name = m.name;
  mp.input = m.input;
  if (m.input.c <= 0 || m.input.h <= 0 || m.input.w <= 0 || m.input.c > policies::kMaxModelDim ||
      m.input.h > policies::kMaxModelDim || m.input.w > policies::kMaxModelDim)
    return c.err(-1, "input", "shape " + shape_str(m.input) + " must be positive and <= " +
                                  std::to_string(policies::kMaxModelDim) + " per dimension");
  if (n == 0) return c.err(-1, "layers", "no layers");
  mp.layers.resize(static_cast<size_t>(n));
  std::vector<TensorShape> shapes(static_cast<size_t>(n));
  // last_use[t + 1] for tensor t (t = -1 is the model input); n marks a model output.
  std::vector<int> last_use(static_cast<size_t>(n) + 1, -1);
  for (int i = 0; i < n; ++i) {
    LayerPlan& lp = mp.layers[static_cast<size_t>(i)];
    const policies::LayerDesc& l = m.layers[static_cast<size_t>(i)];
    lp.op = l.op;
    lp.inputs = l.inputs.empty() ? std::vector<int>{i - 1} : l.inputs;
    for (size_t k = 0; k < lp.inputs.size(); ++k) {
      const int src = lp.inputs[k];
      if (src < -1 || src >= i)
        return c.err(i, "inputs[" + std::to_string(k) + "]", "refers to layer " + std::to_string(src) +
                                                                 ", not an earlier layer or -1 (model input)");
      last_use[static_cast<size_t>(src) + 1] = i;
    }
    HETSCHED_RETURN_IF_ERROR(plan_layer(c, shapes, i, &lp));
    shapes[static_cast<size_t>(i)] = lp.out;
    lp.param_offset = mp.param_floats;
    mp.param_floats += lp.weight_floats + lp.bias_floats;
    mp.scratch_floats = std::max(mp.scratch_floats, lp.scratch_floats);
    if (lp.op == OpType::kConv || lp.op == OpType::kDepthwiseConv || lp.op == OpType::kPointwiseConv ||
        lp.op == OpType::kFullyConnected)
      mp.macs += static_cast<double>(lp.weight_floats) * static_cast<double>(lp.out.h) * lp.out.w;
  }
  if (last_use[0] < 0) return c.err(-1, "layers", "no layer reads the model input");
  for (int t = 0; t < n; ++t)
    if (last_use[static_cast<size_t>(t) + 1] < 0) last_use[static_cast<size_t>(t) + 1] = n;  // model output

  // Blocks must tile the layers in order.
  const int nb = m.num_blocks();
  if (nb == 0) return c.err(-1, "blocks", "no blocks");
  for (int b = 0; b < nb; ++b) {
    const policies::BlockDesc& bd = m.blocks[static_cast<size_t>(b)];
    const int expect = b == 0 ? 0 : m.blocks[static_cast<size_t>(b) - 1].end_layer;
    if (bd.first_layer != expect || bd.end_layer <= bd.first_layer || bd.end_layer > n)
      return c.err(-1, "blocks[" + std::to_string(b) + "]",
                   "layers [" + std::to_string(bd.first_layer) + ", " + std::to_string(bd.end_layer) +
                       ") must be non-empty and start at " + std::to_string(expect));
  }
  if (m.blocks.back().end_layer != n) return c.err(-1, "blocks", "do not cover all " + std::to_string(n) + " layers");

  // Boundary k: tensors produced before the first layer of block k and read from it on.
  mp.layout.model = m.name;
  mp.layout.boundary.resize(static_cast<size_t>(nb) + 1);
  for (int k = 0; k <= nb; ++k) {
    const int first = k < nb ? m.blocks[static_cast<size_t>(k)].first_layer : n;
    for (int t = -1; t < first; ++t) {
      if (last_use[static_cast<size_t>(t) + 1] < first) continue;
      const TensorShape s = t < 0 ? m.input : shapes[static_cast<size_t>(t)];
      mp.layout.boundary[static_cast<size_t>(k)].push_back({t, s.c, s.h, s.w});
    }
  }

  // Per block: slot of every tensor a layer reads or writes.
  for (int b = 0; b < nb; ++b) {
    BlockPlan bp;
    bp.first = m.blocks[static_cast<size_t>(b)].first_layer;
    bp.end = m.blocks[static_cast<size_t>(b)].end_layer;
    const auto& ins = mp.layout.boundary[static_cast<size_t>(b)];
    const auto& outs = mp.layout.boundary[static_cast<size_t>(b) + 1];
    auto pos = [](const std::vector<TensorSpec>& v, int t) {
      for (size_t j = 0; j < v.size(); ++j)
        if (v[j].producer == t) return static_cast<int>(j);
      return -1;
    };
    for (size_t j = 0; j < outs.size(); ++j)
      if (outs[j].producer < bp.first) bp.pass_through.emplace_back(pos(ins, outs[j].producer), static_cast<int>(j));
    std::vector<Slot> slot_of(static_cast<size_t>(bp.end - bp.first));
    ArenaPlanner arena;
    for (int i = bp.first; i < bp.end; ++i) {
      const LayerPlan& lp = mp.layers[static_cast<size_t>(i)];
      std::vector<Slot> in_slots;
      for (int src : lp.inputs) {
        if (src >= bp.first) {
          in_slots.push_back(slot_of[static_cast<size_t>(src - bp.first)]);
        } else {
          const int j = pos(ins, src);
          if (j < 0) return Error(StatusCode::kInternal, "plan: tensor of layer " + std::to_string(src) + " missing");
          in_slots.push_back({Slot::Kind::kInput, j});
        }
      }
      const int j = pos(outs, i);
      Slot s = j >= 0 ? Slot{Slot::Kind::kOutput, j}
                      : Slot{Slot::Kind::kArena, arena.place(align_floats(lp.out.elements()), i,
                                                              last_use[static_cast<size_t>(i) + 1])};
      slot_of[static_cast<size_t>(i - bp.first)] = s;
      bp.out.push_back(s);
      bp.in.push_back(std::move(in_slots));
    }
    bp.arena_floats = arena.peak;
    mp.arena_floats = std::max(mp.arena_floats, bp.arena_floats);
    mp.blocks.push_back(std::move(bp));
  }
  return mp;
}

}  // namespace hetsched::runtime
