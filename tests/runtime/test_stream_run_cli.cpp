// The server inside a real run: `hetsched run --platform host --listen` streams, refuses a
// corrupt push and a policy trained for another platform (with the reason), refuses a rollback
// with nothing to roll back to, and the run carries on and exits 0.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "stream_test_util.hpp"

using namespace stream_test;

TEST(StreamRunCli, RealRunStreamsAndRefusesBadPushesWithoutStopping) {
  const int port = 43000 + static_cast<int>(getpid() % 15000);
  const std::string log = ::testing::TempDir() + "hetsched_stream_run_cli.log";
  const std::string cmd = std::string("'") + HETSCHED_BINARY + "' run --platform host --seconds 5 --quiet --listen 127.0.0.1:" +
                          std::to_string(port) + " >'" + log + "' 2>&1";
  int status = -1;
  std::thread run([&] { status = std::system(cmd.c_str()); });
  std::unique_ptr<hr::StreamClient> c;
  for (int i = 0; i < 100 && !c; ++i) {  // the run builds its model before it listens
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    hr::StreamClientOptions co;
    co.port = static_cast<std::uint16_t>(port);
    co.timeout_ms = 1000;
    auto r = hr::StreamClient::connect(co);
    if (r.ok()) c = std::move(r.value());
  }
  ASSERT_TRUE(c) << "run never listened";
  EXPECT_NE(c->hello().description.find("host"), std::string::npos);
  // Wait for a decision so the sanity window is not empty.
  bool decision = false;
  for (int i = 0; i < 200 && !decision; ++i) {
    auto f = c->next(2000);
    ASSERT_TRUE(f.ok()) << f.status().message();
    decision = f->type == ht::FrameType::kDecision;
  }
  ASSERT_TRUE(decision);
  auto r1 = c->push_policy("definitely not a policy file", 5000);
  ASSERT_TRUE(r1.ok()) << r1.status().message();
  EXPECT_FALSE(r1->accepted);
  std::ifstream f(std::string(HETSCHED_SOURCE_DIR) + "/policies/trained/rockpi_n10_googlenet.policy", std::ios::binary);
  const std::string other((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(other.empty());
  auto r2 = c->push_policy(other, 5000);
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  EXPECT_FALSE(r2->accepted);
  EXPECT_NE(r2->message.find("rejected"), std::string::npos) << r2->message;
  // The run's masks hook (tools::agent_masks) rebuilds the pushed file's action space for this
  // run's platform/model, which names the mismatch.
  EXPECT_NE(r2->message.find("action space of the pushed policy: pushed policy: trained for rockpi_n10/googlenet, this run is host/"),
            std::string::npos) << r2->message;
  auto r3 = c->rollback(5000);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(r3->accepted) << r3->message;
  // Still streaming after the refusals.
  bool samples = false;
  for (int i = 0; i < 200 && !samples; ++i) {
    auto g = c->next(2000);
    ASSERT_TRUE(g.ok()) << g.status().message();
    samples = g->type == ht::FrameType::kSamples;
  }
  EXPECT_TRUE(samples);
  c->close();
  run.join();
  std::ifstream lf(log);
  const std::string text((std::istreambuf_iterator<char>(lf)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status)) << text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
  EXPECT_NE(text.find("policy push rejected"), std::string::npos) << text;  // logged reason
  std::printf("push 1: %s\npush 2: %s\nrollback: %s\n", r1->message.c_str(), r2->message.c_str(), r3->message.c_str());
}
