// Client side of the streaming protocol (telemetry/stream_frame.hpp): used by `hetsched watch`,
// `hetsched train --from`, the tests and the bench. Blocking calls with timeouts (one private
// io_context; nothing runs in the background), one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "telemetry/status.hpp"
#include "telemetry/stream_frame.hpp"

namespace hetsched::runtime {

struct StreamClientOptions {
  std::string host = "127.0.0.1";     // IP literal or name
  std::uint16_t port = 0;
  std::string token;                  // sent in the subscribe frame (required by non-loopback servers)
  telemetry::SubscribeFrame filter;   // kinds, sources, decimation (filter.token is replaced by token)
  std::uint32_t max_frame_bytes = 16u << 20;  // largest server frame accepted
  int timeout_ms = 5000;              // connect + hello
};

// "HOST:PORT" or "[V6]:PORT" -> host, port. kInvalidArgument naming the text.
Status parse_host_port(std::string_view text, std::string* host, std::uint16_t* port);

class StreamClient {
 public:
  // Connects, reads the hello frame, sends the subscribe frame. Errors name host:port.
  static Result<std::unique_ptr<StreamClient>> connect(const StreamClientOptions& options);
  ~StreamClient();
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  const telemetry::HelloFrame& hello() const noexcept { return hello_; }
  // The next frame. timeout_ms < 0 waits forever. kUnavailable: nothing within the timeout;
  // kIoError: the connection ended (the message carries the server's close reason if it sent
  // one); kCorrupt / kInvalidArgument: the server sent a malformed or oversized frame.
  Result<telemetry::Frame> next(int timeout_ms);
  // Sends a policy file / a rollback request and waits for the kPushResult; data frames
  // arriving meanwhile are kept for next().
  Result<telemetry::PushResultFrame> push_policy(std::string_view policy_bytes, int timeout_ms);
  Result<telemetry::PushResultFrame> rollback(int timeout_ms);
  // Writes raw bytes (tests: malformed frames).
  Status send_raw(std::string_view bytes);
  void close() noexcept;

  struct Impl;

 private:
  StreamClient();
  Result<telemetry::PushResultFrame> await_result(int timeout_ms);
  std::unique_ptr<Impl> impl_;
  telemetry::HelloFrame hello_;
  std::deque<telemetry::Frame> held_;
};

}  // namespace hetsched::runtime
