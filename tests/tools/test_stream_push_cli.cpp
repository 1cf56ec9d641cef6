// End to end over the real CLI (issue 7; the long version with figures is
// bench/eval_stream_push.sh): a policy trained on this machine's host profile is pushed by
// `hetsched train --from` into a real `hetsched run --platform host --listen`, verified under the
// device's masks and hot-swapped (the device's actions then equal the pushed network's masked
// argmax), rolled back, and the run ends normally. No timing assertions: the checks are on
// verdicts and on which network produced the streamed actions.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>

#include "cli_runner.hpp"

namespace hc = hetsched::testing_cli;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TEST(StreamPushCli, TrainedHostPolicyIsVerifiedHotSwappedAndRolledBack) {
  const std::string src = HETSCHED_SOURCE_DIR;
  const std::string profile = hc::temp_path("push", "profile.json"), weak = hc::temp_path("push", "weak.policy"),
                    good = hc::temp_path("push", "good.policy"), online = hc::temp_path("push", "online.policy");
  // A real (minimal) profile of this machine: the run checks its units against the host's.
  auto p = hc::run_cli("push", "profile --platform host --model mobilenet_v1 --out " + q(profile) + " --reps 1 --warmup 0 --handover-seconds 0");
  ASSERT_EQ(p.code, 0) << p.err;
  const std::string sc = " --scenarios " + q(src + "/tests/env/data/host_scenario.json");
  auto tw = hc::run_cli("push", "train --platform " + q(profile) + " --model mobilenet_v1" + sc + " --out " + q(weak) + " --seed 2 --steps 1");
  ASSERT_EQ(tw.code, 0) << tw.err;
  auto tg = hc::run_cli("push", "train --platform " + q(profile) + " --model mobilenet_v1" + sc + " --out " + q(good) + " --seed 1 --steps 3000");
  ASSERT_EQ(tg.code, 0) << tg.err;

  const std::string run_out = hc::temp_path("push", "run.json"), run_err = hc::temp_path("push", "run.log");
  const std::string cmd = q(HETSCHED_BINARY) + " run --platform host --model mobilenet_v1 --profile " + q(profile) + " --policy " + q(weak) +
                          " --seconds 9 --listen 127.0.0.1:0 --quiet --json >" + q(run_out) + " 2>" + q(run_err);
  std::remove(run_out.c_str());  // a previous run's "listening on" line must not be read
  std::remove(run_err.c_str());
  int status = -1;
  std::thread run([&] { status = std::system(cmd.c_str()); });
  std::string addr;
  const std::regex listening("run: listening on (127\\.0\\.0\\.1:[0-9]+)");
  for (int i = 0; i < 300 && addr.empty(); ++i) {  // the run builds and calibrates its model first
    std::smatch m;
    const std::string log = hc::slurp(run_err);
    if (std::regex_search(log, m, listening)) addr = m[1];
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (addr.empty()) {
    run.join();
    FAIL() << "the run never listened: " << hc::slurp(run_err);
  }
  auto tf = hc::run_cli("push", "train --from " + addr + " --policy " + q(good) + " --profile " + q(profile) + " --out " + q(online) +
                                    " --push-start 1.5 --rollback-at 3.5 --push-every 2 --seconds 7");
  run.join();
  const std::string run_log = hc::slurp(run_err);
  ASSERT_TRUE(WIFEXITED(status)) << run_log;
  EXPECT_EQ(WEXITSTATUS(status), 0) << run_log;
  ASSERT_EQ(tf.code, 0) << tf.err << tf.out;
  std::printf("%s", tf.out.c_str());

  // Push 1 = the trained host policy, accepted after the masked sanity window (the run's masks
  // hook rebuilt the host profile's action space: every checked decision had a mask).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(tf.out, m, std::regex("push 1: accepted: accepted policy [0-9]+ \\(([0-9]+) observations checked, ([0-9]+) masked")))
      << tf.out;
  EXPECT_GT(std::stoi(m[1]), 0);
  EXPECT_EQ(m[1], m[2]) << tf.out;
  EXPECT_NE(tf.out.find("unchanged"), std::string::npos) << tf.out;
  // train --from rebuilt the same masks from the profile: no "bootstrapping over every action".
  EXPECT_EQ(tf.err.find("no action masks"), std::string::npos) << tf.err;
  // Hot-swapped: after the push the device's actions are the pushed network's masked argmax (at
  // most the one decision in flight when the verdict arrived was still the old policy's).
  ASSERT_TRUE(std::regex_search(tf.out, m, std::regex("phase 1: the device's action = push 1's masked argmax on ([0-9]+) of ([0-9]+) decisions")))
      << tf.out;
  const int agree = std::stoi(m[1]), checked = std::stoi(m[2]);
  EXPECT_GE(checked, 5) << tf.out;
  EXPECT_GE(agree, checked - 2) << tf.out;
  // Rolled back, and the run says so in its log; it kept running and ended normally.
  EXPECT_NE(tf.out.find("rollback: accepted: rolled back to the previous policy"), std::string::npos) << tf.out;
  // The run's spdlog lines (stream verdicts) and its --json summary both go to stdout.
  const std::string json = hc::slurp(run_out);
  EXPECT_NE(json.find("stream: policy push accepted policy"), std::string::npos) << json;
  EXPECT_NE(json.find("stream: rolled back to the previous policy"), std::string::npos) << json;
  ASSERT_TRUE(std::regex_search(json, m, std::regex("\"policy_swaps\":([0-9]+)"))) << json;
  EXPECT_GE(std::stoi(m[1]), 1) << json;
  EXPECT_NE(json.find("\"dropped_frames\":0"), std::string::npos) << json;
}
