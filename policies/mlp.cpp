#include "policies/mlp.hpp"

#include <cmath>
#include <string>

namespace hetsched::policies {

const char* activation_name(Activation a) noexcept {
  switch (a) {
    case Activation::kIdentity: return "identity";
    case Activation::kRelu: return "relu";
    case Activation::kTanh: return "tanh";
  }
  return "unknown";
}

bool parse_activation(std::string_view name, Activation* out) noexcept {
  for (Activation a : {Activation::kIdentity, Activation::kRelu, Activation::kTanh}) {
    if (name == activation_name(a)) {
      *out = a;
      return true;
    }
  }
  return false;
}

Status validate(const MlpOptions& o) {
  const auto n = o.layer_sizes.size();
  if (n < 2 || n > static_cast<std::size_t>(kMlpMaxLayers) + 1)
    return Error(StatusCode::kInvalidArgument,
                 "MlpOptions.layer_sizes: need 2.." + std::to_string(kMlpMaxLayers + 1) +
                     " entries (input, hidden..., output), got " + std::to_string(n));
  for (std::size_t i = 0; i < n; ++i) {
    const int w = o.layer_sizes[i];
    if (w < 1 || w > kMlpMaxWidth)
      return Error(StatusCode::kInvalidArgument, "MlpOptions.layer_sizes[" + std::to_string(i) + "] = " +
                                                     std::to_string(w) + ": width must be in 1.." +
                                                     std::to_string(kMlpMaxWidth));
  }
  for (Activation a : {o.hidden_activation, o.output_activation})
    if (a != Activation::kIdentity && a != Activation::kRelu && a != Activation::kTanh)
      return Error(StatusCode::kInvalidArgument,
                   "MlpOptions: unknown activation code " + std::to_string(static_cast<int>(a)));
  return Status::Ok();
}

Result<Mlp> Mlp::create(const MlpOptions& options) {
  HETSCHED_RETURN_IF_ERROR(validate(options));
  Mlp m;
  m.options_ = options;
  std::size_t off = 0;
  for (std::size_t l = 0; l + 1 < options.layer_sizes.size(); ++l) {
    const auto in = static_cast<std::size_t>(options.layer_sizes[l]);
    const auto out = static_cast<std::size_t>(options.layer_sizes[l + 1]);
    m.w_offset_.push_back(off);
    off += in * out;
    m.b_offset_.push_back(off);
    off += out;
  }
  m.params_.assign(off, 0.0f);
  for (int w : options.layer_sizes) m.max_width_ = std::max(m.max_width_, w);
  m.buf_a_.assign(static_cast<std::size_t>(m.max_width_), 0.0f);
  m.buf_b_.assign(static_cast<std::size_t>(m.max_width_), 0.0f);
  return m;
}

namespace {

template <typename V>
void apply_activation(Activation a, V&& y) noexcept {
  switch (a) {
    case Activation::kIdentity: break;
    case Activation::kRelu: y = y.cwiseMax(0.0f); break;
    case Activation::kTanh: y = y.array().tanh().matrix(); break;
  }
}

}  // namespace

std::span<const float> Mlp::forward(std::span<const float> input) noexcept {
  if (num_layers() == 0 || input.size() != static_cast<std::size_t>(input_size())) return {};
  const float* in = input.data();
  float* out = nullptr;
  for (int l = 0; l < num_layers(); ++l) {
    out = (l % 2 == 0) ? buf_a_.data() : buf_b_.data();
    Eigen::Map<const Eigen::VectorXf> x(in, layer_in(l));
    Eigen::Map<Eigen::VectorXf> y(out, layer_out(l));
    // noalias: y never overlaps x (ping-pong buffers), so Eigen needs no temporary.
    y.noalias() = weight(l) * x;
    y += bias(l);
    apply_activation(activation_of(l), y);
    in = out;
  }
  return {out, static_cast<std::size_t>(output_size())};
}

std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t h) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t Mlp::checksum() const noexcept {
  std::uint64_t h = kFnvOffset;
  for (int w : options_.layer_sizes) {
    const auto w32 = static_cast<std::int32_t>(w);
    h = fnv1a64(&w32, sizeof w32, h);
  }
  const std::uint8_t acts[2] = {static_cast<std::uint8_t>(options_.hidden_activation),
                                static_cast<std::uint8_t>(options_.output_activation)};
  h = fnv1a64(acts, sizeof acts, h);
  return fnv1a64(params_.data(), params_.size() * sizeof(float), h);
}

std::size_t Mlp::memory_bytes() const noexcept {
  return (params_.capacity() + buf_a_.capacity() + buf_b_.capacity()) * sizeof(float) +
         (w_offset_.capacity() + b_offset_.capacity()) * sizeof(std::size_t);
}

int masked_argmax(std::span<const float> q, std::span<const std::uint8_t> mask) noexcept {
  if (q.empty() || (!mask.empty() && mask.size() != q.size())) return kNoAction;
  int best = kNoAction;
  float best_q = 0.0f;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (!mask.empty() && mask[i] == 0) continue;
    const float v = q[i];
    // First allowed action is the fallback; a number beats NaN; strictly larger beats smaller.
    if (best == kNoAction || (std::isnan(best_q) && !std::isnan(v)) || v > best_q) {
      best = static_cast<int>(i);
      best_q = v;
    }
  }
  return best;
}

}  // namespace hetsched::policies
