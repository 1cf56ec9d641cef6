#include <utility>  // before Asio (GCC 12 + C++20)

#include "runtime/stream_client.hpp"

#include <boost/asio.hpp>
#include <chrono>

namespace hetsched::runtime {

namespace asio = boost::asio;
using asio::ip::tcp;

Status parse_host_port(std::string_view text, std::string* host, std::uint16_t* port) {
  const std::string t(text);
  const auto colon = t.rfind(':');
  auto bad = [&](const std::string& why) { return Status(StatusCode::kInvalidArgument, "'" + t + "': " + why + " (expected HOST:PORT)"); };
  if (colon == std::string::npos || colon == 0) return bad("no host");
  std::string h = t.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return bad("unbalanced [ ] around an IPv6 address");
    h = h.substr(1, h.size() - 2);
  }
  const std::string p = t.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return bad("port '" + p + "' is not a number");
  const long v = std::stol(p);
  if (v > 65535) return bad("port " + p + " is above 65535");
  *host = h;
  *port = static_cast<std::uint16_t>(v);
  return Status::Ok();
}

struct StreamClient::Impl {
  asio::io_context io;
  tcp::socket sock{io};
  telemetry::FrameReader reader;
  std::string close_reason;
  bool eof = false;
  char buf[64 << 10];
  explicit Impl(std::uint32_t max) : reader(max) {}

  // Runs one async operation for at most timeout_ms (< 0: unbounded). False on timeout (the
  // operation is cancelled; read_some loses nothing because bytes go through the FrameReader).
  template <typename Start>
  bool run(Start start, int timeout_ms, boost::system::error_code* ec, std::size_t* n) {
    bool done = false;
    io.restart();
    start([&](boost::system::error_code e, std::size_t k) { *ec = e, *n = k, done = true; });
    if (timeout_ms < 0) io.run();
    else io.run_for(std::chrono::milliseconds(timeout_ms));
    if (done) return true;
    boost::system::error_code ig;
    sock.cancel(ig);
    io.restart();
    io.run();
    return false;
  }
};

StreamClient::StreamClient() = default;
StreamClient::~StreamClient() { close(); }

Result<std::unique_ptr<StreamClient>> StreamClient::connect(const StreamClientOptions& o) {
  std::unique_ptr<StreamClient> c(new StreamClient());
  c->impl_ = std::make_unique<Impl>(o.max_frame_bytes);
  Impl& m = *c->impl_;
  const std::string where = o.host + ":" + std::to_string(o.port);
  boost::system::error_code ec;
  tcp::resolver res(m.io);
  const auto eps = res.resolve(o.host, std::to_string(o.port), ec);
  if (ec) return Status(StatusCode::kNotFound, "stream: cannot resolve " + where + ": " + ec.message());
  std::size_t n = 0;
  const bool done = m.run([&](auto h) { asio::async_connect(m.sock, eps, [h](boost::system::error_code e, const tcp::endpoint&) { h(e, 0); }); },
                          o.timeout_ms, &ec, &n);
  if (!done) return Status(StatusCode::kIoError, "stream: connect to " + where + " timed out after " + std::to_string(o.timeout_ms) + " ms");
  if (ec) return Status(StatusCode::kIoError, "stream: cannot connect to " + where + ": " + ec.message());
  m.sock.set_option(tcp::no_delay(true), ec);
  auto f = c->next(o.timeout_ms);
  if (!f.ok()) return Status(f.status().code(), "stream: " + where + ": waiting for hello: " + f.status().message());
  if (f->type != telemetry::FrameType::kHello)
    return Status(StatusCode::kCorrupt, "stream: " + where + ": first frame is " + std::string(telemetry::frame_type_name(f->type)) + ", not hello");
  if (f->hello.protocol_version != telemetry::kStreamProtocolVersion)
    return Status(StatusCode::kInvalidArgument, "stream: " + where + " speaks protocol " + std::to_string(f->hello.protocol_version) +
                                                    ", this client " + std::to_string(telemetry::kStreamProtocolVersion));
  c->hello_ = std::move(f->hello);
  telemetry::SubscribeFrame sub = o.filter;
  sub.token = o.token;
  std::string bytes;
  telemetry::encode_subscribe(sub, &bytes);
  if (Status st = c->send_raw(bytes); !st.ok()) return Status(st.code(), "stream: " + where + ": " + st.message());
  return c;
}

Result<telemetry::Frame> StreamClient::next(int timeout_ms) {
  if (!held_.empty()) {
    telemetry::Frame f = std::move(held_.front());
    held_.pop_front();
    return f;
  }
  Impl& m = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    telemetry::Frame f;
    if (m.reader.next(&f)) {
      if (f.type == telemetry::FrameType::kClose) m.close_reason = f.reason;
      return f;
    }
    if (!m.reader.status().ok()) return Status(m.reader.status().code(), "server frame: " + m.reader.status().message());
    if (m.eof || !m.sock.is_open())
      return Status(StatusCode::kIoError, m.close_reason.empty() ? "connection closed" : "connection closed: " + m.close_reason);
    int left = -1;
    if (timeout_ms >= 0) {
      left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) return Status(StatusCode::kUnavailable, "no frame within " + std::to_string(timeout_ms) + " ms");
    }
    boost::system::error_code ec;
    std::size_t n = 0;
    if (!m.run([&](auto h) { m.sock.async_read_some(asio::buffer(m.buf), h); }, left, &ec, &n))
      return Status(StatusCode::kUnavailable, "no frame within " + std::to_string(timeout_ms) + " ms");
    m.reader.feed(std::string_view(m.buf, n));
    if (ec) m.eof = true;
  }
}

Status StreamClient::send_raw(std::string_view bytes) {
  boost::system::error_code ec;
  asio::write(impl_->sock, asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) return Status(StatusCode::kIoError, "send failed: " + ec.message());
  return Status::Ok();
}

Result<telemetry::PushResultFrame> StreamClient::await_result(int timeout_ms) {
  // Data frames that arrive before the verdict are kept, in order, for next().
  std::deque<telemetry::Frame> seen;
  for (;;) {
    auto f = next(timeout_ms);
    if (!f.ok()) {
      for (auto& x : seen) held_.push_back(std::move(x));
      return f.status();
    }
    if (f->type == telemetry::FrameType::kPushResult) {
      for (auto& x : seen) held_.push_back(std::move(x));
      return f->push_result;
    }
    if (seen.size() < 100000) seen.push_back(std::move(f.value()));
  }
}

Result<telemetry::PushResultFrame> StreamClient::push_policy(std::string_view policy_bytes, int timeout_ms) {
  std::string bytes;
  telemetry::encode_policy_push(policy_bytes, &bytes);
  HETSCHED_RETURN_IF_ERROR(send_raw(bytes));
  return await_result(timeout_ms);
}

Result<telemetry::PushResultFrame> StreamClient::rollback(int timeout_ms) {
  std::string bytes;
  telemetry::encode_rollback(&bytes);
  HETSCHED_RETURN_IF_ERROR(send_raw(bytes));
  return await_result(timeout_ms);
}

void StreamClient::close() noexcept {
  if (!impl_) return;
  boost::system::error_code ec;
  impl_->sock.shutdown(tcp::socket::shutdown_both, ec);
  impl_->sock.close(ec);
}

}  // namespace hetsched::runtime
