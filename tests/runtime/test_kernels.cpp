// Every CPU kernel against the naive reference (tests/runtime/kernel_reference.hpp) on random
// inputs with odd sizes, strides, pads and groups; error bound: max abs error < 1e-4 relative to
// the largest reference magnitude.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "runtime/kernel_gemm.hpp"
#include "runtime/kernels.hpp"
#include "tests/runtime/kernel_reference.hpp"

namespace hetsched::runtime {
namespace {

constexpr double kTol = 1e-4;

struct ConvCase {
  int in_c, h, w, out_c, k, stride, pad, groups;
  Act act;
};

void check_conv(const ConvCase& cc, std::mt19937& rng) {
  ConvParams p{cc.in_c, cc.h, cc.w, cc.out_c, 0, 0, cc.k, cc.k, cc.stride, cc.pad, cc.groups, cc.act};
  p.out_h = conv_out_size(cc.h, cc.k, cc.stride, cc.pad);
  p.out_w = conv_out_size(cc.w, cc.k, cc.stride, cc.pad);
  ASSERT_GT(p.out_h, 0);
  const auto in = ref::random_vec(std::int64_t{cc.in_c} * cc.h * cc.w, rng);
  const auto w = ref::random_vec(std::int64_t{cc.out_c} * (cc.in_c / cc.groups) * cc.k * cc.k, rng);
  const auto b = ref::random_vec(cc.out_c, rng);
  const std::int64_t n_out = std::int64_t{cc.out_c} * p.out_h * p.out_w;
  std::vector<float> got(static_cast<size_t>(n_out), 123.0f), want(static_cast<size_t>(n_out));
  // Over-aligned scratch as the executor provides it; 16 extra floats catch overruns.
  std::vector<float> scratch(static_cast<size_t>(conv2d_scratch_floats(p) + 32), 7.0f);
  float* s = scratch.data();
  while (reinterpret_cast<std::uintptr_t>(s) % 64 != 0) ++s;
  conv2d(p, in.data(), w.data(), b.data(), got.data(), s);
  ref::conv2d(p, in.data(), w.data(), b.data(), want.data());
  EXPECT_LT(ref::rel_err(got, want), kTol) << "conv in " << cc.in_c << "x" << cc.h << "x" << cc.w << " out_c "
                                           << cc.out_c << " k" << cc.k << " s" << cc.stride << " p" << cc.pad
                                           << " g" << cc.groups;
}

TEST(Kernels, ConvMatchesReferenceOnHandPickedShapes) {
  std::mt19937 rng(1);
  const std::vector<ConvCase> cases = {
      {3, 13, 11, 5, 3, 1, 1, 1, Act::kNone},     {4, 17, 9, 6, 3, 2, 1, 2, Act::kRelu},
      {5, 15, 15, 7, 5, 3, 2, 1, Act::kLeakyRelu}, {3, 9, 9, 4, 7, 2, 3, 1, Act::kRelu6},
      {8, 10, 12, 16, 1, 1, 0, 1, Act::kNone},    {4, 8, 8, 8, 1, 2, 0, 1, Act::kRelu},  // strided 1x1
      {6, 5, 5, 9, 3, 1, 0, 3, Act::kNone},       {9, 6, 7, 12, 1, 1, 0, 3, Act::kRelu},  // grouped pointwise
      {3, 11, 11, 8, 11, 4, 0, 1, Act::kRelu},    {1, 1, 1, 3, 1, 1, 0, 1, Act::kNone},   // AlexNet-like; 1x1x1
      {2, 4, 4, 3, 3, 1, 2, 1, Act::kNone},       // pad wider than needed: border rows of zeros
  };
  for (const auto& c : cases) check_conv(c, rng);
}

TEST(Kernels, ConvMatchesReferenceOnLargeGemmWithSeveralCacheBlocks) {
  std::mt19937 rng(2);
  // K = 128*9 = 1152 and N = 900 exceed Eigen's kc/nc, so the packed panels are reused.
  check_conv({128, 30, 30, 96, 3, 1, 1, 1, Act::kRelu}, rng);
  check_conv({256, 14, 14, 200, 1, 1, 0, 1, Act::kNone}, rng);
  // im2col larger than its 1M-float budget: built and multiplied in chunks of output rows
  // (56 + 8 rows, and 59 + 2 rows with two groups).
  check_conv({32, 64, 64, 16, 3, 1, 1, 1, Act::kNone}, rng);
  check_conv({64, 61, 61, 8, 3, 1, 1, 2, Act::kRelu}, rng);
}

TEST(Kernels, ConvMatchesReferenceOnRandomConfigurations) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> dim(1, 19), ch(1, 6), k(1, 5), s(1, 3), grp(1, 3), a(0, 3);
  for (int t = 0; t < 60; ++t) {
    const int g = grp(rng);
    ConvCase c{g * ch(rng), dim(rng), dim(rng), g * ch(rng), k(rng), s(rng), 0, g, static_cast<Act>(a(rng))};
    c.pad = std::uniform_int_distribution<int>(0, c.k - 1)(rng);
    if (c.h + 2 * c.pad < c.k || c.w + 2 * c.pad < c.k) continue;
    check_conv(c, rng);
  }
}

TEST(Kernels, DepthwiseMatchesReference) {
  std::mt19937 rng(4);
  const std::vector<ConvCase> cases = {
      {6, 7, 7, 6, 3, 1, 1, 6, Act::kRelu6},  {16, 12, 9, 16, 3, 2, 1, 16, Act::kRelu},
      {5, 13, 13, 5, 5, 2, 2, 5, Act::kNone}, {7, 4, 6, 7, 3, 3, 0, 7, Act::kLeakyRelu},
      {3, 2, 2, 3, 3, 1, 1, 3, Act::kNone},   {32, 28, 28, 32, 3, 1, 1, 32, Act::kRelu6},
      {4, 11, 9, 4, 5, 1, 2, 4, Act::kNone},  {4, 3, 17, 4, 5, 1, 4, 4, Act::kNone},  // 5x5; pad > interior
      {3, 10, 10, 3, 7, 2, 3, 3, Act::kNone}, {2, 1, 1, 2, 3, 2, 1, 2, Act::kNone},   // generic taps; 1x1 plane
  };
  for (const auto& c : cases) check_conv(c, rng);  // conv2d dispatches these to depthwise_conv2d
  // And the direct entry point.
  ConvParams p{8, 9, 11, 8, 5, 6, 3, 3, 2, 1, 8, Act::kNone};
  const auto in = ref::random_vec(8 * 9 * 11, rng), w = ref::random_vec(8 * 9, rng), b = ref::random_vec(8, rng);
  std::vector<float> got(8 * 5 * 6), want(8 * 5 * 6);
  depthwise_conv2d(p, in.data(), w.data(), b.data(), got.data());
  ref::conv2d(p, in.data(), w.data(), b.data(), want.data());
  EXPECT_LT(ref::rel_err(got, want), kTol);
}

TEST(Kernels, GemmAccumulatesWithLeadingDimensions) {
  std::mt19937 rng(5);
  const int m = 37, n = 53, k = 301, lda = k + 3, ldb = n + 5, ldc = n + 2;
  const auto a = ref::random_vec(m * lda, rng), b = ref::random_vec(k * ldb, rng);
  auto c = ref::random_vec(m * ldc, rng);
  std::vector<float> want = c;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = want[static_cast<size_t>(i * ldc + j)];
      for (int q = 0; q < k; ++q) s += double{a[static_cast<size_t>(i * lda + q)]} * b[static_cast<size_t>(q * ldb + j)];
      want[static_cast<size_t>(i * ldc + j)] = static_cast<float>(s);
    }
  const GemmPlan plan = gemm_plan(m, n, k);
  std::vector<float> scratch(static_cast<size_t>(plan.scratch_floats + 16));
  float* s = scratch.data();
  while (reinterpret_cast<std::uintptr_t>(s) % 64 != 0) ++s;
  gemm_accumulate(plan, a.data(), lda, b.data(), ldb, c.data(), ldc, s);
  EXPECT_LT(ref::rel_err(c, want), kTol);
}

TEST(Kernels, PoolOutputSizeFollowsCaffeCeilAndFloorModes) {
  EXPECT_EQ(pool_out_size(112, 3, 2, 0, true), 56);  // GoogleNet pool1 (Caffe)
  EXPECT_EQ(pool_out_size(112, 3, 2, 0, false), 55);
  EXPECT_EQ(pool_out_size(55, 3, 2, 0, true), 27);   // AlexNet pool1: both modes agree
  EXPECT_EQ(pool_out_size(55, 3, 2, 0, false), 27);
  EXPECT_EQ(pool_out_size(112, 3, 2, 1, false), 56);  // ResNet maxpool
  // Ceil would start the last window inside the right padding: Caffe drops it.
  EXPECT_EQ(pool_out_size(5, 1, 2, 1, true), 3);
  EXPECT_EQ(pool_out_size(2, 3, 1, 0, true), 0);  // window larger than the input
}

TEST(Kernels, PoolingMatchesReference) {
  std::mt19937 rng(6);
  struct Case { int c, h, w, k, s, p; bool ceil; };
  const std::vector<Case> cases = {{3, 13, 13, 3, 2, 0, true}, {3, 13, 13, 3, 2, 0, false}, {4, 9, 11, 3, 2, 1, true},
                                   {2, 7, 7, 2, 2, 0, true},   {5, 8, 6, 3, 1, 1, false},   {2, 10, 10, 5, 3, 2, true},
                                   {3, 7, 7, 7, 1, 0, false}};
  for (const auto& c : cases) {
    PoolParams p{c.c, c.h, c.w, pool_out_size(c.h, c.k, c.s, c.p, c.ceil), pool_out_size(c.w, c.k, c.s, c.p, c.ceil),
                 c.k, c.k, c.s, c.p};
    const auto in = ref::random_vec(c.c * c.h * c.w, rng);
    const auto n = static_cast<size_t>(c.c * p.out_h * p.out_w);
    std::vector<float> got(n), want(n);
    max_pool(p, in.data(), got.data());
    ref::pool(p, true, in.data(), want.data());
    EXPECT_LT(ref::rel_err(got, want), kTol) << "max k" << c.k << " s" << c.s << " p" << c.p << " ceil " << c.ceil;
    avg_pool(p, in.data(), got.data());
    ref::pool(p, false, in.data(), want.data());
    EXPECT_LT(ref::rel_err(got, want), kTol) << "avg k" << c.k << " s" << c.s << " p" << c.p << " ceil " << c.ceil;
  }
  // Global average pooling of a non-square plane is the plane mean.
  PoolParams g{2, 3, 5, 1, 1, 3, 5, 1, 0};
  std::vector<float> in(30);
  for (int i = 0; i < 30; ++i) in[static_cast<size_t>(i)] = static_cast<float>(i);
  std::vector<float> out(2);
  avg_pool(g, in.data(), out.data());
  EXPECT_FLOAT_EQ(out[0], 7.0f);
  EXPECT_FLOAT_EQ(out[1], 22.0f);
}

TEST(Kernels, FullyConnectedAddConcatMatchReference) {
  std::mt19937 rng(7);
  const int in_f = 301, out_f = 37;
  const auto x = ref::random_vec(in_f, rng), w = ref::random_vec(in_f * out_f, rng), b = ref::random_vec(out_f, rng);
  std::vector<float> got(out_f), want(out_f);
  fully_connected(in_f, out_f, x.data(), w.data(), b.data(), got.data(), Act::kRelu);
  ref::fc(in_f, out_f, x.data(), w.data(), b.data(), want.data(), Act::kRelu);
  EXPECT_LT(ref::rel_err(got, want), kTol);

  const int n = 103;
  const auto a0 = ref::random_vec(n, rng), a1 = ref::random_vec(n, rng), a2 = ref::random_vec(n, rng);
  const float* ins[] = {a0.data(), a1.data(), a2.data()};
  std::vector<float> sum(n);
  add(ins, 3, n, sum.data(), Act::kLeakyRelu);
  for (int i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    EXPECT_NEAR(sum[k], ref::act(a0[k] + a1[k] + a2[k], Act::kLeakyRelu), 1e-6f);
  }
  const std::int64_t sizes[] = {n, n, n};
  std::vector<float> cat(3 * n);
  concat(ins, sizes, 3, cat.data());
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < n; ++i) EXPECT_EQ(cat[static_cast<size_t>(j * n + i)], ins[j][i]);
}

TEST(Kernels, ActivationsClampAndLeak) {
  const std::vector<float> x = {-7.0f, -1.0f, 0.0f, 0.5f, 6.0f, 9.0f};
  std::vector<float> y(x.size());
  activate(x.data(), 6, Act::kRelu6, y.data());
  EXPECT_EQ(y, (std::vector<float>{0, 0, 0, 0.5f, 6, 6}));
  activate(x.data(), 6, Act::kRelu, y.data());
  EXPECT_EQ(y, (std::vector<float>{0, 0, 0, 0.5f, 6, 9}));
  activate(x.data(), 6, Act::kLeakyRelu, y.data());
  EXPECT_FLOAT_EQ(y[0], -0.7f);
  EXPECT_FLOAT_EQ(y[5], 9.0f);
}

TEST(Kernels, UpsampleLrnSoftmaxMatchReference) {
  std::mt19937 rng(8);
  for (int f : {2, 3}) {
    const auto in = ref::random_vec(3 * 5 * 7, rng);
    std::vector<float> got(static_cast<size_t>(3 * 5 * 7 * f * f)), want(got.size());
    upsample_nearest(3, 5, 7, f, in.data(), got.data());
    ref::upsample(3, 5, 7, f, in.data(), want.data());
    EXPECT_EQ(got, want);
  }
  for (int size : {5, 3, 4}) {
    const auto in = ref::random_vec(11 * 6 * 5, rng, -3.0f, 3.0f);
    std::vector<float> got(in.size()), want(in.size());
    lrn(11, 6, 5, size, 1e-1f, 0.75f, 2.0f, in.data(), got.data());  // large alpha: the window matters
    ref::lrn(11, 6, 5, size, 1e-1f, 0.75f, 2.0f, in.data(), want.data());
    EXPECT_LT(ref::rel_err(got, want), kTol) << "lrn size " << size;
  }
  const auto in = ref::random_vec(10 * 3 * 2, rng, -20.0f, 20.0f);
  std::vector<float> got(in.size()), want(in.size());
  softmax(10, 3, 2, in.data(), got.data());
  ref::softmax(10, 3, 2, in.data(), want.data());
  EXPECT_LT(ref::rel_err(got, want), kTol);
  for (int i = 0; i < 6; ++i) {
    double s = 0;
    for (int c = 0; c < 10; ++c) s += got[static_cast<size_t>(c * 6 + i)];
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
}

TEST(Kernels, BatchNormFoldEqualsConvFollowedByBatchNorm) {
  std::mt19937 rng(9);
  ConvParams p{4, 9, 8, 6, 0, 0, 3, 3, 2, 1, 2, Act::kNone};
  p.out_h = conv_out_size(9, 3, 2, 1);
  p.out_w = conv_out_size(8, 3, 2, 1);
  const std::int64_t per_out = (4 / 2) * 9;
  const auto in = ref::random_vec(4 * 9 * 8, rng);
  auto w = ref::random_vec(6 * per_out, rng);
  auto b = ref::random_vec(6, rng);
  const auto gamma = ref::random_vec(6, rng, 0.5f, 2.0f), beta = ref::random_vec(6, rng);
  const auto mean = ref::random_vec(6, rng), var = ref::random_vec(6, rng, 0.1f, 3.0f);
  const float eps = 1e-5f;
  const int plane = p.out_h * p.out_w;
  std::vector<float> want(static_cast<size_t>(6 * plane)), got(want.size());
  ref::conv2d(p, in.data(), w.data(), b.data(), want.data());
  for (int o = 0; o < 6; ++o)
    for (int i = 0; i < plane; ++i) {
      float& y = want[static_cast<size_t>(o * plane + i)];
      y = gamma[static_cast<size_t>(o)] * (y - mean[static_cast<size_t>(o)]) / std::sqrt(var[static_cast<size_t>(o)] + eps) +
          beta[static_cast<size_t>(o)];
    }
  ASSERT_TRUE(fold_batch_norm(6, per_out, w.data(), b.data(), gamma.data(), beta.data(), mean.data(), var.data(), eps));
  ref::conv2d(p, in.data(), w.data(), b.data(), got.data());
  EXPECT_LT(ref::rel_err(got, want), kTol);

  // A non-positive variance is rejected and leaves the parameters untouched.
  auto bad_var = var;
  bad_var[3] = -1.0f;
  const auto w_before = w, b_before = b;
  EXPECT_FALSE(fold_batch_norm(6, per_out, w.data(), b.data(), gamma.data(), beta.data(), mean.data(), bad_var.data(), eps));
  EXPECT_EQ(w, w_before);
  EXPECT_EQ(b, b_before);
}

}  // namespace
}  // namespace hetsched::runtime
