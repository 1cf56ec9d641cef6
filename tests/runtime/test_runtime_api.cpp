// Public Runtime API on real mobilenet_v1 inference over this machine's units.
#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>

#include "hetsched/runtime.hpp"

namespace hetsched {
namespace {

TEST(RuntimeApi, HostPlatformNamesUnitsAfterTheirFirstCore) {
  auto p = host_platform();
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  ASSERT_FALSE(p->units.empty());
  for (const auto& u : p->units) {
    ASSERT_FALSE(u.cpu_ids.empty());
    EXPECT_EQ(u.name, "cpu" + std::to_string(u.cpu_ids.front()));
  }
}

TEST(RuntimeApi, FixedModeDeliversEveryFrameInOrderByCallback) {
  auto p = host_platform().value();
  std::mutex m;
  std::vector<std::uint64_t> tags;
  RuntimeOptions o;
  o.mode = RuntimeMode::kFixed;
  o.calibration_frames = 1;
  o.on_result = [&](const RuntimeResult& r) {
    std::lock_guard<std::mutex> lock(m);
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.n_outputs, 1);
    EXPECT_EQ(r.outputs[0].elements(), 1001);
    tags.push_back(r.tag);
  };
  auto rt = Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o);
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  std::vector<float> in(static_cast<size_t>(rt.value()->input_floats()), 0.25f);
  for (std::uint64_t f = 0; f < 6; ++f) ASSERT_TRUE(rt.value()->submit(in.data(), static_cast<std::int64_t>(in.size()), 100 + f).ok());
  if (p.units.size() >= 2) {
    ASSERT_TRUE(rt.value()->set_split(p.units[1].name + ":27," + p.units[0].name + ":1").ok());
  }
  for (std::uint64_t f = 6; f < 10; ++f) ASSERT_TRUE(rt.value()->submit(in.data(), static_cast<std::int64_t>(in.size()), 100 + f).ok());
  ASSERT_TRUE(rt.value()->stop().ok());
  ASSERT_EQ(tags.size(), 10u);
  for (size_t i = 0; i < tags.size(); ++i) EXPECT_EQ(tags[i], 100 + i);
  const auto t = rt.value()->telemetry();
  EXPECT_EQ(t.frames_done, 10u + p.units.size() * 2);  // + calibration (warm-up + 1 per unit)
  EXPECT_EQ(t.frames_submitted, 10u);
  EXPECT_FALSE(rt.value()->submit(in.data(), static_cast<std::int64_t>(in.size()), 0).ok());
}

TEST(RuntimeApi, QueueModeAndAdaptiveController) {
  auto p = host_platform().value();
  RuntimeOptions o;  // adaptive, queue mode
  o.calibration_frames = 1;
  o.decision_period_ns = 10'000'000;
  o.rate_limit_ns = 5'000'000;
  auto rt = Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o);
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  std::vector<float> in(static_cast<size_t>(rt.value()->input_floats()), 0.5f);
  RuntimeOutput out;
  std::vector<float> first;
  for (std::uint64_t f = 0; f < 8; ++f) {
    ASSERT_TRUE(rt.value()->submit(in.data(), static_cast<std::int64_t>(in.size()), f).ok());
    ASSERT_TRUE(rt.value()->poll(&out, 5'000'000'000));
    EXPECT_EQ(out.tag, f);
    ASSERT_EQ(static_cast<std::int64_t>(out.output.size()), rt.value()->output_floats());
    if (f == 0) first = out.output;
    else EXPECT_EQ(out.output, first);  // same input, whichever split: same result
  }
  EXPECT_FALSE(rt.value()->poll(&out, 0));
  const auto t = rt.value()->telemetry();
  EXPECT_GT(t.decisions, 0u);
  EXPECT_EQ(t.units.size(), p.units.size());
  EXPECT_TRUE(rt.value()->stop().ok());
}

TEST(RuntimeApi, CreateErrorsNameTheField) {
  auto p = host_platform().value();
  RuntimeOptions o;
  o.policy_file = "x.policy";
  EXPECT_NE(Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o).status().message().find("policy_file"), std::string::npos);
  o = {};
  EXPECT_EQ(Runtime::create(p, "no_such_model", HETSCHED_SOURCE_DIR, o).status().code(), StatusCode::kNotFound);
  o.calibration_frames = 0;
  EXPECT_NE(Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o).status().message().find("calibration_frames"), std::string::npos);
  o = {};
  o.split = "cpu0:5";
  EXPECT_NE(Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o).status().message().find("split"), std::string::npos);
  EXPECT_FALSE(Runtime::create(RuntimePlatform{}, "mobilenet_v1", HETSCHED_SOURCE_DIR, {}).ok());
}

}  // namespace
}  // namespace hetsched

namespace hetsched {
namespace {

// cmake --install of this build into a temporary prefix, then examples/ configured and built
// against it with find_package(hetsched), and run.
TEST(RuntimeApi, InstalledPackageBuildsAndRunsTheExample) {
  const std::string bin = HETSCHED_BINARY;                         // <build>/tools/hetsched
  const std::string build = bin.substr(0, bin.rfind("/tools/"));
  const std::string tmp = build + "/test-install";
  const std::string cmd = "rm -rf " + tmp + " && cmake --install " + build + " --prefix " + tmp + "/prefix > " + tmp +
                          ".log 2>&1 && cmake -S " HETSCHED_SOURCE_DIR "/examples -B " + tmp + "/ex -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" +
                          tmp + "/prefix >> " + tmp + ".log 2>&1 && cmake --build " + tmp + "/ex >> " + tmp + ".log 2>&1 && " + tmp +
                          "/ex/embed " HETSCHED_SOURCE_DIR " 6 >> " + tmp + ".log 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "see " << tmp << ".log";
}

}  // namespace
}  // namespace hetsched
