// Pipeline: zero-copy hand-over through the slot pool, order under live re-splits, failures
// delivered in order, real mobilenet_v1 split across two executors equals one-unit inference.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "policies/model.hpp"
#include "runtime/executor.hpp"
#include "runtime/pipeline.hpp"

namespace hetsched::runtime {
namespace {

// A synthetic model: `blocks` blocks, every boundary one 1x1x4 tensor. Block b adds 1 to each
// element, so the output equals input + blocks iff every block ran exactly once on the frame.
BoundaryLayout chain_layout(int blocks) {
  BoundaryLayout l;
  l.model = "chain";
  for (int k = 0; k <= blocks; ++k) l.boundary.push_back({TensorSpec{k - 1, 4, 1, 1}});
  return l;
}

struct AddOne {
  std::atomic<int> calls{0};
  int fail_block = -1;            // this block returns an error (when >= 0)
  std::atomic<int> fail_budget{0};  // ... this many times
  int spin_us = 0;
};

Status add_one(void* user, int block, const TensorView* in, int, TensorView* out, int) noexcept {
  auto* a = static_cast<AddOne*>(user);
  a->calls.fetch_add(1);
  if (block == a->fail_block && a->fail_budget.fetch_sub(1) > 0) return Error(StatusCode::kInternal, "injected");
  if (a->spin_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(a->spin_us));
  for (int i = 0; i < 4; ++i) out[0].data[i] = in[0].data[i] + 1.0f;
  return Status::Ok();
}

struct Sink {
  std::mutex m;
  std::vector<std::uint64_t> seqs;
  std::vector<float> values;
  std::vector<bool> ok;
  std::vector<std::uint32_t> epochs;
  void operator()(const PipelineResult& r) {
    std::lock_guard<std::mutex> lock(m);
    seqs.push_back(r.seq);
    values.push_back(r.n_outputs == 1 ? r.outputs[0].data[0] : -1.0f);
    ok.push_back(r.ok);
    epochs.push_back(r.epoch);
  }
};

PipelinePlan random_plan(std::mt19937& rng, int blocks, int units) {
  std::vector<int> assign(static_cast<size_t>(blocks));
  // Runs of random length on random units, so plans include A->B->A loops.
  int b = 0;
  while (b < blocks) {
    const int len = std::uniform_int_distribution<int>(1, blocks)(rng);
    const int u = std::uniform_int_distribution<int>(0, units - 1)(rng);
    for (int i = 0; i < len && b < blocks; ++i) assign[static_cast<size_t>(b++)] = u;
  }
  return plan_from_assignment(assign, units).value();
}

TEST(Pipeline, RandomResplitsNeverDropDuplicateOrReorder) {
  const int kBlocks = 12, kUnits = 3, kFrames = 3000;
  AddOne fn;
  std::vector<std::unique_ptr<BlockExecutor>> execs;
  std::vector<PipelineUnit> units;
  for (int u = 0; u < kUnits; ++u) {
    execs.push_back(make_function_executor(chain_layout(kBlocks), add_one, &fn, "add").value());
    units.push_back({"u" + std::to_string(u), {}, execs.back().get()});
  }
  Sink sink;
  RealClock clock;
  std::mt19937 rng(7);
  auto p = Pipeline::create(units, random_plan(rng, kBlocks, kUnits), {.slots = 5}, clock,
                            [&](const PipelineResult& r) { sink(r); });
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  float in[4];
  int resplits = 0;
  for (int f = 0; f < kFrames; ++f) {
    if (f % 7 == 3) {
      ASSERT_TRUE(p.value()->set_plan(random_plan(rng, kBlocks, kUnits)).ok());
      ++resplits;
    }
    std::fill(in, in + 4, static_cast<float>(f));
    ASSERT_TRUE(p.value()->submit(in, 4, static_cast<std::uint64_t>(f)).ok());
  }
  p.value()->stop();
  ASSERT_EQ(sink.seqs.size(), static_cast<size_t>(kFrames));
  for (int f = 0; f < kFrames; ++f) {
    ASSERT_EQ(sink.seqs[static_cast<size_t>(f)], static_cast<std::uint64_t>(f)) << "reordered/dropped at " << f;
    ASSERT_EQ(sink.values[static_cast<size_t>(f)], static_cast<float>(f + kBlocks)) << "frame " << f;
    ASSERT_TRUE(sink.ok[static_cast<size_t>(f)]);
    if (f > 0) {
      ASSERT_GE(sink.epochs[static_cast<size_t>(f)], sink.epochs[static_cast<size_t>(f - 1)]);
    }
  }
  EXPECT_EQ(fn.calls.load(), kFrames * kBlocks);  // no block ran twice on a frame
  EXPECT_GT(p.value()->epoch(), static_cast<std::uint32_t>(resplits / 2));  // most re-splits changed the plan
  EXPECT_EQ(p.value()->frames_done(), static_cast<std::uint64_t>(kFrames));
}

TEST(Pipeline, FailedBlockIsDeliveredInOrderAndCounted) {
  const int kBlocks = 6;
  AddOne fn;
  fn.fail_block = 1;
  fn.fail_budget = 3;
  auto e0 = make_function_executor(chain_layout(kBlocks), add_one, &fn, "add").value();
  auto e1 = make_function_executor(chain_layout(kBlocks), add_one, &fn, "add").value();
  Sink sink;
  RealClock clock;
  auto plan = plan_from_assignment({0, 0, 0, 1, 1, 1}, 2).value();
  auto p = Pipeline::create({{"a", {}, e0.get()}, {"b", {}, e1.get()}}, plan, {.slots = 3}, clock,
                            [&](const PipelineResult& r) { sink(r); });
  ASSERT_TRUE(p.ok());
  float in[4] = {0, 0, 0, 0};
  for (int f = 0; f < 20; ++f) ASSERT_TRUE(p.value()->submit(in, 4, 0).ok());
  p.value()->stop();
  ASSERT_EQ(sink.seqs.size(), 20u);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(sink.seqs[i], i);
  EXPECT_EQ(std::count(sink.ok.begin(), sink.ok.end(), false), 3);
  EXPECT_EQ(p.value()->frames_failed(), 3u);
  EXPECT_FALSE(p.value()->submit(in, 4, 0).ok());  // stopped
}

TEST(Pipeline, NonFiniteOutputMarksFrameFailed) {
  AddOne fn;
  auto e0 = make_function_executor(chain_layout(2), add_one, &fn, "add").value();
  Sink sink;
  RealClock clock;
  auto p = Pipeline::create({{"a", {}, e0.get()}}, plan_from_assignment({0, 0}, 1).value(), {}, clock,
                            [&](const PipelineResult& r) { sink(r); });
  ASSERT_TRUE(p.ok());
  float good[4] = {1, 2, 3, 4}, bad[4] = {1, NAN, 3, 4};
  ASSERT_TRUE(p.value()->submit(good, 4, 0).ok());
  ASSERT_TRUE(p.value()->submit(bad, 4, 0).ok());
  p.value()->drain();
  ASSERT_EQ(sink.ok.size(), 2u);
  EXPECT_TRUE(sink.ok[0]);
  EXPECT_FALSE(sink.ok[1]);
}

TEST(Pipeline, RejectsBadInputAndPlans) {
  AddOne fn;
  auto e0 = make_function_executor(chain_layout(4), add_one, &fn, "add").value();
  auto e_other = make_function_executor(chain_layout(5), add_one, &fn, "add").value();
  RealClock clock;
  const auto plan = plan_from_assignment({0, 0, 0, 0}, 1).value();
  EXPECT_FALSE(Pipeline::create({}, plan, {}, clock, nullptr).ok());
  EXPECT_FALSE(Pipeline::create({{"a", {}, nullptr}}, plan, {}, clock, nullptr).ok());
  EXPECT_FALSE(Pipeline::create({{"a", {}, e0.get()}, {"b", {}, e_other.get()}}, plan, {}, clock, nullptr).ok());
  EXPECT_FALSE(Pipeline::create({{"a", {}, e0.get()}}, plan, {.slots = 0}, clock, nullptr).ok());
  auto bad_plan = plan;
  bad_plan.stages[0].end_block = 3;  // covers 3 of 4 blocks
  EXPECT_FALSE(Pipeline::create({{"a", {}, e0.get()}}, bad_plan, {}, clock, nullptr).ok());
  auto p = Pipeline::create({{"a", {}, e0.get()}}, plan, {}, clock, nullptr);
  ASSERT_TRUE(p.ok());
  float in[4] = {};
  EXPECT_EQ(p.value()->submit(in, 3, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(p.value()->submit(nullptr, 4, 0).ok());
  EXPECT_FALSE(p.value()->set_plan(bad_plan).ok());
}

TEST(Pipeline, PinsWorkersToTheirCores) {
  AddOne fn;
  auto e0 = make_function_executor(chain_layout(2), add_one, &fn, "add").value();
  RealClock clock;
  const auto plan = plan_from_assignment({0, 0}, 1).value();
  EXPECT_FALSE(Pipeline::create({{"a", {100000}, e0.get()}}, plan, {}, clock, nullptr).ok());  // no such core
  EXPECT_TRUE(Pipeline::create({{"a", {0}, e0.get()}}, plan, {}, clock, nullptr).ok());
}

TEST(Pipeline, MobilenetSplitAcrossTwoExecutorsEqualsOneUnit) {
  auto desc = policies::load_model_by_name(HETSCHED_SOURCE_DIR, "mobilenet_v1");
  ASSERT_TRUE(desc.ok()) << desc.status().to_string();
  auto model = EigenModel::create(*desc, {}).value();
  auto ref = EigenExecutor::create(model).value();
  std::shared_ptr<BlockExecutor> e0 = EigenExecutor::create(model).value(), e1 = EigenExecutor::create(model).value();
  const BoundaryLayout& l = ref->layout();
  const int B = l.num_blocks();
  std::vector<float> input(static_cast<size_t>(l.boundary_floats(0)));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1, 1);
  for (auto& x : input) x = d(rng);
  std::vector<float> want(static_cast<size_t>(l.boundary_floats(B)));
  TensorView vin[1], vout[8];
  boundary_views(l, 0, input.data(), vin);
  boundary_views(l, B, want.data(), vout);
  ASSERT_TRUE(ref->run_range(0, B, vin, 1, vout, static_cast<int>(l.boundary[static_cast<size_t>(B)].size())).ok());

  std::vector<std::vector<float>> got;
  RealClock clock;
  auto p = Pipeline::create({{"cpu0", {}, e0.get()}, {"cpu1", {}, e1.get()}}, parse_plan("cpu0:9,cpu1:19", {"cpu0", "cpu1"}, B).value(),
                            {.slots = 2}, clock, [&](const PipelineResult& r) {
                              got.emplace_back(r.outputs[0].data, r.outputs[0].data + r.outputs[0].elements());
                            });
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  ASSERT_TRUE(p.value()->submit(input.data(), static_cast<std::int64_t>(input.size()), 0).ok());
  ASSERT_TRUE(p.value()->set_plan(parse_plan("cpu1:3,cpu0:25", {"cpu0", "cpu1"}, B).value()).ok());
  ASSERT_TRUE(p.value()->submit(input.data(), static_cast<std::int64_t>(input.size()), 1).ok());
  p.value()->stop();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), want.size());
    EXPECT_EQ(std::memcmp(g.data(), want.data(), want.size() * sizeof(float)), 0);  // same kernels, same order: bitwise
  }
}

}  // namespace
}  // namespace hetsched::runtime
