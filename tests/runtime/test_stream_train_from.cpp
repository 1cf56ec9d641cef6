// `hetsched train --from` against an in-test device: the test hosts the stream server and
// publishes what a run publishes (frame records + decisions with the shipped policy's
// observation size); the CLI learns from it and pushes policies, which the server verifies
// (schema of the shipped policy, sanity window) and hands to the hot-swap hook.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "policies/frame_records.hpp"
#include "policies/policy_file.hpp"
#include "stream_test_util.hpp"
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
  f.num_stages = 2;
  f.target_fps = 30;
  f.fps_ok = f.power_ok = f.latency_ok = true;
  std::int64_t t = 1;
  int action = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done && std::chrono::steady_clock::now() < until) {
    f.fps = 20 + action % 12, f.power_mw = 3000 + 50 * (action % 7), f.latency_us = 1e6 / f.fps;
    codec->publish(s, {t, &f, &mask});
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
