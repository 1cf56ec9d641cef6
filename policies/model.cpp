// Model file loader (format: docs/models.md). Parses, validates and derives everything once
// (shapes, MACs, bytes, op types), so env/ and runtime/ can index layers and blocks unchecked.
//
// Strictness: unknown keys are errors (a typo such as "kernal" must not silently become a
// 1x1 kernel). Every error names the file and the field, e.g.
//   "env/models/googlenet.json: layers[12].inputs[1]: refers to layer 40 which comes later".
#include "policies/model.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace hetsched::policies {

namespace {

constexpr const char* kOpNames[] = {"conv",    "dwconv",     "pwconv", "maxpool", "avgpool",
                                    "fc",      "add",        "concat", "relu",    "relu6",
                                    "leaky_relu", "upsample", "lrn",   "softmax"};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<size_t>(OpType::kCount));

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

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

bool ModelDesc::matches(const std::string& n) const {
  const std::string l = lower(n);
  if (lower(name) == l) return true;
  return std::any_of(aliases.begin(), aliases.end(), [&](const std::string& a) { return lower(a) == l; });
}

namespace {

using nlohmann::json;

struct Ctx {
  std::string file;
  Status err(const std::string& field, const std::string& what) const {
    return Error(StatusCode::kCorrupt, file + ": " + field + ": " + what);
  }
};

Status check_keys(const Ctx& c, const json& obj, const std::string& field,
                  std::initializer_list<const char*> allowed) {
  if (!obj.is_object()) return c.err(field, "must be a JSON object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      return c.err(field + "." + it.key(), "unknown key (allowed: " + list + ")");
    }
  }
  return Status::Ok();
}

Status get_string(const Ctx& c, const json& obj, const std::string& field, const char* key, bool required,
                  std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return required ? c.err(field + key, "missing (string required)") : Status::Ok();
  if (!it->is_string()) return c.err(field + key, "must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

// Reads an optional integer in [lo, hi]; `field` is the prefix ("layers[3].").
Status get_int(const Ctx& c, const json& obj, const std::string& field, const char* key, bool required,
               int lo, int hi, int* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return required ? c.err(field + key, "missing (integer required)") : Status::Ok();
  if (!it->is_number_integer()) return c.err(field + key, "must be an integer");
  const std::int64_t v = it->get<std::int64_t>();
  if (v < lo || v > hi)
    return c.err(field + key, std::to_string(v) + " out of range [" + std::to_string(lo) + ", " +
                                  std::to_string(hi) + "]");
  *out = static_cast<int>(v);
  return Status::Ok();
}

Status get_bool(const Ctx& c, const json& obj, const std::string& field, const char* key, bool* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_boolean()) return c.err(field + key, "must be true or false");
  *out = it->get<bool>();
  return Status::Ok();
}

constexpr int kMaxDim = 1 << 16;       // generous bound on channels/height/width
constexpr int kMaxLayers = 100000;
constexpr double kMaxElements = 4294967296.0;  // 2^32 per tensor: far above any real network

Status parse_layer(const Ctx& c, const json& j, int i, LayerDesc* l) {
  const std::string f = "layers[" + std::to_string(i) + "]";
  const std::string p = f + ".";
  HETSCHED_RETURN_IF_ERROR(check_keys(c, j, f,
      {"name", "op", "inputs", "out_channels", "kernel", "stride", "pad", "groups", "activation", "ceil",
       "global", "note"}));
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, p, "name", true, &l->name));
  std::string op;
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, p, "op", true, &op));
  if (!parse_op(op, &l->op)) {
    std::string list;
    for (const char* n : kOpNames) list += std::string(list.empty() ? "" : ", ") + n;
    return c.err(p + "op", "unknown op '" + op + "' (known: " + list + ")");
  }
  if (auto it = j.find("inputs"); it != j.end()) {
    if (!it->is_array()) return c.err(p + "inputs", "must be an array of layer indices (-1 = model input)");
    for (size_t k = 0; k < it->size(); ++k) {
      const json& v = (*it)[k];
      const std::string fk = p + "inputs[" + std::to_string(k) + "]";
      if (!v.is_number_integer()) return c.err(fk, "must be a layer index (integer, -1 = model input)");
      const std::int64_t src = v.get<std::int64_t>();
      if (src < -1) return c.err(fk, std::to_string(src) + " is not a layer index (-1 = model input)");
      if (src >= i)
        return c.err(fk, "refers to layer " + std::to_string(src) +
                             (src == i ? " which is the layer itself" : " which comes later"));
      l->inputs.push_back(static_cast<int>(src));
    }
  }
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "out_channels", false, 1, kMaxDim, &l->out_channels));
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "kernel", false, 1, 64, &l->kernel));
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "stride", false, 1, 64, &l->stride));
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "pad", false, 0, 64, &l->pad));
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "groups", false, 1, kMaxDim, &l->groups));
  HETSCHED_RETURN_IF_ERROR(get_bool(c, j, p, "ceil", &l->ceil_mode));
  HETSCHED_RETURN_IF_ERROR(get_bool(c, j, p, "global", &l->global_pool));
  std::string act;
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, p, "activation", false, &act));
  if (!act.empty()) {
    OpType a = OpType::kCount;
    if (!parse_op(act, &a) || (a != OpType::kRelu && a != OpType::kRelu6 && a != OpType::kLeakyRelu))
      return c.err(p + "activation", "'" + act + "' is not a fusable activation (relu, relu6, leaky_relu)");
    l->activation = a;
  }

  // Which fields an op may carry: a misplaced field is almost always a mistake in the file.
  const bool is_conv = l->op == OpType::kConv || l->op == OpType::kDepthwiseConv || l->op == OpType::kPointwiseConv;
  const bool is_pool = l->op == OpType::kMaxPool || l->op == OpType::kAvgPool;
  const bool needs_out = l->op == OpType::kConv || l->op == OpType::kPointwiseConv || l->op == OpType::kFullyConnected;
  if (needs_out && !j.contains("out_channels")) return c.err(p + "out_channels", "missing (required for op " + op + ")");
  if (!needs_out && l->op != OpType::kDepthwiseConv && j.contains("out_channels"))
    return c.err(p + "out_channels", "not allowed for op " + op);
  if (!is_conv && !is_pool && l->op != OpType::kLrn && j.contains("kernel"))
    return c.err(p + "kernel", "not allowed for op " + op);
  if (!is_conv && !is_pool && l->op != OpType::kUpsample && j.contains("stride"))
    return c.err(p + "stride", "not allowed for op " + op);
  if (!is_conv && !is_pool && j.contains("pad")) return c.err(p + "pad", "not allowed for op " + op);
  if (l->op != OpType::kConv && j.contains("groups")) return c.err(p + "groups", "only allowed for op conv");
  if (!is_pool && (j.contains("ceil") || j.contains("global")))
    return c.err(p + (j.contains("ceil") ? "ceil" : "global"), "only allowed for maxpool/avgpool");
  if (!act.empty() && !is_conv && l->op != OpType::kFullyConnected && l->op != OpType::kAdd)
    return c.err(p + "activation", "can only be fused into conv, dwconv, pwconv, fc or add");
  if (l->op == OpType::kPointwiseConv && (l->kernel != 1 || l->pad != 0))
    return c.err(p + "kernel", "pwconv must have kernel 1 and pad 0");
  if (l->op == OpType::kUpsample && !j.contains("stride")) l->stride = 2;
  if (l->op == OpType::kLrn && !j.contains("kernel")) l->kernel = 5;
  if (is_pool && !l->global_pool && !j.contains("kernel"))
    return c.err(p + "kernel", "missing (required for op " + op + " unless \"global\": true)");
  if (is_pool && l->global_pool && (j.contains("kernel") || j.contains("stride") || j.contains("pad")))
    return c.err(p + "global", "a global pool takes no kernel, stride or pad");
  if ((l->op == OpType::kAdd || l->op == OpType::kConcat) && l->inputs.size() < 2)
    return c.err(p + "inputs", "op " + op + " needs at least 2 inputs");
  if (l->op != OpType::kAdd && l->op != OpType::kConcat && l->inputs.size() > 1)
    return c.err(p + "inputs", "op " + op + " takes one input, got " + std::to_string(l->inputs.size()));
  if (l->inputs.empty()) l->inputs.push_back(i - 1);  // -1 for layer 0 = the model input
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
          if (static_cast<std::int64_t>(o.c) + s.c > kMaxDim)
            return c.err(p + "inputs", "concat exceeds " + std::to_string(kMaxDim) + " channels");
          o.c += s.c;
        }
      }
      l.out = o;
      l.elem_ops = static_cast<double>(o.elements()) * (l.op == OpType::kAdd ? static_cast<double>(l.inputs.size() - 1) : 1.0);
      break;
    }
    case OpType::kUpsample:
      if (static_cast<std::int64_t>(in.h) * l.stride > kMaxDim || static_cast<std::int64_t>(in.w) * l.stride > kMaxDim)
        return c.err(p + "stride", "upsampled plane exceeds " + std::to_string(kMaxDim) + " pixels per side");
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
  if (static_cast<double>(l.out.c) * l.out.h * l.out.w > kMaxElements)
    return c.err(p + "op", "output tensor larger than 2^32 elements");
  if (l.param_bytes > (std::int64_t{1} << 40)) return c.err(p + "op", "more than 1 TiB of weights");
  if (l.out.c <= 0 || l.out.h <= 0 || l.out.w <= 0)
    return c.err(p + "op", "output shape " + std::to_string(l.out.c) + "x" + std::to_string(l.out.h) + "x" +
                               std::to_string(l.out.w) + " is empty (input too small for kernel/stride)");
  return Status::Ok();
}

Status parse_blocks(const Ctx& c, const json& arr, int num_layers, std::vector<BlockDesc>* blocks) {
  if (!arr.is_array() || arr.empty()) return c.err("blocks", "must be a non-empty array");
  int expect = 0;
  for (size_t b = 0; b < arr.size(); ++b) {
    const std::string f = "blocks[" + std::to_string(b) + "]";
    BlockDesc bd;
    HETSCHED_RETURN_IF_ERROR(check_keys(c, arr[b], f, {"name", "first", "end", "note"}));
    HETSCHED_RETURN_IF_ERROR(get_string(c, arr[b], f + ".", "name", true, &bd.name));
    HETSCHED_RETURN_IF_ERROR(get_int(c, arr[b], f + ".", "first", true, 0, kMaxLayers, &bd.first_layer));
    HETSCHED_RETURN_IF_ERROR(get_int(c, arr[b], f + ".", "end", true, 0, kMaxLayers, &bd.end_layer));
    // Blocks must tile the layer list in order: a gap or overlap would make a layer unplaceable
    // or placed twice.
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
    blocks->push_back(std::move(bd));
  }
  if (expect != num_layers)
    return c.err("blocks[" + std::to_string(arr.size() - 1) + "].end",
                 "blocks end at layer " + std::to_string(expect) + " but there are " + std::to_string(num_layers) +
                     " layers (blocks must cover all layers)");
  return Status::Ok();
}

Status parse_groupings(const Ctx& c, const json& arr, int num_blocks, std::vector<Grouping>* out) {
  if (!arr.is_array()) return c.err("groupings", "must be an array");
  for (size_t g = 0; g < arr.size(); ++g) {
    const std::string f = "groupings[" + std::to_string(g) + "]";
    Grouping gr;
    HETSCHED_RETURN_IF_ERROR(check_keys(c, arr[g], f, {"name", "used_by", "end", "note"}));
    HETSCHED_RETURN_IF_ERROR(get_string(c, arr[g], f + ".", "name", true, &gr.name));
    HETSCHED_RETURN_IF_ERROR(get_string(c, arr[g], f + ".", "used_by", false, &gr.used_by));
    const auto it = arr[g].find("end");
    if (it == arr[g].end() || !it->is_array() || it->empty())
      return c.err(f + ".end", "must be a non-empty array of block indices (exclusive group ends)");
    int prev = 0;
    for (size_t k = 0; k < it->size(); ++k) {
      const std::string fk = f + ".end[" + std::to_string(k) + "]";
      if (!(*it)[k].is_number_integer()) return c.err(fk, "must be an integer block index");
      const std::int64_t v = (*it)[k].get<std::int64_t>();
      if (v <= prev)
        return c.err(fk, std::to_string(v) + " is not greater than the previous end " + std::to_string(prev) +
                             " (ends must be strictly increasing, first > 0)");
      if (v > num_blocks)
        return c.err(fk, std::to_string(v) + " is past the block count " + std::to_string(num_blocks));
      prev = static_cast<int>(v);
      gr.end.push_back(prev);
    }
    if (prev != num_blocks)
      return c.err(f + ".end", "last end is " + std::to_string(prev) + " but the model has " +
                                   std::to_string(num_blocks) + " blocks (groups must cover all blocks)");
    for (const Grouping& o : *out) {
      if (o.name == gr.name) return c.err(f + ".name", "duplicate grouping name '" + gr.name + "'");
      if (o.end.size() == gr.end.size())
        return c.err(f + ".end", "two groupings with " + std::to_string(gr.end.size()) +
                                     " groups ('" + o.name + "', '" + gr.name + "'): an order string would be ambiguous");
    }
    out->push_back(std::move(gr));
  }
  return Status::Ok();
}

// Per-block sums, op types, output bytes and cut bytes.
void derive_blocks(ModelDesc* m) {
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

Result<ModelDesc> load_model(const std::string& path) {
  const Ctx c{path};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(StatusCode::kNotFound, path + ": cannot open model file");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error(StatusCode::kIoError, path + ": read failed");
  json j;
  try {
    j = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    // nlohmann's message carries "line L, column C"; drop its "[json.exception...]" prefix.
    std::string what = e.what();
    if (const auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return Error(StatusCode::kCorrupt, path + ": malformed JSON: " + what);
  }
  HETSCHED_RETURN_IF_ERROR(check_keys(c, j, "(top level)",
      {"name", "aliases", "source", "input", "layers", "blocks", "groupings", "note", "description"}));
  ModelDesc m;
  m.path = path;
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, "", "name", true, &m.name));
  if (m.name.empty()) return c.err("name", "must not be empty");
  HETSCHED_RETURN_IF_ERROR(get_string(c, j, "", "source", true, &m.source));
  if (auto it = j.find("aliases"); it != j.end()) {
    if (!it->is_array()) return c.err("aliases", "must be an array of strings");
    for (size_t k = 0; k < it->size(); ++k) {
      if (!(*it)[k].is_string() || (*it)[k].get<std::string>().empty())
        return c.err("aliases[" + std::to_string(k) + "]", "must be a non-empty string");
      m.aliases.push_back((*it)[k].get<std::string>());
    }
  }
  const auto jin = j.find("input");
  if (jin == j.end()) return c.err("input", "missing ({\"c\": 3, \"h\": 224, \"w\": 224})");
  HETSCHED_RETURN_IF_ERROR(check_keys(c, *jin, "input", {"c", "h", "w"}));
  HETSCHED_RETURN_IF_ERROR(get_int(c, *jin, "input.", "c", true, 1, kMaxDim, &m.input.c));
  HETSCHED_RETURN_IF_ERROR(get_int(c, *jin, "input.", "h", true, 1, kMaxDim, &m.input.h));
  HETSCHED_RETURN_IF_ERROR(get_int(c, *jin, "input.", "w", true, 1, kMaxDim, &m.input.w));
  if (static_cast<double>(m.input.elements()) > kMaxElements) return c.err("input", "larger than 2^32 elements");

  const auto jl = j.find("layers");
  if (jl == j.end() || !jl->is_array() || jl->empty()) return c.err("layers", "missing or empty (array of layers)");
  if (jl->size() > static_cast<size_t>(kMaxLayers)) return c.err("layers", "more than 100000 layers");
  m.layers.resize(jl->size());
  for (size_t i = 0; i < jl->size(); ++i) {
    HETSCHED_RETURN_IF_ERROR(parse_layer(c, (*jl)[i], static_cast<int>(i), &m.layers[i]));
    HETSCHED_RETURN_IF_ERROR(derive_layer(c, m.input, m.layers, static_cast<int>(i)));
  }
  const auto jb = j.find("blocks");
  if (jb == j.end()) return c.err("blocks", "missing (array of {name, first, end})");
  HETSCHED_RETURN_IF_ERROR(parse_blocks(c, *jb, static_cast<int>(m.layers.size()), &m.blocks));
  if (m.num_blocks() > 96) return c.err("blocks", std::to_string(m.num_blocks()) + " blocks; at most 96 (kMaxBlocks)");
  if (auto jg = j.find("groupings"); jg != j.end())
    HETSCHED_RETURN_IF_ERROR(parse_groupings(c, *jg, m.num_blocks(), &m.groupings));
  derive_blocks(&m);
  return m;
}

std::vector<std::string> list_models(const std::string& data_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(data_dir) / "env" / "models";
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<ModelDesc> load_model_by_name(const std::string& data_dir, const std::string& name) {
  const std::vector<std::string> names = list_models(data_dir);
  const std::filesystem::path dir = std::filesystem::path(data_dir) / "env" / "models";
  // Fast path: the canonical file name; otherwise scan the aliases of every file.
  for (const std::string& n : names)
    if (lower(n) == lower(name)) return load_model((dir / (n + ".json")).string());
  for (const std::string& n : names) {
    Result<ModelDesc> m = load_model((dir / (n + ".json")).string());
    if (!m.ok()) return m.status();  // a broken file must not be masked by "not found"
    if (m->matches(name)) return m;
  }
  std::string known;
  for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
  return Error(StatusCode::kNotFound, "model '" + name + "' (known: " + (known.empty() ? "none in " + dir.string() : known) + ")");
}

}  // namespace hetsched::policies
