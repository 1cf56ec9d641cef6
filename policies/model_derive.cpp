// Derivation and structural validation of a model: shapes, MACs, bytes, op types, block and
// grouping checks. Shared by the JSON loader (model.cpp) and by code that builds or edits a
// ModelDesc (e.g. the same graph at another input size). Errors name the model file (or the
// model) and the field as it is spelled in the JSON, e.g. "blocks[1].first".
#include <algorithm>

#include "policies/model.hpp"

namespace hetsched::policies {

namespace {

constexpr const char* kOpNames[] = {"conv",    "dwconv",     "pwconv", "maxpool", "avgpool",
                                    "fc",      "add",        "concat", "relu",    "relu6",
                                    "leaky_relu", "upsample", "lrn",   "softmax"};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<size_t>(OpType::kCount));

}  // namespace

const char* op_name(OpType op) noexcept {
  const auto i = static_cast<size_t>(op);
  return i < static_cast<size_t>(OpType::kCount) ? kOpNames[i] : "none";
}

bool parse_op(const std::string& name, OpType* out) noexcept {
  for (size_t i = 0; i < static_cast<size_t>(OpType::kCount); ++i) {
    if (name == kOpNames[i]) {
      *out = static_cast<OpType>(i);
      return true;
    }
  }
  return false;
}

const Grouping* ModelDesc::grouping_with(int groups) const noexcept {
  for (const Grouping& g : groupings)
    if (static_cast<int>(g.end.size()) == groups) return &g;
  return nullptr;
}

int ModelDesc::grouping_index(const std::string& grouping_name) const noexcept {
  for (size_t i = 0; i < groupings.size(); ++i)
    if (groupings[i].name == grouping_name) return static_cast<int>(i);
  return -1;
}

double ModelDesc::total_macs() const noexcept {
  double s = 0;
  for (const BlockDesc& b : blocks) s += b.macs;
  return s;
}

std::int64_t ModelDesc::total_param_bytes() const noexcept {
  std::int64_t s = 0;
  for (const BlockDesc& b : blocks) s += b.param_bytes;
  return s;
}

namespace {

struct Ctx {
  std::string file;
  Status err(const std::string& field, const std::string& what) const {
    return Error(StatusCode::kCorrupt, file + ": " + field + ": " + what);
  }
};

// Producers must come earlier (the layer list is a topological order); add/concat take >= 2
// inputs, every other op exactly one. Empty inputs mean "the previous layer".
Status check_inputs(const Ctx& c, LayerDesc& l, int i) {
  const std::string p = "layers[" + std::to_string(i) + "].";
  if (l.inputs.empty()) l.inputs.push_back(i - 1);  // -1 for layer 0 = the model input
  for (size_t k = 0; k < l.inputs.size(); ++k) {
    const int src = l.inputs[k];
    const std::string fk = p + "inputs[" + std::to_string(k) + "]";
    if (src < -1) return c.err(fk, std::to_string(src) + " is not a layer index (-1 = model input)");
    if (src >= i)
      return c.err(fk, "refers to layer " + std::to_string(src) + (src == i ? " which is the layer itself" : " which comes later"));
  }
  const bool multi = l.op == OpType::kAdd || l.op == OpType::kConcat;
  if (multi && l.inputs.size() < 2) return c.err(p + "inputs", std::string("op ") + op_name(l.op) + " needs at least 2 inputs");
  if (!multi && l.inputs.size() > 1)
    return c.err(p + "inputs", std::string("op ") + op_name(l.op) + " takes one input, got " + std::to_string(l.inputs.size()));
  if (l.op == OpType::kCount) return c.err(p + "op", "no op");
  if (l.kernel < 1 || l.stride < 1 || l.pad < 0 || l.groups < 1)
    return c.err(p + "kernel", "kernel, stride and groups must be >= 1 and pad >= 0");
  return Status::Ok();
}

// Output size of a sliding window: floor((n + 2p - k) / s) + 1, or Caffe's ceil variant, which
// drops the last window if it would start entirely inside the padding.
int window_out(int n, int k, int s, int p, bool ceil_mode) {
  const int span = n + 2 * p - k;
  if (span < 0) return 0;
  int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && p > 0 && (out - 1) * s >= n + p) --out;
  return out;
}

// Derives out shape, MACs, elem_ops and param bytes of layer i from its inputs.
Status derive_layer(const Ctx& c, const TensorShape& model_in, std::vector<LayerDesc>& layers, int i) {
  LayerDesc& l = layers[static_cast<size_t>(i)];
  const std::string p = "layers[" + std::to_string(i) + "].";
  auto shape_of = [&](int src) { return src < 0 ? model_in : layers[static_cast<size_t>(src)].out; };
  // Re-derivable: a model edited in code (e.g. another input size) is derived again from scratch.
  l.macs = l.elem_ops = 0;
  l.param_bytes = 0;
  const TensorShape in = shape_of(l.inputs[0]);
  const double in_el = static_cast<double>(in.elements());
  switch (l.op) {
    case OpType::kConv:
    case OpType::kPointwiseConv:
    case OpType::kDepthwiseConv: {
      int groups = l.groups;
      if (l.op == OpType::kDepthwiseConv) {
        groups = in.c;
        if (l.out_channels == 0) l.out_channels = in.c;
        if (l.out_channels % in.c != 0)
          return c.err(p + "out_channels", std::to_string(l.out_channels) + " is not a multiple of the " +
                                               std::to_string(in.c) + " input channels (depth multiplier)");
        l.groups = groups;
      }
      if (in.c % groups != 0 || l.out_channels % groups != 0)
        return c.err(p + "groups", std::to_string(groups) + " does not divide input channels " + std::to_string(in.c) +
                                       " and out_channels " + std::to_string(l.out_channels));
      if (l.kernel > in.h + 2 * l.pad || l.kernel > in.w + 2 * l.pad)
        return c.err(p + "kernel", std::to_string(l.kernel) + " larger than the padded input " + std::to_string(in.h) +
                                       "x" + std::to_string(in.w) + " + 2*" + std::to_string(l.pad));
      l.out = {l.out_channels, window_out(in.h, l.kernel, l.stride, l.pad, false),
               window_out(in.w, l.kernel, l.stride, l.pad, false)};
      // MACs = out elements x (in_c / groups) x k^2: each output sums over its group's window.
      const double per_out = static_cast<double>(in.c / groups) * l.kernel * l.kernel;
      l.macs = static_cast<double>(l.out.elements()) * per_out;
      l.param_bytes = 4 * (static_cast<std::int64_t>(l.out_channels) * (in.c / groups) * l.kernel * l.kernel +
                           l.out_channels);
      l.elem_ops = l.activation != OpType::kCount ? static_cast<double>(l.out.elements()) : 0.0;
      break;
    }
    case OpType::kFullyConnected:
      l.out = {l.out_channels, 1, 1};
      l.macs = in_el * l.out_channels;
      l.param_bytes = 4 * (in.elements() * l.out_channels + l.out_channels);
      l.elem_ops = l.activation != OpType::kCount ? l.out_channels : 0;
      break;
    case OpType::kMaxPool:
    case OpType::kAvgPool:
      if (l.global_pool) {
        if (in.h != in.w) return c.err(p + "global", "global pool needs a square input, got " + std::to_string(in.h) + "x" + std::to_string(in.w));
        l.kernel = in.h;
        l.stride = 1;
        l.pad = 0;
      }
      if (l.kernel > in.h + 2 * l.pad || l.kernel > in.w + 2 * l.pad)
        return c.err(p + "kernel", std::to_string(l.kernel) + " larger than the padded input " + std::to_string(in.h) +
                                       "x" + std::to_string(in.w));
      l.out = {in.c, window_out(in.h, l.kernel, l.stride, l.pad, l.ceil_mode),
               window_out(in.w, l.kernel, l.stride, l.pad, l.ceil_mode)};
      l.elem_ops = static_cast<double>(l.out.elements()) * l.kernel * l.kernel;  // window reads
      break;
    case OpType::kAdd:
    case OpType::kConcat: {
      TensorShape o = in;
      for (size_t k = 1; k < l.inputs.size(); ++k) {
        const TensorShape s = shape_of(l.inputs[k]);
        const bool same_plane = s.h == in.h && s.w == in.w;
        if (l.op == OpType::kAdd ? (!same_plane || s.c != in.c) : !same_plane) {
          auto str = [](const TensorShape& t) {
            return std::to_string(t.c) + "x" + std::to_string(t.h) + "x" + std::to_string(t.w);
          };
          return c.err(p + "inputs[" + std::to_string(k) + "]",
                       std::string(l.op == OpType::kAdd ? "add" : "concat") + " shape mismatch: layer " +
                           std::to_string(l.inputs[k]) + " is " + str(s) + " (CxHxW) but layer " +
                           std::to_string(l.inputs[0]) + " is " + str(in) +
                           (l.op == OpType::kAdd ? "" : " (concat needs equal HxW)"));
        }
        if (l.op == OpType::kConcat) {
          if (static_cast<std::int64_t>(o.c) + s.c > kMaxModelDim)
            return c.err(p + "inputs", "concat exceeds " + std::to_string(kMaxModelDim) + " channels");
          o.c += s.c;
        }
      }
      l.out = o;
      l.elem_ops = static_cast<double>(o.elements()) * (l.op == OpType::kAdd ? static_cast<double>(l.inputs.size() - 1) : 1.0);
      break;
    }
    case OpType::kUpsample:
      if (static_cast<std::int64_t>(in.h) * l.stride > kMaxModelDim || static_cast<std::int64_t>(in.w) * l.stride > kMaxModelDim)
        return c.err(p + "stride", "upsampled plane exceeds " + std::to_string(kMaxModelDim) + " pixels per side");
      l.out = {in.c, in.h * l.stride, in.w * l.stride};
      l.elem_ops = static_cast<double>(l.out.elements());
      break;
    case OpType::kLrn:
      l.out = in;
      l.elem_ops = in_el * l.kernel;  // cross-channel window of `kernel` squares per element
      break;
    case OpType::kSoftmax:
      l.out = in;
      l.elem_ops = 3 * in_el;  // max, exp-sum, divide
      break;
    case OpType::kRelu:
    case OpType::kRelu6:
    case OpType::kLeakyRelu:
      l.out = in;
      l.elem_ops = in_el;
      break;
    case OpType::kCount:
      return c.err(p + "op", "internal: no op");
  }
  // Bound tensor sizes so elements() and byte counts cannot overflow int64 downstream.
  if (static_cast<double>(l.out.c) * l.out.h * l.out.w > kMaxModelElements)
    return c.err(p + "op", "output tensor larger than 2^32 elements");
  if (l.param_bytes > (std::int64_t{1} << 40)) return c.err(p + "op", "more than 1 TiB of weights");
  if (l.out.c <= 0 || l.out.h <= 0 || l.out.w <= 0)
    return c.err(p + "op", "output shape " + std::to_string(l.out.c) + "x" + std::to_string(l.out.h) + "x" +
                               std::to_string(l.out.w) + " is empty (input too small for kernel/stride)");
  return Status::Ok();
}

// Blocks must tile the layer list in order: a gap or overlap would make a layer unplaceable or
// placed twice.
Status check_blocks(const Ctx& c, const ModelDesc& m) {
  if (m.blocks.empty()) return c.err("blocks", "must be a non-empty array");
  if (m.num_blocks() > 96) return c.err("blocks", std::to_string(m.num_blocks()) + " blocks; at most 96 (kMaxBlocks)");
  const int num_layers = static_cast<int>(m.layers.size());
  int expect = 0;
  for (size_t b = 0; b < m.blocks.size(); ++b) {
    const std::string f = "blocks[" + std::to_string(b) + "]";
    const BlockDesc& bd = m.blocks[b];
    if (bd.first_layer != expect)
      return c.err(f + ".first", std::to_string(bd.first_layer) + " but the previous block ended at layer " +
                                     std::to_string(expect) + " (blocks must cover all layers in order)");
    if (bd.end_layer <= bd.first_layer)
      return c.err(f + ".end", std::to_string(bd.end_layer) + " must be greater than first (" +
                                   std::to_string(bd.first_layer) + "); a block needs at least one layer");
    if (bd.end_layer > num_layers)
      return c.err(f + ".end", std::to_string(bd.end_layer) + " is past the last layer (" +
                                   std::to_string(num_layers) + " layers)");
    expect = bd.end_layer;
  }
  if (expect != num_layers)
    return c.err("blocks[" + std::to_string(m.blocks.size() - 1) + "].end",
                 "blocks end at layer " + std::to_string(expect) + " but there are " + std::to_string(num_layers) +
                     " layers (blocks must cover all layers)");
  return Status::Ok();
}

Status check_groupings(const Ctx& c, const ModelDesc& m) {
  for (size_t g = 0; g < m.groupings.size(); ++g) {
    const std::string f = "groupings[" + std::to_string(g) + "]";
    const Grouping& gr = m.groupings[g];
    if (gr.end.empty()) return c.err(f + ".end", "must be a non-empty array of block indices (exclusive group ends)");
    int prev = 0;
    for (size_t k = 0; k < gr.end.size(); ++k) {
      const std::string fk = f + ".end[" + std::to_string(k) + "]";
      const int v = gr.end[k];
      if (v <= prev)
        return c.err(fk, std::to_string(v) + " is not greater than the previous end " + std::to_string(prev) +
                             " (ends must be strictly increasing, first > 0)");
      if (v > m.num_blocks()) return c.err(fk, std::to_string(v) + " is past the block count " + std::to_string(m.num_blocks()));
      prev = v;
    }
    if (prev != m.num_blocks())
      return c.err(f + ".end", "last end is " + std::to_string(prev) + " but the model has " +
                                   std::to_string(m.num_blocks()) + " blocks (groups must cover all blocks)");
    for (size_t o = 0; o < g; ++o) {
      if (m.groupings[o].name == gr.name) return c.err(f + ".name", "duplicate grouping name '" + gr.name + "'");
      if (m.groupings[o].end.size() == gr.end.size())
        return c.err(f + ".end", "two groupings with " + std::to_string(gr.end.size()) + " groups ('" +
                                     m.groupings[o].name + "', '" + gr.name + "'): an order string would be ambiguous");
    }
  }
  return Status::Ok();
}

// Per-block sums, op types, output bytes and cut bytes.
void derive_blocks(ModelDesc* m) {
  for (BlockDesc& bd : m->blocks) {
    bd.macs = bd.elem_ops = 0;
    bd.param_bytes = bd.output_bytes = bd.cut_bytes = 0;
    bd.op_types.clear();
  }
  const int n = static_cast<int>(m->layers.size());
  std::vector<int> block_of(static_cast<size_t>(n));
  for (int b = 0; b < m->num_blocks(); ++b)
    for (int i = m->blocks[static_cast<size_t>(b)].first_layer; i < m->blocks[static_cast<size_t>(b)].end_layer; ++i)
      block_of[static_cast<size_t>(i)] = b;
  // last_use[i] = last layer consuming layer i's output; -1 if none (a model output).
  std::vector<int> last_use(static_cast<size_t>(n), -1);
  for (int i = 0; i < n; ++i)
    for (int src : m->layers[static_cast<size_t>(i)].inputs)
      if (src >= 0) last_use[static_cast<size_t>(src)] = i;
  for (int b = 0; b < m->num_blocks(); ++b) {
    BlockDesc& bd = m->blocks[static_cast<size_t>(b)];
    for (int i = bd.first_layer; i < bd.end_layer; ++i) {
      const LayerDesc& l = m->layers[static_cast<size_t>(i)];
      bd.macs += l.macs;
      bd.elem_ops += l.elem_ops;
      bd.param_bytes += l.param_bytes;
      if (std::find(bd.op_types.begin(), bd.op_types.end(), l.op) == bd.op_types.end()) bd.op_types.push_back(l.op);
      const int lu = last_use[static_cast<size_t>(i)];
      if (lu == -1 || block_of[static_cast<size_t>(lu)] != b) bd.output_bytes += 4 * l.out.elements();
    }
    // A tensor crosses the cut after block b if it is produced at or before b and consumed after b.
    if (b + 1 < m->num_blocks()) {
      for (int i = 0; i < bd.end_layer; ++i) {
        const int lu = last_use[static_cast<size_t>(i)];
        if (lu >= bd.end_layer) bd.cut_bytes += 4 * m->layers[static_cast<size_t>(i)].out.elements();
      }
    }
  }
}

}  // namespace

Status derive_model(ModelDesc* m) {
  const Ctx c{m->path.empty() ? "model " + m->name : m->path};
  if (m->input.c < 1 || m->input.h < 1 || m->input.w < 1 || m->input.c > kMaxModelDim || m->input.h > kMaxModelDim ||
      m->input.w > kMaxModelDim)
    return c.err("input", "c, h, w must be in [1, " + std::to_string(kMaxModelDim) + "]");
  if (static_cast<double>(m->input.elements()) > kMaxModelElements) return c.err("input", "larger than 2^32 elements");
  if (m->layers.empty()) return c.err("layers", "missing or empty (array of layers)");
  for (int i = 0; i < static_cast<int>(m->layers.size()); ++i) {
    HETSCHED_RETURN_IF_ERROR(check_inputs(c, m->layers[static_cast<size_t>(i)], i));
    HETSCHED_RETURN_IF_ERROR(derive_layer(c, m->input, m->layers, i));
  }
  HETSCHED_RETURN_IF_ERROR(check_blocks(c, *m));
  HETSCHED_RETURN_IF_ERROR(check_groupings(c, *m));
  derive_blocks(m);
  return Status::Ok();
}

}  // namespace hetsched::policies
