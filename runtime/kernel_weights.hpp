// Parameters of a model instance: deterministic synthetic weights, and the weights file.
//
// Weights file (little-endian, the byte order of every SoC we target; docs/runtime-kernels.md):
//   char[8]  magic "HSWEIGHT"
//   u32      version (1)
//   u32      name length, then the model's canonical name (no terminator)
//   u32      layer count (all layers, parameter-free ones included)
//   per layer: u32 float count (weights then bias; 0 for parameter-free layers), float32[count]
//              conv weights are [out_c][in_c/groups][k][k], fc [out][in] (batch-norm folded)
//   u64      FNV-1a 64 of every byte before it
// Nothing may follow the checksum.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/kernel_plan.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

inline constexpr char kWeightsMagic[8] = {'H', 'S', 'W', 'E', 'I', 'G', 'H', 'T'};
inline constexpr std::uint32_t kWeightsVersion = 1;

// He-uniform weights, U(-a, a) with a = gain * sqrt(6 / fan_in), so a ReLU/leaky stack keeps
// its activation variance; gain = 0.5 for layers feeding a residual add, so the variance grows
// by (1 + 0.25) per add instead of doubling (YOLOv3 has 23 adds: 2^23 would reach 1e7).
// Biases U(-0.01, 0.01). Layer i draws from its own stream (seed, i): any layer's values do not
// depend on the others. params holds plan.param_floats floats.
void synthesize_weights(const ModelPlan& plan, std::uint64_t seed, float* params) noexcept;

// FNV-1a 64-bit hash continuing from `h` (start with kFnvOffset).
inline constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;
std::uint64_t fnv1a(const void* data, std::size_t bytes, std::uint64_t h) noexcept;

Status save_weights(const std::string& path, const ModelPlan& plan, const float* params);
// Errors name the path and what is wrong: kNotFound (cannot open), kCorrupt (magic, truncation,
// trailing bytes, checksum, non-finite value), kInvalidArgument (other model, version, layer count
// or per-layer size that does not fit the plan).
Status load_weights(const std::string& path, const ModelPlan& plan, float* params);

}  // namespace hetsched::runtime
