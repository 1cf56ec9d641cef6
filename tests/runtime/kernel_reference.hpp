// Naive reference implementations (straight loops, double accumulation) that the kernel and
// executor tests compare the optimised kernels against. Shared by test_kernels/test_executor.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "runtime/kernels.hpp"

namespace hetsched::runtime::ref {

inline float act(float x, Act a) {
  switch (a) {
    case Act::kNone: return x;
    case Act::kRelu: return x > 0 ? x : 0;
    case Act::kRelu6: return std::min(std::max(x, 0.0f), 6.0f);
    case Act::kLeakyRelu: return x > 0 ? x : kLeakySlope * x;
  }
  return x;
}

inline std::vector<float> random_vec(std::int64_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

inline void conv2d(const ConvParams& p, const float* in, const float* w, const float* b, float* out) {
  const int icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  for (int oc = 0; oc < p.out_c; ++oc) {
    const int g = oc / ocg;
    for (int oy = 0; oy < p.out_h; ++oy)
      for (int ox = 0; ox < p.out_w; ++ox) {
        double s = b ? b[oc] : 0.0;
        for (int ci = 0; ci < icg; ++ci)
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx) {
              const int iy = oy * p.stride - p.pad + ky, ix = ox * p.stride - p.pad + kx;
              if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;
              s += double{w[((oc * icg + ci) * p.kernel_h + ky) * p.kernel_w + kx]} *
                   in[((g * icg + ci) * p.in_h + iy) * p.in_w + ix];
            }
        out[(oc * p.out_h + oy) * p.out_w + ox] = act(static_cast<float>(s), p.act);
      }
  }
}

// Caffe pooling written from its definition: window [o*s - p, o*s - p + k) clipped to the input;
// avg divides by the window clipped to [-p, in + p).
inline void pool(const PoolParams& p, bool is_max, const float* in, float* out) {
  for (int c = 0; c < p.c; ++c)
    for (int oy = 0; oy < p.out_h; ++oy)
      for (int ox = 0; ox < p.out_w; ++ox) {
        const int ys = oy * p.stride - p.pad, xs = ox * p.stride - p.pad;
        double m = -std::numeric_limits<double>::infinity(), s = 0;
        int pad_area = 0;
        for (int y = ys; y < ys + p.kernel_h; ++y)
          for (int x = xs; x < xs + p.kernel_w; ++x) {
            if (y < p.in_h + p.pad && x < p.in_w + p.pad) ++pad_area;
            if (y < 0 || y >= p.in_h || x < 0 || x >= p.in_w) continue;
            const double v = in[(c * p.in_h + y) * p.in_w + x];
            m = std::max(m, v);
            s += v;
          }
        out[(c * p.out_h + oy) * p.out_w + ox] = static_cast<float>(is_max ? m : s / pad_area);
      }
}

inline void fc(int in_f, int out_f, const float* in, const float* w, const float* b, float* out, Act a) {
  for (int o = 0; o < out_f; ++o) {
    double s = b ? b[o] : 0.0;
    for (int i = 0; i < in_f; ++i) s += double{w[o * in_f + i]} * in[i];
    out[o] = act(static_cast<float>(s), a);
  }
}

inline void lrn(int c, int h, int w, int size, float alpha, float beta, float k, const float* in, float* out) {
  for (int ch = 0; ch < c; ++ch)
    for (int i = 0; i < h * w; ++i) {
      double s = 0;
      for (int j = ch - (size - 1) / 2; j < ch - (size - 1) / 2 + size; ++j)
        if (j >= 0 && j < c) s += double{in[j * h * w + i]} * in[j * h * w + i];
      out[ch * h * w + i] = static_cast<float>(in[ch * h * w + i] / std::pow(k + alpha / size * s, double{beta}));
    }
}

inline void softmax(int c, int h, int w, const float* in, float* out) {
  for (int i = 0; i < h * w; ++i) {
    double sum = 0;
    for (int ch = 0; ch < c; ++ch) sum += std::exp(double{in[ch * h * w + i]});
    for (int ch = 0; ch < c; ++ch) out[ch * h * w + i] = static_cast<float>(std::exp(double{in[ch * h * w + i]}) / sum);
  }
}

inline void upsample(int c, int h, int w, int f, const float* in, float* out) {
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h * f; ++y)
      for (int x = 0; x < w * f; ++x) out[(ch * h * f + y) * w * f + x] = in[(ch * h + y / f) * w + x / f];
}

// max |a - b| / max(1, max |b|): the "relative" error bound used by every comparison.
inline double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0, scale = 1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    m = std::max(m, std::abs(double{a[i]} - b[i]));
    scale = std::max(scale, std::abs(double{b[i]}));
  }
  return a.size() == b.size() ? m / scale : std::numeric_limits<double>::infinity();
}

}  // namespace hetsched::runtime::ref
