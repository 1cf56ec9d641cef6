#include "runtime/kernel_weights.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>

namespace hetsched::runtime {
namespace {

static_assert(std::endian::native == std::endian::little, "the weights file is little-endian");

std::uint64_t splitmix64(std::uint64_t* s) noexcept {
  std::uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
// Uniform in [-1, 1) from the top 24 bits (exact in float).
float uniform_pm1(std::uint64_t* s) noexcept {
  return static_cast<float>(splitmix64(s) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

// Writes raw bytes and keeps the running checksum.
struct HashWriter {
  std::ofstream& out;
  std::uint64_t h = kFnvOffset;
  void put(const void* p, std::size_t n) {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    h = fnv1a(p, n, h);
  }
};

struct HashReader {
  std::ifstream& in;
  std::uint64_t h = kFnvOffset;
  bool get(void* p, std::size_t n) {
    in.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in.gcount()) != n) return false;
    h = fnv1a(p, n, h);
    return true;
  }
};

}  // namespace

std::uint64_t fnv1a(const void* data, std::size_t bytes, std::uint64_t h) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void synthesize_weights(const ModelPlan& plan, std::uint64_t seed, float* params) noexcept {
  const int n = static_cast<int>(plan.layers.size());
  std::vector<bool> feeds_add(static_cast<size_t>(n), false);
  for (const LayerPlan& lp : plan.layers)
    if (lp.op == policies::OpType::kAdd)
      for (int src : lp.inputs)
        if (src >= 0) feeds_add[static_cast<size_t>(src)] = true;
  for (int i = 0; i < n; ++i) {
    const LayerPlan& lp = plan.layers[static_cast<size_t>(i)];
    if (lp.weight_floats == 0) continue;
    std::uint64_t s = seed * 0x100000001b3ull + static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ull;
    const std::int64_t fan_in = lp.weight_floats / std::max<std::int64_t>(lp.out.c, 1);
    const float gain = feeds_add[static_cast<size_t>(i)] ? 0.5f : 1.0f;
    const float a = gain * std::sqrt(6.0f / static_cast<float>(std::max<std::int64_t>(fan_in, 1)));
    float* w = params + lp.param_offset;
    for (std::int64_t k = 0; k < lp.weight_floats; ++k) w[k] = a * uniform_pm1(&s);
    for (std::int64_t k = 0; k < lp.bias_floats; ++k) w[lp.weight_floats + k] = 0.01f * uniform_pm1(&s);
  }
}

Status save_weights(const std::string& path, const ModelPlan& plan, const float* params) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Error(StatusCode::kIoError, path + ": cannot create weights file");
  HashWriter w{out};
  w.put(kWeightsMagic, sizeof kWeightsMagic);
  const std::uint32_t version = kWeightsVersion;
  w.put(&version, 4);
  const auto name_len = static_cast<std::uint32_t>(plan.name.size());
  w.put(&name_len, 4);
  w.put(plan.name.data(), plan.name.size());
  const auto layers = static_cast<std::uint32_t>(plan.layers.size());
  w.put(&layers, 4);
  for (const LayerPlan& lp : plan.layers) {
    const auto count = static_cast<std::uint32_t>(lp.weight_floats + lp.bias_floats);
    w.put(&count, 4);
    w.put(params + lp.param_offset, sizeof(float) * count);
  }
  const std::uint64_t sum = w.h;
  out.write(reinterpret_cast<const char*>(&sum), 8);
  out.flush();
  if (!out) return Error(StatusCode::kIoError, path + ": write failed");
  return Status::Ok();
}

Status load_weights(const std::string& path, const ModelPlan& plan, float* params) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(StatusCode::kNotFound, path + ": cannot open weights file");
  HashReader r{in};
  auto truncated = [&](const std::string& what) {
    return Error(StatusCode::kCorrupt, path + ": truncated while reading " + what);
  };
  char magic[8];
  if (!r.get(magic, 8)) return truncated("the magic");
  if (std::memcmp(magic, kWeightsMagic, 8) != 0)
    return Error(StatusCode::kCorrupt, path + ": not a hetsched weights file (magic is not HSWEIGHT)");
  std::uint32_t version = 0, name_len = 0, layers = 0;
  if (!r.get(&version, 4)) return truncated("the version");
  if (version != kWeightsVersion)
    return Error(StatusCode::kInvalidArgument,
                 path + ": version " + std::to_string(version) + " unsupported (expected " +
                     std::to_string(kWeightsVersion) + ")");
  if (!r.get(&name_len, 4)) return truncated("the model name length");
  if (name_len > 4096) return Error(StatusCode::kCorrupt, path + ": model name length " + std::to_string(name_len));
  std::string name(name_len, '\0');
  if (!r.get(name.data(), name_len)) return truncated("the model name");
  if (name != plan.name)
    return Error(StatusCode::kInvalidArgument,
                 path + ": weights are for model '" + name + "', not '" + plan.name + "'");
  if (!r.get(&layers, 4)) return truncated("the layer count");
  if (layers != plan.layers.size())
    return Error(StatusCode::kInvalidArgument, path + ": " + std::to_string(layers) + " layers, model '" + plan.name +
                                                   "' has " + std::to_string(plan.layers.size()));
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const LayerPlan& lp = plan.layers[i];
    const std::string where = "layer " + std::to_string(i);
    std::uint32_t count = 0;
    if (!r.get(&count, 4)) return truncated(where + " float count");
    const std::int64_t expect = lp.weight_floats + lp.bias_floats;
    if (count != expect)
      return Error(StatusCode::kInvalidArgument, path + ": " + where + " has " + std::to_string(count) +
                                                     " floats, the model needs " + std::to_string(expect));
    float* dst = params + lp.param_offset;
    if (!r.get(dst, sizeof(float) * count)) return truncated(where + " data");
    for (std::uint32_t k = 0; k < count; ++k)
      if (!std::isfinite(dst[k]))
        return Error(StatusCode::kCorrupt, path + ": " + where + " value " + std::to_string(k) + " is not finite");
  }
  const std::uint64_t expect_sum = r.h;
  std::uint64_t sum = 0;
  if (!r.get(&sum, 8)) return truncated("the checksum");
  if (sum != expect_sum) return Error(StatusCode::kCorrupt, path + ": checksum mismatch (file damaged)");
  if (in.peek() != std::char_traits<char>::eof())
    return Error(StatusCode::kCorrupt, path + ": unexpected bytes after the checksum");
  return Status::Ok();
}

}  // namespace hetsched::runtime
