// Model file loader (format: docs/models.md): JSON -> ModelDesc, then derive_model()
// (policies/model_derive.cpp) checks the structure and derives shapes, MACs and bytes once, so
// env/ and runtime/ can index layers and blocks unchecked.
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

#include "policies/json_check.hpp"

namespace hetsched::policies {

namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

bool ModelDesc::matches(const std::string& n) const {
  const std::string l = lower(n);
  if (lower(name) == l) return true;
  return std::any_of(aliases.begin(), aliases.end(), [&](const std::string& a) { return lower(a) == l; });
}

namespace {

using nlohmann::json;

using detail::check_keys;
using detail::Ctx;

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

constexpr int kMaxLayers = 100000;

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
    for (int k = 0; k < static_cast<int>(OpType::kCount); ++k)
      list += std::string(list.empty() ? "" : ", ") + op_name(static_cast<OpType>(k));
    return c.err(p + "op", "unknown op '" + op + "' (known: " + list + ")");
  }
  if (auto it = j.find("inputs"); it != j.end()) {
    if (!it->is_array()) return c.err(p + "inputs", "must be an array of layer indices (-1 = model input)");
    for (size_t k = 0; k < it->size(); ++k) {
      const json& v = (*it)[k];
      const std::string fk = p + "inputs[" + std::to_string(k) + "]";
      if (!v.is_number_integer()) return c.err(fk, "must be a layer index (integer, -1 = model input)");
      const std::int64_t src = v.get<std::int64_t>();
      if (src < -kMaxLayers || src > kMaxLayers) return c.err(fk, std::to_string(src) + " is not a layer index (-1 = model input)");
      l->inputs.push_back(static_cast<int>(src));
    }
  }
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "out_channels", false, 1, kMaxModelDim, &l->out_channels));
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "kernel", false, 1, 64, &l->kernel));
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "stride", false, 1, 64, &l->stride));
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "pad", false, 0, 64, &l->pad));
  HETSCHED_RETURN_IF_ERROR(get_int(c, j, p, "groups", false, 1, kMaxModelDim, &l->groups));
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
  return Status::Ok();
}

// JSON extraction only; the structure (tiling, increasing ends) is checked by derive_model().
Status parse_blocks(const Ctx& c, const json& arr, std::vector<BlockDesc>* blocks) {
  if (!arr.is_array()) return c.err("blocks", "must be an array of {name, first, end}");
  for (size_t b = 0; b < arr.size(); ++b) {
    const std::string f = "blocks[" + std::to_string(b) + "]";
    BlockDesc bd;
    HETSCHED_RETURN_IF_ERROR(check_keys(c, arr[b], f, {"name", "first", "end", "note"}));
    HETSCHED_RETURN_IF_ERROR(get_string(c, arr[b], f + ".", "name", true, &bd.name));
    HETSCHED_RETURN_IF_ERROR(get_int(c, arr[b], f + ".", "first", true, 0, kMaxLayers, &bd.first_layer));
    HETSCHED_RETURN_IF_ERROR(get_int(c, arr[b], f + ".", "end", true, 0, kMaxLayers, &bd.end_layer));
    blocks->push_back(std::move(bd));
  }
  return Status::Ok();
}

Status parse_groupings(const Ctx& c, const json& arr, std::vector<Grouping>* out) {
  if (!arr.is_array()) return c.err("groupings", "must be an array");
  for (size_t g = 0; g < arr.size(); ++g) {
    const std::string f = "groupings[" + std::to_string(g) + "]";
    Grouping gr;
    HETSCHED_RETURN_IF_ERROR(check_keys(c, arr[g], f, {"name", "used_by", "end", "note"}));
    HETSCHED_RETURN_IF_ERROR(get_string(c, arr[g], f + ".", "name", true, &gr.name));
    HETSCHED_RETURN_IF_ERROR(get_string(c, arr[g], f + ".", "used_by", false, &gr.used_by));
    const auto it = arr[g].find("end");
    if (it == arr[g].end() || !it->is_array())
      return c.err(f + ".end", "must be a non-empty array of block indices (exclusive group ends)");
    for (size_t k = 0; k < it->size(); ++k) {
      const std::string fk = f + ".end[" + std::to_string(k) + "]";
      if (!(*it)[k].is_number_integer()) return c.err(fk, "must be an integer block index");
      const std::int64_t v = (*it)[k].get<std::int64_t>();
      if (v < -1 || v > kMaxLayers) return c.err(fk, std::to_string(v) + " is not a block index");
      gr.end.push_back(static_cast<int>(v));
    }
    out->push_back(std::move(gr));
  }
  return Status::Ok();
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
  HETSCHED_RETURN_IF_ERROR(get_int(c, *jin, "input.", "c", true, 1, kMaxModelDim, &m.input.c));
  HETSCHED_RETURN_IF_ERROR(get_int(c, *jin, "input.", "h", true, 1, kMaxModelDim, &m.input.h));
  HETSCHED_RETURN_IF_ERROR(get_int(c, *jin, "input.", "w", true, 1, kMaxModelDim, &m.input.w));

  const auto jl = j.find("layers");
  if (jl == j.end() || !jl->is_array() || jl->empty()) return c.err("layers", "missing or empty (array of layers)");
  if (jl->size() > static_cast<size_t>(kMaxLayers)) return c.err("layers", "more than 100000 layers");
  m.layers.resize(jl->size());
  for (size_t i = 0; i < jl->size(); ++i)
    HETSCHED_RETURN_IF_ERROR(parse_layer(c, (*jl)[i], static_cast<int>(i), &m.layers[i]));
  const auto jb = j.find("blocks");
  if (jb == j.end()) return c.err("blocks", "missing (array of {name, first, end})");
  HETSCHED_RETURN_IF_ERROR(parse_blocks(c, *jb, &m.blocks));
  if (auto jg = j.find("groupings"); jg != j.end()) HETSCHED_RETURN_IF_ERROR(parse_groupings(c, *jg, &m.groupings));
  HETSCHED_RETURN_IF_ERROR(derive_model(&m));
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
