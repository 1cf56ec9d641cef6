// `hetsched train --from` against an in-test device: the test hosts the stream server and
// publishes what a run publishes (frame records + decisions with the shipped policy's
// observation size); the CLI learns from it and pushes policies, which the server verifies
// (schema of the shipped policy, sanity window) and hands to the hot-swap hook.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "agent/dqn.hpp"
#include "agent/replay_buffer.hpp"
#include "policies/agent_file.hpp"
#include "policies/frame_records.hpp"
#include "policies/policy_file.hpp"
#include "stream_test_util.hpp"
#include "runtime/stream_verify.hpp"
#include "telemetry/clock.hpp"

using namespace stream_test;
namespace hp = hetsched::policies;

namespace {

hetsched::RealClock g_clock;

class Holder final : public hp::Controller {
 public:
  std::string_view name() const noexcept override { return "pushed"; }
  void reset(const hp::Config&) noexcept override {}
  const hp::Config& decide(const hp::TelemetryFrame&, const hp::MaskInput&) noexcept override { return c_; }
  hp::Config c_;
};

// The shipped policy's action space (what the device and train --from rebuild from the file).
std::shared_ptr<const hp::ActionSpace> shipped_space(const hp::PolicyFile& f) {
  auto p = hp::load_platform_by_name(HETSCHED_SOURCE_DIR, f.schema.platform);
  auto m = hp::load_model_by_name(HETSCHED_SOURCE_DIR, f.schema.model);
  EXPECT_TRUE(p.ok() && m.ok());
  if (!p.ok() || !m.ok()) return nullptr;
  auto a = hp::agent_from_policy_file(f, *p, *m, HETSCHED_SOURCE_DIR, "shipped");
  EXPECT_TRUE(a.ok()) << a.status().message();
  return a.ok() ? a->space : nullptr;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(StreamTrainFrom, LearnsFromTheStreamAndPushesVerifiedPolicies) {
  const std::string start_path = std::string(HETSCHED_SOURCE_DIR) + "/policies/trained/rockpi_n10_googlenet.policy";
  auto start = hp::read_policy_file(start_path);
  ASSERT_TRUE(start.ok()) << start.status().message();
  const int in = start->mlp.input_size(), out = start->mlp.output_size();

  ht::SourceTable sources;
  auto codec = hp::FrameCodec::create(4, 2, &sources);
  ASSERT_TRUE(codec.ok()) << codec.status().message();
  auto o = quiet_options();
  o.sources = sources.names();
  o.schema = start->schema;
  o.observation_size = in;
  o.num_actions = out;
  const auto space = shipped_space(*start);
  ASSERT_TRUE(space);
  // Pushes are verified under the masks the device published (stream_verify.hpp).
  o.hooks.masks = [space](const hp::PolicyFile&) -> hetsched::Result<hr::MaskFn> {
    return hr::MaskFn([space](const hp::Config& c, const hp::MaskInput& m, std::span<std::uint8_t> out) { return space->mask(c, m, out); });
  };
  std::atomic<int> swaps{0};
  o.hooks.build = [](const hp::PolicyFile& f) -> hetsched::Result<std::unique_ptr<hp::Controller>> {
    if (f.metadata.count("candidates") == 0) return hetsched::Status(hetsched::StatusCode::kCorrupt, "no candidates");
    return std::unique_ptr<hp::Controller>(std::make_unique<Holder>());
  };
  o.hooks.propose = [&swaps](std::unique_ptr<hp::Controller>) { return ++swaps, hetsched::Status::Ok(); };
  auto srv = hr::StreamServer::create(o, g_clock);
  ASSERT_TRUE(srv.ok()) << srv.status().message();
  hr::StreamServer& s = **srv;

  const std::string out_path = ::testing::TempDir() + "hetsched_train_from.policy";
  const std::string log_path = ::testing::TempDir() + "hetsched_train_from.log";
  std::remove(out_path.c_str());
  const std::string cmd = std::string("'") + HETSCHED_BINARY + "' train --from 127.0.0.1:" + std::to_string(s.port()) + " --policy '" +
                          start_path + "' --out '" + out_path + "' --seconds 3 --push-every 0.5 --min-transitions 16 >'" + log_path + "' 2>&1";
  std::atomic<bool> done{false};
  int status = -1;
  std::thread cli([&] {
    status = std::system(cmd.c_str());
    done = true;
  });
  // The device: 500 periods per second; FPS depends on the action so there is something to learn.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  hp::TelemetryFrame f;
  hp::MaskInput mask;
  const hp::Config current = space->candidate(0);  // the configuration in force, recorded with each period
  f.num_stages = 2;
  f.target_fps = 30;
  f.fps_ok = f.power_ok = f.latency_ok = true;
  std::int64_t t = 1;
  int action = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done && std::chrono::steady_clock::now() < until) {
    f.fps = 20 + action % 12, f.power_mw = 3000 + 50 * (action % 7), f.latency_us = 1e6 / f.fps;
    hp::PeriodInput pin;
    pin.t_ns = t, pin.frame = &f, pin.mask = &mask, pin.current = &current;
    codec->publish(s, pin);
    std::vector<float> obs(static_cast<std::size_t>(in));
    for (auto& x : obs) x = u(rng);
    action = static_cast<int>(rng() % static_cast<unsigned>(out));
    s.on_decision({t, action, obs, "cfg" + std::to_string(action % 3)});
    t += 2'000'000;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  cli.join();
  const std::string log = slurp(log_path);
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 0) << log;
  EXPECT_NE(log.find("push 1: accepted"), std::string::npos) << log;
  EXPECT_NE(log.find("masked-preference fraction"), std::string::npos) << log;
  // Every transition's next state had its period record: all bootstrap over the device's mask.
  unsigned long long n_tr = 0, n_masked = 0;
  const auto summary = log.find("train --from: ");
  ASSERT_NE(summary, std::string::npos) << log;
  ASSERT_EQ(std::sscanf(log.c_str() + summary, "train --from: %llu transitions (%llu with the device's mask)", &n_tr, &n_masked), 2) << log;
  EXPECT_GT(n_tr, 100u) << log;
  EXPECT_EQ(n_masked, n_tr) << "some transitions bootstrapped unmasked: " << log;
  EXPECT_GE(s.stats().pushes_accepted, 1u) << log;
  EXPECT_EQ(static_cast<std::uint64_t>(swaps.load()), s.stats().pushes_accepted);
  // The written policy: same schema and candidates as the device's, different (learned) weights.
  auto written = hp::read_policy_file(out_path);
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written->schema_hash, start->schema_hash);
  EXPECT_EQ(written->metadata.at("candidates"), start->metadata.at("candidates"));
  EXPECT_NE(written->mlp.checksum(), start->mlp.checksum());
  EXPECT_GT(std::stoll(written->metadata.at("transitions")), 100);
}

TEST(StreamTrainFrom, UsageErrors) {
  auto run = [](const std::string& args) {
    const int st = std::system((std::string("'") + HETSCHED_BINARY + "' train " + args + " >/dev/null 2>&1").c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  EXPECT_EQ(run("--from 127.0.0.1:1"), 2);                                   // --policy and --out missing
  EXPECT_EQ(run("--from nohost --policy x --out y"), 2);                     // bad HOST:PORT
  EXPECT_EQ(run("--from 127.0.0.1:1 --policy /nonexistent --out /tmp/x"), 1);  // unreadable policy
}

TEST(StreamTrainFrom, NextStateMaskFromTheFrameRecordKeepsMaskedActionsOutOfTheTarget) {
  auto start = hp::read_policy_file(std::string(HETSCHED_SOURCE_DIR) + "/policies/trained/rockpi_n10_googlenet.policy");
  ASSERT_TRUE(start.ok());
  const auto space = shipped_space(*start);
  ASSERT_TRUE(space);
  const int n = space->size();
  // The period of the decision: unit 3 (NPU) sensed offline, configuration in force = candidate 0.
  hp::FrameRecord period;
  period.t_ns = 5'000'000;
  period.has_current = true;
  period.current = space->candidate(0);
  for (int u = 0; u < hp::kMaxUnits; ++u) period.mask.online[static_cast<std::size_t>(u)] = u != 3;
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(n), 7), want(static_cast<std::size_t>(n));
  ASSERT_TRUE(hr::mask_at_decision(*space, period, 5'000'000, mask));
  ASSERT_TRUE(space->mask(period.current, period.mask, want));
  EXPECT_EQ(mask, want);
  int masked_a = -1;
  for (int a = 0; a < n && masked_a < 0; ++a)
    if (!mask[static_cast<std::size_t>(a)]) masked_a = a;
  ASSERT_GE(masked_a, 0) << "an offline NPU must mask some candidate";
  // Another period's record, or one without the configuration: no mask (caller bootstraps unmasked).
  std::vector<std::uint8_t> untouched(static_cast<std::size_t>(n), 7);
  EXPECT_FALSE(hr::mask_at_decision(*space, period, 6'000'000, untouched));
  auto no_cur = period;
  no_cur.has_current = false;
  EXPECT_FALSE(hr::mask_at_decision(*space, no_cur, 5'000'000, untouched));
  EXPECT_EQ(untouched, std::vector<std::uint8_t>(static_cast<std::size_t>(n), 7));

  // The learner's update: linear Q, every weight 0 except a huge Q for the masked action in every
  // state. With the recorded mask the target is r + gamma * 0 = 0 (the loss is 0); without it the
  // masked action's 1000 would enter: y = 0.95 * 1000, Huber loss 950 - 0.5.
  hetsched::agent::DqnOptions dq;
  dq.observation_size = 2;
  dq.num_actions = n;
  dq.hidden_sizes = {};
  auto dqn = hetsched::agent::Dqn::create(dq);
  ASSERT_TRUE(dqn.ok());
  for (auto& p : dqn->online().params()) p = 0;
  dqn->online().bias(0)[masked_a] = 1000;
  dqn->sync_target();
  auto loss_with = [&](std::span<const std::uint8_t> next_mask) {
    auto rb = hetsched::agent::ReplayBuffer::create({8, 2, n, 1});
    EXPECT_TRUE(rb.ok());
    const std::vector<float> s0 = {1, 0}, s1 = {0, 1};
    EXPECT_TRUE(rb->push(s0, space->stay_action(), 0.0f, s1, next_mask, false));
    auto batch = hetsched::agent::ReplayBatch::make(1, 2, n);
    EXPECT_TRUE(rb->sample(1, &batch));
    std::vector<float> grad(dqn->online().num_params());
    return dqn->loss_and_gradient(batch, grad);
  };
  EXPECT_NEAR(loss_with(mask), 0.0f, 1e-6f);
  EXPECT_NEAR(loss_with({}), 949.5f, 1e-2f);
}
