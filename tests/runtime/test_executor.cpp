// The Eigen executor: planning of hand-built and zoo models, wiring of block hand-over
// (skip connections and routes spanning blocks), bit-identical split execution, weights files,
// the pluggable-executor API and the registry.
#include <gtest/gtest.h>

#include <Eigen/Core>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <atomic>
#include <vector>

#include "hetsched/executor.hpp"
#include "policies/model.hpp"
#include "runtime/executor.hpp"
#include "tests/runtime/executor_fixtures.hpp"

// Allocation counting for the hot-path test: malloc/calloc/realloc of this test binary forward to
// glibc and count only while the calling thread has set tl_count_allocs (operator new and Eigen's
// aligned_malloc both end in malloc). Other tests and threads see plain glibc. Disabled under
// sanitizers, which interpose malloc themselves.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HETSCHED_COUNT_ALLOCS 1
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
namespace {
thread_local bool tl_count_allocs = false;
std::atomic<long> g_allocs{0};
}  // namespace
extern "C" void* malloc(size_t n) {
  if (tl_count_allocs) g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t m) {
  if (tl_count_allocs) g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, m);
}
extern "C" void* realloc(void* p, size_t n) {
  if (tl_count_allocs) g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
#endif

namespace hetsched::runtime {
namespace {

using namespace fixtures;  // NOLINT: test-local vocabulary

TEST(Executor, ChainModelMatchesNaiveReference) {
  const ModelDesc m = chain_model();
  auto model = build(m);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->plan().layers[2].out.h, 6);  // ceil((11 - 3) / 2) + 1 (floor would give 5)
  const auto input = random_input(m, 1);
  auto e = EigenExecutor::create(model);
  ASSERT_TRUE(e.ok());
  std::vector<float> out(10);
  TensorView in_v{const_cast<float*>(input.data()), 3, 23, 19}, out_v{out.data(), 10, 1, 1};
  ASSERT_TRUE(e.value()->run_range(0, m.num_blocks(), &in_v, 1, &out_v, 1).ok());
  const auto want = reference_run(*model, input);
  EXPECT_LT(ref::rel_err(out, want.back()), 1e-4);
  expect_split_identical(model, input);
}

TEST(Executor, BoundariesCarrySkipsRoutesAndAllOutputs) {
  const ModelDesc m = graph_model();
  auto model = build(m);
  ASSERT_TRUE(model);
  const BoundaryLayout& l = model->plan().layout;
  auto producers = [&](int k) {
    std::vector<int> v;
    for (const auto& s : l.boundary[static_cast<size_t>(k)]) v.push_back(s.producer);
    return v;
  };
  ASSERT_EQ(l.num_blocks(), 9);
  EXPECT_EQ(producers(0), (std::vector<int>{-1}));
  EXPECT_EQ(producers(2), (std::vector<int>{1}));        // skip of layer 1 rides along to the add
  EXPECT_EQ(producers(3), (std::vector<int>{1, 2}));
  EXPECT_EQ(producers(4), (std::vector<int>{4}));        // add output waits for the route
  EXPECT_EQ(producers(5), (std::vector<int>{4, 5}));
  EXPECT_EQ(producers(6), (std::vector<int>{4, 5, 6}));  // head1 is carried to the end
  EXPECT_EQ(producers(7), (std::vector<int>{4, 6, 8}));
  EXPECT_EQ(producers(9), (std::vector<int>{6, 11}));    // both model outputs, in layer order
  const auto input = random_input(m, 2);
  std::vector<float> got;
  expect_split_identical(model, input, &got);
  const auto want = reference_run(*model, input);
  std::vector<float> expect = want[6];
  expect.insert(expect.end(), want[11].begin(), want[11].end());
  EXPECT_LT(ref::rel_err(got, expect), 1e-4);
}

TEST(Executor, ConcurrentExecutorsShareOneModel) {
  const ModelDesc m = graph_model();
  auto model = build(m);
  ASSERT_TRUE(model);
  const auto input = random_input(m, 3);
  const BoundaryLayout& l = model->plan().layout;
  std::vector<float> results[2];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      auto e = EigenExecutor::create(model);
      Boundary in(l, 0), out(l, l.num_blocks());
      std::copy(input.begin(), input.end(), in.data.begin());
      for (int rep = 0; rep < 20; ++rep)
        (void)e.value()->run_range(0, l.num_blocks(), in.views.data(), 1, out.views.data(), 2);
      results[t] = out.data;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(results[0], results[1]);
}

TEST(Executor, RejectsMalformedModelsNamingLayerAndField) {
  ModelDesc m = chain_model();
  m.layers[4].inputs = {7};
  auto r = EigenModel::create(m, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'pw2' .inputs[0]"), std::string::npos) << r.status().message();
  m = chain_model();
  m.layers[4].op = OpType::kConv;
  m.layers[4].groups = 5;  // 8 input channels
  r = EigenModel::create(m, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(".groups"), std::string::npos) << r.status().message();
  m = chain_model();
  m.layers[2].out = {8, 5, 4};  // a loader shape (floor mode) that contradicts ceil_mode
  r = EigenModel::create(m, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'pool1' .out"), std::string::npos) << r.status().message();
  m = chain_model();
  m.blocks[1].first_layer = 2;
  r = EigenModel::create(m, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("blocks[1]"), std::string::npos) << r.status().message();
  m = chain_model();
  m.layers[0].kernel = 40;
  EXPECT_EQ(EigenModel::create(m, {}).status().code(), StatusCode::kInvalidArgument);
  m = chain_model();
  m.layers[1].activation = OpType::kSoftmax;
  EXPECT_EQ(EigenModel::create(m, {}).status().code(), StatusCode::kInvalidArgument);
  // Absurd hand-built sizes are refused before any arithmetic can overflow.
  m = chain_model();
  m.layers[0].out_channels = 1 << 20;
  EXPECT_NE(EigenModel::create(m, {}).status().message().find(".out_channels"), std::string::npos);
  m = chain_model();
  m.input = {3, 60000, 60000};
  EXPECT_NE(EigenModel::create(m, {}).status().message().find("too large"), std::string::npos);
  m = graph_model();
  m.layers[8].stride = 1 << 15;
  EXPECT_NE(EigenModel::create(m, {}).status().message().find("'up' .stride"), std::string::npos);
  m = graph_model();
  m.layers[1].stride = 0;
  EXPECT_EQ(EigenModel::create(m, {}).status().code(), StatusCode::kInvalidArgument);
  m = graph_model();
  m.layers[1].pad = -1;
  EXPECT_EQ(EigenModel::create(m, {}).status().code(), StatusCode::kInvalidArgument);
  m = graph_model();
  m.blocks.clear();
  EXPECT_EQ(EigenModel::create(m, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Executor, RunBlockValidatesArguments) {
  auto model = build(graph_model());
  ASSERT_TRUE(model);
  auto e = EigenExecutor::create(model);
  const BoundaryLayout& l = model->plan().layout;
  Boundary in(l, 3), out(l, 4);  // block 3 reads {1, 2} and writes {4}
  auto run = [&](int b, TensorView* i, int ni, TensorView* o, int no) { return e.value()->run_block(b, i, ni, o, no); };
  EXPECT_TRUE(run(3, in.views.data(), 2, out.views.data(), 1).ok());
  EXPECT_EQ(run(9, in.views.data(), 2, out.views.data(), 1).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(run(-1, in.views.data(), 2, out.views.data(), 1).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(run(3, in.views.data(), 1, out.views.data(), 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run(3, in.views.data(), 2, out.views.data(), 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run(3, nullptr, 2, out.views.data(), 1).code(), StatusCode::kInvalidArgument);
  TensorView bad = in.views[1];
  bad.h += 1;
  TensorView ins[2] = {in.views[0], bad};
  const Status st = run(3, ins, 2, out.views.data(), 1);
  EXPECT_NE(st.message().find("inputs[1]"), std::string::npos) << st.to_string();
  ins[1] = in.views[1];
  ins[1].data = nullptr;
  EXPECT_EQ(run(3, ins, 2, out.views.data(), 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e.value()->run_range(3, 3, in.views.data(), 2, out.views.data(), 1).code(), StatusCode::kOutOfRange);
}

TEST(Executor, HotPathDoesNotAllocate) {
#ifndef HETSCHED_COUNT_ALLOCS
  GTEST_SKIP() << "allocation counting needs glibc without sanitizers";
#else
  // Sanity: the counter sees allocations at all.
  tl_count_allocs = true;
  void* volatile probe = std::malloc(64);
  tl_count_allocs = false;
  std::free(probe);
  ASSERT_EQ(g_allocs.exchange(0), 1);
  // Positive control: a plain Eigen product of this size allocates its packing buffers, which
  // is why the kernels hand Eigen preallocated ones (runtime/kernel_gemm.hpp).
  {
    Eigen::MatrixXf a = Eigen::MatrixXf::Ones(256, 576), b = Eigen::MatrixXf::Ones(576, 900), c(256, 900);
    tl_count_allocs = true;
    c.noalias() = a * b;
    tl_count_allocs = false;
    EXPECT_GT(g_allocs.exchange(0), 0);
    EXPECT_EQ(c(0, 0), 576.0f);
  }
  // Conv layers big enough that a plain Eigen product would heap-allocate its packing buffers
  // (> 128 KiB), a chunked im2col, and every other kernel of the two graphs.
  ModelDesc big = make_model("big", {64, 70, 70}, {L("c", OpType::kConv, {}, 256, 3, 1, 1, OpType::kRelu),
                                                   L("p", OpType::kMaxPool, {}, 0, 2, 2, 0),
                                                   L("f", OpType::kFullyConnected, {}, 100)});
  for (const ModelDesc& m : {chain_model(), graph_model(), big}) {
    auto model = build(m);
    ASSERT_TRUE(model);
    auto e = EigenExecutor::create(model);
    const BoundaryLayout& l = model->plan().layout;
    std::vector<Boundary> bs;
    for (int k = 0; k <= l.num_blocks(); ++k) bs.emplace_back(l, k);
    for (int b = 0; b < l.num_blocks(); ++b) {
      auto& in = bs[static_cast<size_t>(b)].views;
      auto& out = bs[static_cast<size_t>(b) + 1].views;
      tl_count_allocs = true;
      const Status st = e.value()->run_block(b, in.data(), static_cast<int>(in.size()), out.data(), static_cast<int>(out.size()));
      tl_count_allocs = false;
      ASSERT_TRUE(st.ok());
      EXPECT_EQ(g_allocs.exchange(0), 0) << m.name << " block " << b;
    }
    tl_count_allocs = true;
    const Status st = e.value()->run_range(0, l.num_blocks(), bs[0].views.data(), static_cast<int>(bs[0].views.size()),
                                           bs.back().views.data(), static_cast<int>(bs.back().views.size()));
    tl_count_allocs = false;
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(g_allocs.exchange(0), 0) << m.name << " run_range";
  }
#endif
}

}  // namespace
}  // namespace hetsched::runtime
