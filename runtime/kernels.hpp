// fp32 CPU kernels for every layer type of the model zoo (policies::OpType).
//
// Layout: NCHW with batch 1, i.e. a tensor is c planes of h rows of w floats (row-major), the
// order the model files, Caffe and ARM-CL use. Convolutions then become one row-major GEMM per
// group: out[oc][oy*ow+ox] = W[oc][(ci,ky,kx)] * col[(ci,ky,kx)][oy*ow+ox], and a 1x1/stride-1
// convolution needs no im2col at all (the input planes already are the col matrix).
//
// Contract of every kernel: all buffers are preallocated by the caller (the executor's arena),
// no kernel allocates, throws or reads global state; outputs never alias inputs. Weights of a
// convolution are [out_c][in_c/groups][kernel_h][kernel_w], of a fully connected layer
// [out][in]; batch-norm is folded into them beforehand (fold_batch_norm).
#pragma once

#include <cstdint>

namespace hetsched::runtime {

// Activation fused into the producing kernel (or run standalone).
enum class Act : std::uint8_t { kNone, kRelu, kRelu6, kLeakyRelu };
// Darknet/YOLOv3's leaky slope; the model format has no field for it.
inline constexpr float kLeakySlope = 0.1f;

struct ConvParams {
  int in_c = 0, in_h = 0, in_w = 0;
  int out_c = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride = 1, pad = 0, groups = 1;  // symmetric zero padding
  Act act = Act::kNone;
};
// Floor-mode output extent of a convolution: (in + 2*pad - kernel) / stride + 1.
int conv_out_size(int in, int kernel, int stride, int pad) noexcept;
// Scratch floats conv2d needs (im2col matrix + GEMM packing); 0 for depthwise.
std::int64_t conv2d_scratch_floats(const ConvParams& p) noexcept;
// Dense/grouped/pointwise convolution (im2col + GEMM); dispatches depthwise shapes
// (groups == in_c == out_c) to depthwise_conv2d. scratch: conv2d_scratch_floats, 64-byte aligned.
void conv2d(const ConvParams& p, const float* in, const float* weights, const float* bias, float* out,
            float* scratch) noexcept;
// Direct depthwise convolution (groups == in_c == out_c, weights [c][1][kh][kw]).
void depthwise_conv2d(const ConvParams& p, const float* in, const float* weights, const float* bias,
                      float* out) noexcept;

struct PoolParams {
  int c = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride = 1, pad = 0;
};
// Pooling output extent. ceil_mode follows Caffe/ARM-CL: ceil((in + 2p - k) / s) + 1, minus one
// if the last window would start inside the right padding. Floor mode is PyTorch's default.
int pool_out_size(int in, int kernel, int stride, int pad, bool ceil_mode) noexcept;
// Windows may run past the input (ceil mode); padding never wins a max.
void max_pool(const PoolParams& p, const float* in, float* out) noexcept;
// Caffe semantics: the divisor counts padding but not the overhang past in + pad.
void avg_pool(const PoolParams& p, const float* in, float* out) noexcept;

// out[o] = act(bias[o] + sum_i weights[o][i] * in[i]); in is the flattened c*h*w input.
void fully_connected(int in_features, int out_features, const float* in, const float* weights, const float* bias,
                     float* out, Act act) noexcept;
// out = act(in[0] + in[1] + ...), n elements each.
void add(const float* const* in, int count, std::int64_t n, float* out, Act act) noexcept;
// Channel concat of NCHW tensors with equal h*w: sizes[i] = c_i*h*w floats.
void concat(const float* const* in, const std::int64_t* sizes, int count, float* out) noexcept;
// Standalone activation (in may equal out).
void activate(const float* in, std::int64_t n, Act act, float* out) noexcept;
// Nearest-neighbour upsampling by an integer factor: out is c x (h*f) x (w*f).
void upsample_nearest(int c, int h, int w, int factor, const float* in, float* out) noexcept;
// Caffe across-channel LRN: out = in / (k + alpha/size * sum_{window} in^2)^beta.
void lrn(int c, int h, int w, int size, float alpha, float beta, float k, const float* in, float* out) noexcept;
// Softmax over channels at every spatial position (max-subtracted for stability).
void softmax(int c, int h, int w, const float* in, float* out) noexcept;

// Folds an inference batch-norm y = gamma*(x-mean)/sqrt(var+eps) + beta that follows a
// convolution/FC into its weights (out_c rows of per_out floats) and bias, in place:
//   s = gamma/sqrt(var+eps);  W' = s*W;  b' = s*(b - mean) + beta.
// Returns false (and changes nothing) if some var + eps <= 0.
bool fold_batch_norm(int out_c, std::int64_t per_out, float* weights, float* bias, const float* gamma,
                     const float* beta, const float* mean, const float* var, float eps) noexcept;

}  // namespace hetsched::runtime
