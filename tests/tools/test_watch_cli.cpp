// `hetsched watch` end to end: a real host run streaming with --listen, watched with --once;
// usage and connection errors; the non-loopback bind rule of run --listen.
#include <unistd.h>

#include <gtest/gtest.h>

#include "cli_runner.hpp"

using hetsched::testing_cli::run_cli;
using hetsched::testing_cli::slurp;
using hetsched::testing_cli::temp_path;

namespace {
// A port unlikely to collide with parallel test runs on this machine.
int test_port() { return 41000 + static_cast<int>(getpid() % 20000); }
}  // namespace

TEST(WatchCli, WatchesAHostRunStreamingWithListen) {
  const std::string bin = HETSCHED_BINARY, out = temp_path("watch", "out"), err = temp_path("watch", "err");
  const std::string port = std::to_string(test_port());
  // The run starts (model build + calibration) in the background; watch retries until it listens.
  const std::string script = "'" + bin + "' run --platform host --seconds 4 --quiet --listen 127.0.0.1:" + port +
                             " >/dev/null 2>&1 & rc=1; for i in $(seq 60); do sleep 0.2; '" + bin + "' watch 127.0.0.1:" + port +
                             " --once >'" + out + "' 2>'" + err + "' && { rc=0; break; }; done; wait; exit $rc";
  const int st = std::system(script.c_str());
  ASSERT_TRUE(WIFEXITED(st));
  const std::string text = slurp(out);
  EXPECT_EQ(WEXITSTATUS(st), 0) << slurp(err);
  EXPECT_NE(text.find("hetsched watch 127.0.0.1:" + port + "  host"), std::string::npos) << text;
  EXPECT_NE(text.find("stage ms"), std::string::npos) << text;
  EXPECT_NE(text.find("load %"), std::string::npos) << text;
  EXPECT_NE(text.find("action"), std::string::npos) << text;  // a decision line
  EXPECT_EQ(text.find("\x1b["), std::string::npos);             // --once prints plain text
}

TEST(WatchCli, UsageAndConnectionErrors) {
  auto r = run_cli("watch", "watch");
  EXPECT_EQ(r.code, 2);
  r = run_cli("watch", "watch localhost");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("expected HOST:PORT"), std::string::npos) << r.err;
  r = run_cli("watch", "watch 127.0.0.1:99999");
  EXPECT_EQ(r.code, 2);
  r = run_cli("watch", "watch 127.0.0.1:1 --refresh-ms 0");
  EXPECT_EQ(r.code, 2);
  r = run_cli("watch", "watch 127.0.0.1:1 --kind bogus");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bogus"), std::string::npos);
  r = run_cli("watch", "watch 127.0.0.1:1 --once");  // nothing listens on port 1
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot connect to 127.0.0.1:1"), std::string::npos) << r.err;
}

TEST(WatchCli, RunListenOffLoopbackNeedsAToken) {
  auto r = run_cli("watch", "run --seconds 1 --listen 0.0.0.0:" + std::to_string(test_port() + 1));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("requires a shared token"), std::string::npos) << r.err;
}
