// The executor on the real model zoo (env/models/*.json), the weights file and the pluggable
// executor API.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unistd.h>
#include <fstream>

#include <Eigen/Core>

#include "hetsched/executor.hpp"
#include "policies/model.hpp"
#include "runtime/executor.hpp"
#include "tests/runtime/executor_fixtures.hpp"

namespace hetsched::runtime {
namespace {

using namespace fixtures;  // NOLINT: test-local vocabulary

ModelDesc zoo(const std::string& name) {
  auto m = policies::load_model_by_name(HETSCHED_SOURCE_DIR, name);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? m.value() : ModelDesc{};
}

// The same architecture at another input size; shapes are re-derived by the planner.
ModelDesc resized(ModelDesc m, int hw) {
  m.input.h = m.input.w = hw;
  for (auto& l : m.layers) l.out = {};
  return m;
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("hetsched_kernels_" + std::to_string(::getpid()) + "_" + name);
}

TEST(ExecutorZoo, PlansEveryModelConsistentlyWithTheLoader) {
  for (const auto& name : policies::list_models(HETSCHED_SOURCE_DIR)) {
    const ModelDesc m = zoo(name);
    auto plan = plan_model(m);  // also checks every layer shape against the loader's
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    EXPECT_EQ(plan->param_floats * 4, m.total_param_bytes()) << name;
    EXPECT_NEAR(plan->macs, m.total_macs(), 1e-9 * m.total_macs()) << name;
    const BoundaryLayout& l = plan->layout;
    ASSERT_EQ(l.num_blocks(), m.num_blocks());
    // The loader's cut_bytes are our boundaries minus the model outputs already produced.
    for (int b = 0; b + 1 < m.num_blocks(); ++b) {
      std::int64_t bytes = 0;
      for (const TensorSpec& s : l.boundary[static_cast<size_t>(b) + 1])
        if (s.producer < 0 || std::any_of(plan->layers.begin(), plan->layers.end(), [&](const LayerPlan& lp) {
              return std::find(lp.inputs.begin(), lp.inputs.end(), s.producer) != lp.inputs.end();
            }))
          bytes += 4 * s.elements();
      EXPECT_EQ(bytes, m.blocks[static_cast<size_t>(b)].cut_bytes) << name << " after block " << b;
    }
  }
}

TEST(ExecutorZoo, MobilenetV1InferenceIsAFiniteDistribution) {
  auto model = build(zoo("mobilenet_v1"));
  ASSERT_TRUE(model);
  std::vector<float> out;
  // Split at two boundaries only: every boundary would cost 28 full inferences.
  auto e = EigenExecutor::create(model);
  const BoundaryLayout& l = model->plan().layout;
  Boundary in(l, 0), mid(l, 14), full(l, l.num_blocks()), tail(l, l.num_blocks());
  const auto input = random_input(zoo("mobilenet_v1"), 4);
  std::copy(input.begin(), input.end(), in.data.begin());
  ASSERT_TRUE(e.value()->run_range(0, l.num_blocks(), in.views.data(), 1, full.views.data(), 1).ok());
  double sum = 0;
  for (float v : full.data) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
  }
  EXPECT_NEAR(sum, 1.0, 1e-4);
  auto e2 = EigenExecutor::create(model);
  ASSERT_TRUE(e.value()->run_range(0, 14, in.views.data(), 1, mid.views.data(), static_cast<int>(mid.views.size())).ok());
  ASSERT_TRUE(e2.value()->run_range(14, l.num_blocks(), mid.views.data(), static_cast<int>(mid.views.size()),
                                    tail.views.data(), 1).ok());
  EXPECT_EQ(full.data, tail.data);
}

TEST(ExecutorZoo, EveryModelSplitsBitIdenticallyAtEveryBoundary) {
  // Reduced inputs keep this fast; the graph (and thus every boundary) is the real one.
  for (const auto& [name, hw] : std::vector<std::pair<std::string, int>>{
           {"resnet50", 32}, {"yolov3", 32}, {"googlenet", 64}, {"squeezenet", 67}, {"alexnet", 99}, {"mobilenet_v1", 64}}) {
    SCOPED_TRACE(name);
    const ModelDesc m = resized(zoo(name), hw);
    auto model = build(m);
    ASSERT_TRUE(model);
    std::vector<float> out;
    expect_split_identical(model, random_input(m, 5), &out);
    double max_abs = 0;
    for (float v : out) max_abs = std::max(max_abs, static_cast<double>(std::abs(v)));
    EXPECT_TRUE(std::isfinite(max_abs));
    EXPECT_GT(max_abs, 0.0);
    EXPECT_LT(max_abs, 1e4) << "synthetic weights must keep activations O(1)";
  }
}

TEST(ExecutorZoo, WeightsFileRoundTripsAndRejectsDamage) {
  const ModelDesc m = graph_model();
  auto a = build(m, 7);
  ASSERT_TRUE(a);
  const auto path = temp_file("graph.bin");
  ASSERT_TRUE(a->save_weights(path.string()).ok());
  auto b = EigenModel::create(m, {.weights_path = path.string(), .seed = 99});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(a->plan().param_floats, b.value()->plan().param_floats);
  EXPECT_EQ(0, std::memcmp(a->params(), b.value()->params(), sizeof(float) * a->plan().param_floats));
  auto c = build(m, 8);  // another seed gives other weights
  EXPECT_NE(0, std::memcmp(a->params(), c->params(), sizeof(float) * a->plan().param_floats));

  std::ifstream in(path, std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto try_bytes = [&](const std::string& bytes, const ModelDesc& desc = graph_model()) {
    const auto p = temp_file("damaged.bin");
    std::ofstream(p, std::ios::binary) << bytes;
    auto r = EigenModel::create(desc, {.weights_path = p.string(), .seed = 1});
    std::filesystem::remove(p);
    return r.status();
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x10;
  EXPECT_EQ(try_bytes(flipped).code(), StatusCode::kCorrupt);
  EXPECT_NE(try_bytes(flipped).message().find("checksum"), std::string::npos) << try_bytes(flipped).message();
  EXPECT_EQ(try_bytes(good.substr(0, good.size() - 5)).code(), StatusCode::kCorrupt);
  EXPECT_EQ(try_bytes(good + "x").code(), StatusCode::kCorrupt);
  EXPECT_EQ(try_bytes("").code(), StatusCode::kCorrupt);
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  EXPECT_NE(try_bytes(bad_magic).message().find("magic"), std::string::npos);
  std::string bad_version = good;
  bad_version[8] = 9;
  EXPECT_NE(try_bytes(bad_version).message().find("version 9"), std::string::npos);
  ModelDesc other = graph_model();
  other.name = "other";
  EXPECT_NE(try_bytes(good, other).message().find("for model 'graph'"), std::string::npos);
  ModelDesc wider = graph_model();
  wider.layers[0].out_channels = 7;
  const Status st = try_bytes(good, wider);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("layer 0 has"), std::string::npos) << st.message();
  EXPECT_EQ(EigenModel::create(m, {.weights_path = "/nonexistent/w.bin", .seed = 1}).status().code(),
            StatusCode::kNotFound);
  std::filesystem::remove(path);
}

// A "user engine": doubles its input into every output (counts calls).
Status doubling_engine(void* user, int block, const TensorView* in, int n_in, TensorView* out, int n_out) noexcept {
  ++*static_cast<int*>(user);
  if (block == 2) return Error(StatusCode::kUnavailable, "npu busy");
  for (int o = 0; o < n_out; ++o)
    for (std::int64_t i = 0; i < out[o].elements(); ++i) out[o].data[i] = 2.0f * in[n_in - 1].data[i % in[n_in - 1].elements()];
  return Status::Ok();
}

TEST(ExecutorApi, FunctionExecutorChecksArgumentsAndForwardsStatus) {
  auto model = build(graph_model());
  ASSERT_TRUE(model);
  const BoundaryLayout& l = model->plan().layout;
  int calls = 0;
  EXPECT_FALSE(make_function_executor(l, nullptr, &calls, "npu").ok());
  EXPECT_FALSE(make_function_executor(BoundaryLayout{}, doubling_engine, &calls, "npu").ok());
  auto fx = make_function_executor(l, doubling_engine, &calls, "npu");
  ASSERT_TRUE(fx.ok());
  EXPECT_STREQ(fx.value()->engine(), "npu");
  Boundary in(l, 0), out(l, 1);
  in.data.assign(in.data.size(), 1.5f);
  ASSERT_TRUE(fx.value()->run_block(0, in.views.data(), 1, out.views.data(), 1).ok());
  EXPECT_EQ(out.data[0], 3.0f);
  EXPECT_EQ(fx.value()->run_block(0, in.views.data(), 1, out.views.data(), 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 1);  // the bad call never reached the engine
  Boundary in2(l, 2), out2(l, 3);
  EXPECT_EQ(fx.value()->run_block(2, in2.views.data(), 1, out2.views.data(), 2).message(), "npu busy");
  EXPECT_EQ(calls, 2);
}

TEST(ExecutorApi, RegistryRequiresOneLayoutAcrossUnits) {
  auto model = build(graph_model());
  auto other = build(chain_model());
  ASSERT_TRUE(model && other);
  ExecutorRegistry reg;
  std::shared_ptr<BlockExecutor> cpu = std::move(EigenExecutor::create(model)).value();
  int calls = 0;
  std::shared_ptr<BlockExecutor> npu = std::move(make_function_executor(model->plan().layout, doubling_engine, &calls, "npu")).value();
  ASSERT_TRUE(reg.add("cpu_big", cpu).ok());
  ASSERT_TRUE(reg.add("npu", npu).ok());
  EXPECT_FALSE(reg.add("npu", npu).ok());
  EXPECT_FALSE(reg.add("", npu).ok());
  EXPECT_FALSE(reg.add("gpu", nullptr).ok());
  const Status st = reg.add("cpu_little", std::move(EigenExecutor::create(other)).value());
  EXPECT_NE(st.message().find("another block layout"), std::string::npos) << st.message();
  EXPECT_EQ(reg.find("npu"), npu.get());
  EXPECT_EQ(reg.find("gpu"), nullptr);
  EXPECT_EQ(reg.units(), (std::vector<std::string>{"cpu_big", "npu"}));
  EXPECT_STREQ(reg.find("cpu_big")->engine(), "eigen-cpu");
}

TEST(ExecutorApi, EigenRunsOnTheCallingThreadOnly) {
  EXPECT_EQ(Eigen::nbThreads(), 1);  // no OpenMP: pinning the stage thread pins the kernels
}

}  // namespace
}  // namespace hetsched::runtime
