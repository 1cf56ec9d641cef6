#include "runtime/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <Eigen/Core>

#include "runtime/kernel_gemm.hpp"

namespace hetsched::runtime {
namespace {

bool is_depthwise(const ConvParams& p) noexcept {
  return p.groups > 1 && p.groups == p.in_c && p.groups == p.out_c;
}
bool is_direct_1x1(const ConvParams& p) noexcept {
  return p.kernel_h == 1 && p.kernel_w == 1 && p.stride == 1 && p.pad == 0;
}

// Output columns ox whose input column ix = ox*stride - pad + k lies inside [0, in_w):
// ox >= ceil((pad - k) / stride) and ox <= floor((in_w - 1 + pad - k) / stride).
void valid_range(int in_w, int out_w, int stride, int pad, int k, int* lo, int* hi) noexcept {
  const int a = pad - k;
  *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  const int b = in_w - 1 + pad - k;
  *hi = b < 0 ? 0 : std::min(out_w, b / stride + 1);
  if (*hi < *lo) *hi = *lo;
}

// Rows of the im2col matrix built per GEMM call are capped at this many floats (4 MiB): the col
// matrix of a whole YOLOv3-608 layer would be 288 x 304^2 floats = 106 MB, and a bounded chunk
// of output rows also stays closer to the caches while barely changing the GEMM shape.
constexpr std::int64_t kColBudgetFloats = std::int64_t{1} << 20;

// Output rows per im2col chunk: as many as fit the budget, at least one.
int rows_per_chunk(const ConvParams& p, std::int64_t k) noexcept {
  const std::int64_t per_row = k * p.out_w;
  return static_cast<int>(std::clamp<std::int64_t>(kColBudgetFloats / std::max<std::int64_t>(per_row, 1), 1,
                                                       std::max(p.out_h, 1)));
}

// col[(ci,ky,kx)][(oy-oy0)*out_w+ox] = in[ci][oy*s-p+ky][ox*s-p+kx] for oy in [oy0, oy1), zero
// outside the input.
void im2col(const ConvParams& p, int channels, const float* in, int oy0, int oy1, float* col) noexcept {
  const std::int64_t n = std::int64_t{oy1 - oy0} * p.out_w;
  for (int ci = 0; ci < channels; ++ci) {
    const float* plane = in + std::int64_t{ci} * p.in_h * p.in_w;
    for (int ky = 0; ky < p.kernel_h; ++ky) {
      for (int kx = 0; kx < p.kernel_w; ++kx) {
        float* row = col + ((std::int64_t{ci} * p.kernel_h + ky) * p.kernel_w + kx) * n;
        int lo = 0, hi = 0;
        valid_range(p.in_w, p.out_w, p.stride, p.pad, kx, &lo, &hi);
        for (int oy = oy0; oy < oy1; ++oy) {
          float* dst = row + std::int64_t{oy - oy0} * p.out_w;
          const int iy = oy * p.stride - p.pad + ky;
          if (iy < 0 || iy >= p.in_h) {
            std::fill(dst, dst + p.out_w, 0.0f);
            continue;
          }
          const float* src = plane + std::int64_t{iy} * p.in_w;  // input column ix = ox*stride - pad + kx
          const std::int64_t shift = kx - p.pad;
          std::fill(dst, dst + lo, 0.0f);
          if (p.stride == 1) {
            std::memcpy(dst + lo, src + lo + shift, sizeof(float) * static_cast<std::size_t>(hi - lo));
          } else {
            for (int ox = lo; ox < hi; ++ox) dst[ox] = src[std::int64_t{ox} * p.stride + shift];
          }
          std::fill(dst + hi, dst + p.out_w, 0.0f);
        }
      }
    }
  }
}

}  // namespace

int conv_out_size(int in, int kernel, int stride, int pad) noexcept {
  if (stride <= 0) return 0;
  const int span = in + 2 * pad - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

std::int64_t conv2d_scratch_floats(const ConvParams& p) noexcept {
  if (is_depthwise(p) || p.groups <= 0) return 0;
  const std::int64_t k = std::int64_t{p.in_c / p.groups} * p.kernel_h * p.kernel_w;
  if (is_direct_1x1(p)) return gemm_plan(p.out_c / p.groups, std::int64_t{p.out_h} * p.out_w, k).scratch_floats;
  const std::int64_t n = std::int64_t{rows_per_chunk(p, k)} * p.out_w;
  return align_floats(k * n) + gemm_plan(p.out_c / p.groups, n, k).scratch_floats;
}

void conv2d(const ConvParams& p, const float* in, const float* weights, const float* bias, float* out,
            float* scratch) noexcept {
  if (is_depthwise(p)) return depthwise_conv2d(p, in, weights, bias, out);
  const int icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  const std::int64_t n = std::int64_t{p.out_h} * p.out_w;
  const std::int64_t k = std::int64_t{icg} * p.kernel_h * p.kernel_w;
  // The GEMM accumulates, so start from the bias (saves a separate bias pass).
  for (int oc = 0; oc < p.out_c; ++oc) std::fill(out + oc * n, out + (oc + 1) * n, bias ? bias[oc] : 0.0f);
  if (is_direct_1x1(p)) {
    // The input planes already are the k x n col matrix.
    const GemmPlan plan = gemm_plan(ocg, n, k);
    for (int g = 0; g < p.groups; ++g)
      gemm_accumulate(plan, weights + g * ocg * k, k, in + g * k * n, n, out + g * ocg * n, n, scratch);
  } else {
    // out[:, chunk] = W_g x col(chunk) for chunks of output rows; C's leading dimension stays n.
    const int rows = rows_per_chunk(p, k);
    const GemmPlan full = gemm_plan(ocg, std::int64_t{rows} * p.out_w, k);
    float* col = scratch;
    float* packing = scratch + align_floats(k * full.n);
    for (int g = 0; g < p.groups; ++g) {
      const float* src = in + std::int64_t{g} * icg * p.in_h * p.in_w;
      for (int oy0 = 0; oy0 < p.out_h; oy0 += rows) {
        const int oy1 = std::min(oy0 + rows, p.out_h);
        GemmPlan plan = full;  // blocks sized for a full chunk also serve the shorter last one
        plan.n = std::int64_t{oy1 - oy0} * p.out_w;
        im2col(p, icg, src, oy0, oy1, col);
        gemm_accumulate(plan, weights + g * ocg * k, k, col, plan.n, out + g * ocg * n + std::int64_t{oy0} * p.out_w, n,
                        packing);
      }
    }
  }
  activate(out, p.out_c * n, p.act, out);
}

namespace {

// Adds one kernel row (k taps, weights w) of a depthwise convolution over input row s into output
// row d. Interior columns [ilo, ihi), where every tap lies inside the input, run a fused k-tap
// loop (k and stride are template constants for the common 3x3/5x5, so the taps unroll and the
// ox loop vectorises); the few border columns go tap by tap with their own valid ranges.
template <int K, int S>
void dw_row(const float* s, const float* w, int k_rt, int s_rt, int in_w, int out_w, int pad, float* d) noexcept {
  const int k = K > 0 ? K : k_rt, st = S > 0 ? S : s_rt;
  int ilo = 0, ihi = 0, unused = 0;
  valid_range(in_w, out_w, st, pad, 0, &ilo, &unused);      // tap 0 starts latest
  valid_range(in_w, out_w, st, pad, k - 1, &unused, &ihi);  // tap k-1 ends earliest
  if (ihi < ilo) ihi = ilo;
  for (int kx = 0; kx < k; ++kx) {
    int lo = 0, hi = 0;
    valid_range(in_w, out_w, st, pad, kx, &lo, &hi);
    const float wv = w[kx];
    const std::int64_t shift = kx - pad;
    for (int ox = lo; ox < std::min(hi, ilo); ++ox) d[ox] += wv * s[std::int64_t{ox} * st + shift];
    for (int ox = std::max(lo, ihi); ox < hi; ++ox) d[ox] += wv * s[std::int64_t{ox} * st + shift];
  }
  for (int ox = ilo; ox < ihi; ++ox) {
    const float* x = s + (std::int64_t{ox} * st - pad);
    float acc = 0.0f;
    for (int kx = 0; kx < k; ++kx) acc += w[kx] * x[kx];
    d[ox] += acc;
  }
}

using DwRowFn = void (*)(const float*, const float*, int, int, int, int, int, float*) noexcept;
DwRowFn dw_row_for(int k, int stride) noexcept {
  if (k == 3 && stride == 1) return dw_row<3, 1>;
  if (k == 3 && stride == 2) return dw_row<3, 2>;
  if (k == 5 && stride == 1) return dw_row<5, 1>;
  if (k == 5 && stride == 2) return dw_row<5, 2>;
  return dw_row<0, 0>;
}

}  // namespace

void depthwise_conv2d(const ConvParams& p, const float* in, const float* weights, const float* bias,
                      float* out) noexcept {
  const std::int64_t in_plane = std::int64_t{p.in_h} * p.in_w;
  const std::int64_t out_plane = std::int64_t{p.out_h} * p.out_w;
  const DwRowFn row = dw_row_for(p.kernel_w, p.stride);
  for (int c = 0; c < p.out_c; ++c) {
    const float* src = in + c * in_plane;
    float* dst = out + c * out_plane;
    const float* w = weights + std::int64_t{c} * p.kernel_h * p.kernel_w;
    const float b = bias ? bias[c] : 0.0f;
    // Row by row: the output row stays in L1 while the k input rows it needs stream past.
    for (int oy = 0; oy < p.out_h; ++oy) {
      float* d = dst + std::int64_t{oy} * p.out_w;
      std::fill(d, d + p.out_w, b);
      for (int ky = 0; ky < p.kernel_h; ++ky) {
        const int iy = oy * p.stride - p.pad + ky;
        if (iy < 0 || iy >= p.in_h) continue;
        row(src + std::int64_t{iy} * p.in_w, w + ky * p.kernel_w, p.kernel_w, p.stride, p.in_w, p.out_w, p.pad, d);
      }
    }
  }
  activate(out, p.out_c * out_plane, p.act, out);
}

int pool_out_size(int in, int kernel, int stride, int pad, bool ceil_mode) noexcept {
  if (stride <= 0) return 0;
  const int span = in + 2 * pad - kernel;
  if (span < 0) return 0;
  if (!ceil_mode) return span / stride + 1;
  int out = (span + stride - 1) / stride + 1;
  // Caffe: the last window must start inside the input or the left padding.
  if (pad > 0 && (out - 1) * stride >= in + pad) --out;
  return out;
}

void max_pool(const PoolParams& p, const float* in, float* out) noexcept {
  for (int c = 0; c < p.c; ++c) {
    const float* src = in + std::int64_t{c} * p.in_h * p.in_w;
    float* dst = out + std::int64_t{c} * p.out_h * p.out_w;
    for (int oy = 0; oy < p.out_h; ++oy) {
      const int y0 = std::max(oy * p.stride - p.pad, 0), y1 = std::min(oy * p.stride - p.pad + p.kernel_h, p.in_h);
      for (int ox = 0; ox < p.out_w; ++ox) {
        const int x0 = std::max(ox * p.stride - p.pad, 0);
        const int x1 = std::min(ox * p.stride - p.pad + p.kernel_w, p.in_w);
        float m = -std::numeric_limits<float>::infinity();
        for (int y = y0; y < y1; ++y)
          for (int x = x0; x < x1; ++x) m = std::max(m, src[std::int64_t{y} * p.in_w + x]);
        dst[std::int64_t{oy} * p.out_w + ox] = (y0 < y1 && x0 < x1) ? m : 0.0f;
      }
    }
  }
}

void avg_pool(const PoolParams& p, const float* in, float* out) noexcept {
  for (int c = 0; c < p.c; ++c) {
    const float* src = in + std::int64_t{c} * p.in_h * p.in_w;
    float* dst = out + std::int64_t{c} * p.out_h * p.out_w;
    for (int oy = 0; oy < p.out_h; ++oy) {
      int y0 = oy * p.stride - p.pad;
      int y1 = std::min(y0 + p.kernel_h, p.in_h + p.pad);
      const int dy = y1 - y0;
      y0 = std::max(y0, 0);
      y1 = std::min(y1, p.in_h);
      for (int ox = 0; ox < p.out_w; ++ox) {
        int x0 = ox * p.stride - p.pad;
        int x1 = std::min(x0 + p.kernel_w, p.in_w + p.pad);
        const int area = dy * (x1 - x0);
        x0 = std::max(x0, 0);
        x1 = std::min(x1, p.in_w);
        float s = 0.0f;
        for (int y = y0; y < y1; ++y)
          for (int x = x0; x < x1; ++x) s += src[std::int64_t{y} * p.in_w + x];
        dst[std::int64_t{oy} * p.out_w + ox] = area > 0 ? s / static_cast<float>(area) : 0.0f;
      }
    }
  }
}

void fully_connected(int in_features, int out_features, const float* in, const float* weights, const float* bias,
                     float* out, Act act) noexcept {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMat> w(weights, out_features, in_features);
  Eigen::Map<const Eigen::VectorXf> x(in, in_features);
  Eigen::Map<Eigen::VectorXf> y(out, out_features);
  if (bias) {
    y = Eigen::Map<const Eigen::VectorXf>(bias, out_features);
  } else {
    y.setZero();
  }
  y.noalias() += w * x;  // unit-stride operands: Eigen's GEMV uses them in place (no temporary)
  activate(out, out_features, act, out);
}

void add(const float* const* in, int count, std::int64_t n, float* out, Act act) noexcept {
  if (count <= 0) return;
  std::memcpy(out, in[0], sizeof(float) * static_cast<std::size_t>(n));
  for (int i = 1; i < count; ++i) {
    const float* src = in[i];
    for (std::int64_t j = 0; j < n; ++j) out[j] += src[j];
  }
  activate(out, n, act, out);
}

void concat(const float* const* in, const std::int64_t* sizes, int count, float* out) noexcept {
  for (int i = 0; i < count; ++i) {
    std::memcpy(out, in[i], sizeof(float) * static_cast<std::size_t>(sizes[i]));
    out += sizes[i];
  }
}

void activate(const float* in, std::int64_t n, Act act, float* out) noexcept {
  switch (act) {
    case Act::kNone:
      if (in != out) std::memcpy(out, in, sizeof(float) * static_cast<std::size_t>(n));
      return;
    case Act::kRelu:
      for (std::int64_t i = 0; i < n; ++i) out[i] = std::max(in[i], 0.0f);
      return;
    case Act::kRelu6:
      for (std::int64_t i = 0; i < n; ++i) out[i] = std::min(std::max(in[i], 0.0f), 6.0f);
      return;
    case Act::kLeakyRelu:
      for (std::int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : kLeakySlope * in[i];
      return;
  }
}

void upsample_nearest(int c, int h, int w, int factor, const float* in, float* out) noexcept {
  const int ow = w * factor;
  for (int ch = 0; ch < c; ++ch) {
    for (int y = 0; y < h; ++y) {
      const float* src = in + (std::int64_t{ch} * h + y) * w;
      float* dst = out + (std::int64_t{ch} * h * factor + std::int64_t{y} * factor) * ow;
      for (int x = 0; x < w; ++x)
        for (int f = 0; f < factor; ++f) dst[x * factor + f] = src[x];
      for (int f = 1; f < factor; ++f) std::memcpy(dst + std::int64_t{f} * ow, dst, sizeof(float) * ow);
    }
  }
}

void lrn(int c, int h, int w, int size, float alpha, float beta, float k, const float* in, float* out) noexcept {
  const std::int64_t plane = std::int64_t{h} * w;
  const int pre = (size - 1) / 2;  // Caffe: window [ch - pre, ch - pre + size)
  const float a = alpha / static_cast<float>(size);
  for (int ch = 0; ch < c; ++ch) {
    float* dst = out + ch * plane;
    std::fill(dst, dst + plane, 0.0f);
    const int c0 = std::max(ch - pre, 0), c1 = std::min(ch - pre + size, c);
    for (int j = c0; j < c1; ++j) {
      const float* src = in + j * plane;
      for (std::int64_t i = 0; i < plane; ++i) dst[i] += src[i] * src[i];
    }
    const float* x = in + ch * plane;
    for (std::int64_t i = 0; i < plane; ++i) dst[i] = x[i] * std::pow(k + a * dst[i], -beta);
  }
}

void softmax(int c, int h, int w, const float* in, float* out) noexcept {
  const std::int64_t plane = std::int64_t{h} * w;
  for (std::int64_t i = 0; i < plane; ++i) {
    float m = -std::numeric_limits<float>::infinity();
    for (int ch = 0; ch < c; ++ch) m = std::max(m, in[ch * plane + i]);
    float sum = 0.0f;
    for (int ch = 0; ch < c; ++ch) {
      const float e = std::exp(in[ch * plane + i] - m);
      out[ch * plane + i] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    for (int ch = 0; ch < c; ++ch) out[ch * plane + i] *= inv;
  }
}

bool fold_batch_norm(int out_c, std::int64_t per_out, float* weights, float* bias, const float* gamma,
                     const float* beta, const float* mean, const float* var, float eps) noexcept {
  for (int o = 0; o < out_c; ++o)
    if (!(var[o] + eps > 0.0f)) return false;
  for (int o = 0; o < out_c; ++o) {
    const float s = gamma[o] / std::sqrt(var[o] + eps);
    float* row = weights + o * per_out;
    for (std::int64_t i = 0; i < per_out; ++i) row[i] *= s;
    bias[o] = s * (bias[o] - mean[o]) + beta[o];
  }
  return true;
}

}  // namespace hetsched::runtime
