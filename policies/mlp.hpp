// A small dense MLP for inference (float32, Eigen), plus masked argmax over its Q-values.
//
// Why a hand-rolled MLP: the policy networks are tiny (obs 64 -> 128 -> 128 -> 100 actions is
// ~37 k multiply-adds), so a framework would cost more in dependencies and latency than the
// math itself. Lifecycle: create() allocates every buffer (parameters + two ping-pong activation
// buffers of the widest layer); forward() afterwards is allocation-free and noexcept.
//
// Parameter layout (one contiguous float vector, so the optimiser, the target-network copy,
// the checksum and the file writer all treat it as one flat array):
//   for each weight layer l: W_l (out_l x in_l, column-major), then b_l (out_l).
// Layer l computes a_{l+1} = act_l(W_l a_l + b_l); act is the hidden activation for every layer
// but the last, which uses the output activation (identity for Q-values).
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "telemetry/status.hpp"

namespace hetsched::policies {

// Returned by masked_argmax / Policy::decide when no action is allowed (or the input is malformed).
inline constexpr int kNoAction = -1;

inline constexpr int kMlpMaxLayers = 16;     // weight layers
inline constexpr int kMlpMaxWidth = 4096;    // neurons per layer (also bounds file loading)

enum class Activation : std::uint8_t { kIdentity = 0, kRelu = 1, kTanh = 2 };
const char* activation_name(Activation a) noexcept;  // "identity", "relu", "tanh"
bool parse_activation(std::string_view name, Activation* out) noexcept;

struct MlpOptions {
  std::vector<int> layer_sizes;                            // widths incl. input and output, e.g. {64, 128, 128, 100}
  Activation hidden_activation = Activation::kRelu;        // after every weight layer but the last
  Activation output_activation = Activation::kIdentity;   // after the last (identity: Q-values are unbounded)
};
Status validate(const MlpOptions& options);

class Mlp {
 public:
  Mlp() = default;  // empty (0 layers); only useful as a placeholder to assign into
  // Allocates parameters (all zero) and activation buffers. Errors name the offending field.
  static Result<Mlp> create(const MlpOptions& options);

  const MlpOptions& options() const noexcept { return options_; }
  int num_layers() const noexcept { return static_cast<int>(w_offset_.size()); }  // weight layers
  int input_size() const noexcept { return options_.layer_sizes.empty() ? 0 : options_.layer_sizes.front(); }
  int output_size() const noexcept { return options_.layer_sizes.empty() ? 0 : options_.layer_sizes.back(); }
  int layer_in(int l) const noexcept { return options_.layer_sizes[static_cast<std::size_t>(l)]; }
  int layer_out(int l) const noexcept { return options_.layer_sizes[static_cast<std::size_t>(l) + 1]; }
  int max_width() const noexcept { return max_width_; }
  Activation activation_of(int l) const noexcept {
    return l + 1 == num_layers() ? options_.output_activation : options_.hidden_activation;
  }

  // All parameters, layout as in the file comment.
  std::span<float> params() noexcept { return params_; }
  std::span<const float> params() const noexcept { return params_; }
  std::size_t num_params() const noexcept { return params_.size(); }
  std::size_t weight_offset(int l) const noexcept { return w_offset_[static_cast<std::size_t>(l)]; }
  std::size_t bias_offset(int l) const noexcept { return b_offset_[static_cast<std::size_t>(l)]; }
  Eigen::Map<Eigen::MatrixXf> weight(int l) noexcept {
    return {params_.data() + weight_offset(l), layer_out(l), layer_in(l)};
  }
  Eigen::Map<const Eigen::MatrixXf> weight(int l) const noexcept {
    return {params_.data() + weight_offset(l), layer_out(l), layer_in(l)};
  }
  Eigen::Map<Eigen::VectorXf> bias(int l) noexcept { return {params_.data() + bias_offset(l), layer_out(l)}; }
  Eigen::Map<const Eigen::VectorXf> bias(int l) const noexcept {
    return {params_.data() + bias_offset(l), layer_out(l)};
  }

  // One observation in, output_size() values out (a view into an internal buffer, valid until
  // the next forward()). Returns an empty span if input.size() != input_size().
  // Not thread-safe: one Mlp per thread (copies are cheap and independent).
  std::span<const float> forward(std::span<const float> input) noexcept;

  // FNV-1a 64 over layer sizes, activations and parameter bytes: the network's identity.
  std::uint64_t checksum() const noexcept;
  // Memory held (parameters + activation buffers), in bytes.
  std::size_t memory_bytes() const noexcept;

 private:
  MlpOptions options_;
  std::vector<float> params_;
  std::vector<std::size_t> w_offset_, b_offset_;
  std::vector<float> buf_a_, buf_b_;  // ping-pong activations, max_width_ each
  int max_width_ = 0;
};

// Index of the largest q[i] with mask[i] != 0 (ties: lowest index). An empty mask allows
// every action. Returns kNoAction when every action is masked, when q is empty, or when
// mask.size() is neither 0 nor q.size(). NaN entries are never preferred over numbers; if all
// allowed entries are NaN the lowest allowed index is returned (still a legal action).
int masked_argmax(std::span<const float> q, std::span<const std::uint8_t> mask) noexcept;

// True if action a may be taken under mask (empty mask: any a in [0, num_actions)).
inline bool action_allowed(int a, int num_actions, std::span<const std::uint8_t> mask) noexcept {
  if (a < 0 || a >= num_actions) return false;
  if (mask.empty()) return true;
  return static_cast<std::size_t>(a) < mask.size() && mask[static_cast<std::size_t>(a)] != 0;
}

// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3). Chained via `h`.
// Why FNV-1a for checksums: each step h = (h ^ byte) * prime is a bijection of h for a fixed
// byte, so changing any single byte always changes the final hash (every bit flip is caught).
inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t h = kFnvOffset) noexcept;

}  // namespace hetsched::policies
