// Runtime adaptive mode with a learned policy file: a policy created for this host (platform
// "host", units A/B = cpu0/cpu1, mobilenet_v1) drives the real pipeline through the controller
// and publishes its decisions; a policy for another platform and a corrupt file are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "agent/online_runtime.hpp"
#include "hetsched/runtime.hpp"
#include "policies/action_space.hpp"
#include "policies/model.hpp"
#include "policies/obs_encoder.hpp"
#include "policies/policy_file.hpp"
#include "runtime/controller.hpp"
#include "runtime/host_config.hpp"
#include "telemetry/record_sink.hpp"

namespace hetsched {
namespace {

struct DecisionSink final : telemetry::RecordSink {
  std::mutex m;
  std::vector<telemetry::Decision> d;
  void on_sample(const telemetry::Sample&) noexcept override {}
  void on_event(const telemetry::Event&) noexcept override {}
  void on_decision(const telemetry::Decision& x) noexcept override {
    std::lock_guard<std::mutex> lock(m);
    d.push_back(x);
  }
};

std::string order(int a_blocks, int total) { return std::string(static_cast<size_t>(a_blocks), 'A') + std::string(static_cast<size_t>(total - a_blocks), 'B'); }

// Writes a host policy whose Q-values prefer candidate `favourite` whatever it observes.
std::string write_host_policy(const RuntimePlatform& rp, int favourite, int* obs_size) {
  std::vector<std::string> names;
  std::vector<std::vector<int>> cores;
  for (const auto& u : rp.units) names.push_back(u.name), cores.push_back(u.cpu_ids);
  policies::PlatformDesc desc = runtime::default_host_desc(names, cores);
  desc.name = rp.name;
  auto model = policies::load_model_by_name(HETSCHED_SOURCE_DIR, "mobilenet_v1").value();
  const int B = model.num_blocks();
  std::vector<policies::Config> cands;
  std::string text;
  for (int a : {B / 2, B - 4}) {
    policies::Config c = runtime::config_from_plan(runtime::PipelinePlan{}, desc);
    c.num_blocks = B;
    const std::string o = order(a, B);
    for (int b = 0; b < B; ++b) c.unit[static_cast<size_t>(b)] = o[static_cast<size_t>(b)];
    cands.push_back(c);
    text += (text.empty() ? "" : "|") + policies::format_config(c, desc);
  }
  policies::ActionSpaceOptions ao;
  ao.candidates = cands;
  ao.accuracy = policies::load_accuracy_table(HETSCHED_SOURCE_DIR, model.name).value();
  auto space = policies::ActionSpace::create(desc, model, ao);
  EXPECT_TRUE(space.ok()) << space.status().to_string();
  auto enc = policies::ObsEncoder::create(desc, space->num_candidates()).value();
  *obs_size = enc.size();
  auto mlp = policies::Mlp::create({{enc.size(), 8, space->size()}}).value();
  mlp.bias(1)(favourite) = 10.0f;  // output layer: the favourite candidate always wins
  const policies::PolicySchema schema{desc.name, model.name, space->schema() + "; " + enc.schema(), policies::kObsSchemaVersion};
  const std::string path = ::testing::TempDir() + "hetsched_host_" + std::to_string(favourite) + ".policy";
  EXPECT_TRUE(policies::save_policy_file(path, mlp, schema, {{"candidates", text}}).ok());
  return path;
}

TEST(RuntimePolicy, HostPolicyFileDrivesThePipelineAndPublishesDecisions) {
  auto p = host_platform().value();
  if (p.units.size() < 2) GTEST_SKIP() << "needs two host units";
  p.units.resize(2);
  int obs_size = 0;
  const std::string path = write_host_policy(p, 1, &obs_size);
  ManualClock clock(0);
  DecisionSink sink;
  RuntimeOptions o;
  o.calibration_frames = 1;
  o.controller_thread = false;  // virtual time: the test steps the controller
  o.clock = &clock;
  o.policy_file = path;
  o.split = p.units[0].name + ":14," + p.units[1].name + ":14";  // candidate 0
  o.sink = &sink;
  o.on_result = [](const RuntimeResult&) {};
  auto rt = Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o);
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  Runtime& R = *rt.value();
  std::vector<float> in(static_cast<size_t>(R.input_floats()), 0.5f);
  for (int period = 0; period < 3; ++period) {  // the agent's hysteresis: a jump is taken the second time it is chosen
    for (int f = 0; f < 2; ++f) ASSERT_TRUE(R.submit(in.data(), R.input_floats(), 0).ok());
    clock.advance_ns(o.decision_period_ns);
    ASSERT_TRUE(R.control_step());
  }
  ASSERT_TRUE(R.submit(in.data(), R.input_floats(), 0).ok());  // the new split is installed at a frame boundary
  ASSERT_TRUE(R.stop().ok());
  const RuntimeTelemetry t = R.telemetry();
  EXPECT_EQ(t.policy.rfind("trained:", 0), 0u) << t.policy;
  EXPECT_EQ(t.split, p.units[0].name + ":24," + p.units[1].name + ":4");  // candidate 1
  EXPECT_EQ(t.decisions, 3u);
  ASSERT_EQ(sink.d.size(), 3u);
  for (const auto& d : sink.d) {
    EXPECT_EQ(d.action, 1);
    EXPECT_EQ(static_cast<int>(d.observation.size()), obs_size);
  }
  EXPECT_EQ(sink.d.back().text.substr(0, 28), order(24, 28));
}

// Online learning: the learner thread trains on the run's periods and hot-swaps its agent in
// through the controller, while every frame is still delivered.
TEST(RuntimePolicy, OnlineLearningUpdatesAndHotSwapsTheAgent) {
  auto p = host_platform().value();
  if (p.units.size() < 2) GTEST_SKIP() << "needs two host units";
  p.units.resize(2);
  int obs_size = 0;
  const std::string path = write_host_policy(p, 0, &obs_size);
  ManualClock clock(0);
  std::atomic<int> delivered{0};
  RuntimeOptions o;
  o.calibration_frames = 1;
  o.controller_thread = false;
  o.clock = &clock;
  o.policy_file = path;
  hetsched::agent::OnlineLearningOptions lo;
  lo.publish_every_updates = 5;
  o.online_learner = hetsched::agent::online_learner_factory(lo);
  o.on_result = [&](const RuntimeResult& r) { delivered += r.ok ? 1 : 0; };
  auto rt = Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o);
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  Runtime& R = *rt.value();
  EXPECT_EQ(R.telemetry().policy.rfind("online:", 0), 0u);
  std::vector<float> in(static_cast<size_t>(R.input_floats()), 0.5f);
  int submitted = 0;
  for (int period = 0; period < 400 && R.telemetry().policy_swaps < 2; ++period) {
    if (period % 10 == 0) {
      ASSERT_TRUE(R.submit(in.data(), R.input_floats(), 0).ok());
      ++submitted;
    }
    clock.advance_ns(o.decision_period_ns);
    ASSERT_TRUE(R.control_step());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // let the learner thread keep up
  }
  ASSERT_TRUE(R.stop().ok());
  const RuntimeTelemetry t = R.telemetry();
  EXPECT_GE(t.policy_swaps, 2u);
  EXPECT_GT(t.online_updates, 0u);
  EXPECT_EQ(delivered.load(), submitted);
}

TEST(RuntimePolicy, PolicyForAnotherPlatformOrCorruptIsRefusedAtCreate) {
  auto p = host_platform().value();
  RuntimeOptions o;
  o.calibration_frames = 1;
  o.policy_file = std::string(HETSCHED_SOURCE_DIR) + "/policies/trained/rockpi_n10_googlenet.policy";
  auto r = Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rockpi_n10"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("policy_file"), std::string::npos) << r.status().message();

  if (p.units.size() < 2) return;
  p.units.resize(2);
  int n = 0;
  const std::string good = write_host_policy(p, 0, &n);
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  const std::string bad = ::testing::TempDir() + "hetsched_host_corrupt.policy";
  std::ofstream(bad, std::ios::binary) << bytes;
  o.policy_file = bad;
  auto c = Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(bad), std::string::npos) << c.status().message();
  o.policy_file = good;
  o.platform_file = std::string(HETSCHED_SOURCE_DIR) + "/env/platforms/rockpi_n10.json";  // 4 units, GPU/NPU: not this host
  auto d = Runtime::create(p, "mobilenet_v1", HETSCHED_SOURCE_DIR, o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("platform_file"), std::string::npos) << d.status().message();
}

}  // namespace
}  // namespace hetsched
