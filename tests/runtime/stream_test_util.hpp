// Helpers for the loopback streaming tests: a server on a free port, clients, and a reader
// that tallies what a client received.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "runtime/stream_client.hpp"
#include "runtime/stream_server.hpp"

namespace stream_test {

namespace hr = hetsched::runtime;
namespace ht = hetsched::telemetry;

inline hr::StreamServerOptions quiet_options() {
  hr::StreamServerOptions o;
  o.description = "test run";
  o.sources = {"L", "B", "G", "board"};
  o.flush_period_ns = 1'000'000;
  o.log = [](std::string_view) {};
  return o;
}

inline std::unique_ptr<hr::StreamClient> connect(std::uint16_t port, ht::SubscribeFrame filter = {}, std::string token = "") {
  hr::StreamClientOptions co;
  co.port = port;
  co.filter = filter;
  co.token = std::move(token);
  auto c = hr::StreamClient::connect(co);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c.value()) : nullptr;
}

// What one client saw until `quiet_ms` passed without a frame (or the connection ended).
struct Tally {
  std::vector<ht::Sample> samples;
  std::uint64_t lost = 0, events = 0, decisions = 0;
  std::string close_reason;
  hetsched::Status end;
};
inline Tally drain(hr::StreamClient& c, int quiet_ms = 300) {
  Tally t;
  for (;;) {
    auto f = c.next(quiet_ms);
    if (!f.ok()) {
      t.end = f.status();
      return t;
    }
    switch (f->type) {
      case ht::FrameType::kSamples: t.samples.insert(t.samples.end(), f->samples.begin(), f->samples.end()); break;
      case ht::FrameType::kLost: t.lost += f->lost; break;
      case ht::FrameType::kEvent: ++t.events; break;
      case ht::FrameType::kDecision: ++t.decisions; break;
      case ht::FrameType::kClose: t.close_reason = f->reason; break;
      default: break;
    }
  }
}

// Waits (bounded) until pred() holds; the server works asynchronously.
template <typename Pred>
bool eventually(Pred pred, int timeout_ms = 3000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace stream_test
