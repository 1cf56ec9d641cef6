#include "runtime/stream_server_impl.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

namespace hetsched::runtime {

bool is_loopback_address(std::string_view address) noexcept {
  boost::system::error_code ec;
  const auto a = asio::ip::make_address(std::string(address), ec);
  if (ec) return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Every byte of the longer string is visited and differences are OR-ed, so the time does not
  // reveal the length of the matching prefix (a timing oracle would let a peer guess byte by byte).
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned diff = static_cast<unsigned>(a.size() ^ b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}


Result<std::unique_ptr<StreamServer>> StreamServer::create(const StreamServerOptions& o, Clock& clock) {
  auto bad = [](const std::string& m) { return Status(StatusCode::kInvalidArgument, "StreamServerOptions." + m); };
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(o.address, ec);
  if (ec) return bad("address = '" + o.address + "': not an IPv4/IPv6 address literal");
  if (!is_loopback_address(o.address) && o.token.empty())
    return bad("address = " + o.address + " is not loopback: binding it requires a shared token (--token-file or $HETSCHED_STREAM_TOKEN)");
  if (!o.token.empty() && o.token.size() < 8) return bad("token is " + std::to_string(o.token.size()) + " bytes: use at least 8");
  if (o.max_frame_bytes < 16) return bad("max_frame_bytes = " + std::to_string(o.max_frame_bytes) + ": must be >= 16");
  if (o.client_queue_bytes < 1024) return bad("client_queue_bytes = " + std::to_string(o.client_queue_bytes) + ": must be >= 1024");
  if (o.batch_samples < 1 || o.batch_samples > 40000) return bad("batch_samples = " + std::to_string(o.batch_samples) + ": must be in [1, 40000]");
  if (o.flush_period_ns < 100'000 || o.flush_period_ns > 1'000'000'000) return bad("flush_period_ns must be in [1e5, 1e9]");
  if (o.write_stall_timeout_ns <= 0 || o.handshake_timeout_ns <= 0) return bad("timeouts must be > 0 ns");
  if (o.max_clients < 1) return bad("max_clients must be >= 1");
  if (o.max_pending_records < 1 || o.max_pending_records > (1u << 20)) return bad("max_pending_records must be in [1, 2^20]");
  if (o.sanity_window > 4096) return bad("sanity_window = " + std::to_string(o.sanity_window) + ": must be <= 4096");
  if (o.socket_send_buffer_bytes < 0) return bad("socket_send_buffer_bytes must be >= 0");
  if (o.io_nice < 0 || o.io_nice > 19) return bad("io_nice = " + std::to_string(o.io_nice) + ": must be in [0, 19]");
  if (o.sources.size() > telemetry::SourceTable::kMaxSources) return bad("sources has more than 65535 names");
  auto ring = telemetry::SpscRing<telemetry::Sample>::create({o.ring_capacity, telemetry::OverflowPolicy::kDropOldest});
  if (!ring.ok()) return ring.status();

  std::unique_ptr<StreamServer> s(new StreamServer());
  s->ring_ = std::move(ring.value());
  s->impl_ = std::make_unique<Impl>();
  Impl& m = *s->impl_;
  m.o = o;
  m.clock = &clock;
  m.owner = s.get();
  m.front.resize(o.max_pending_records);
  m.back.resize(o.max_pending_records);
  m.window.resize(o.sanity_window);
  if (o.max_masked_preference < 0 || o.max_masked_preference > 1 || !(o.max_masked_preference == o.max_masked_preference))
    return bad("max_masked_preference must be in [0, 1]");
  if (auto codec = policies::FrameCodec::from_sources(telemetry::SourceTable(o.sources)); codec.ok()) {
    m.codec = std::make_unique<policies::FrameCodec>(std::move(codec.value()));
    m.decoder = std::make_unique<policies::FrameCodec::Decoder>(*m.codec);
  }
  const tcp::endpoint ep(addr, o.port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status(StatusCode::kIoError, "stream server: cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " + ec.message());
  m.start_accept();
  m.arm(*s);
  m.thread = std::thread([&m] {
    // Fan-out is background work: at a lower priority it yields the CPU to the controller's
    // decisions instead of competing with them (Linux: per-thread nice via the thread id).
    if (m.o.io_nice > 0) (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), m.o.io_nice);
    m.io.run();
  });
  return s;
}

StreamServer::~StreamServer() { stop(); }

void StreamServer::stop() noexcept {
  if (!impl_) return;
  Impl& m = *impl_;
  std::call_once(m.stop_once, [&] {
    asio::post(m.io, [&m] {
      m.stopped = true;
      boost::system::error_code ec;
      m.acceptor.close(ec);
      m.timer.cancel();
      while (!m.clients.empty()) m.close(m.clients.front(), "server stopping", nullptr);
    });
    if (m.thread.joinable()) m.thread.join();
  });
}

void StreamServer::on_sample(const telemetry::Sample& s) noexcept {
  ring_->push(s);  // drop-oldest: always stored; pushed() counts the calls (no extra atomic here)
}

void StreamServer::on_event(const telemetry::Event& e) noexcept {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  if (m.n_front >= m.front.size()) { ++m.pending_dropped; return; }
  try {
    Impl::Rec& r = m.front[m.n_front];
    r.is_decision = false;
    r.e = e;
    ++m.n_front;
  } catch (...) { ++m.pending_dropped; }
}

void StreamServer::on_decision(const telemetry::Decision& d) noexcept {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  try {
    if (m.n_front >= m.front.size()) { ++m.pending_dropped; return; }
    Impl::Rec& r = m.front[m.n_front];
    r.is_decision = true;
    r.d = d;
    ++m.n_front;
  } catch (...) { ++m.pending_dropped; }
}

std::uint16_t StreamServer::port() const noexcept {
  boost::system::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::string StreamServer::address() const {
  const std::string a = impl_->o.address;
  return (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + std::to_string(port());
}

StreamServerStats StreamServer::stats() const noexcept {
  const Impl& m = *impl_;
  StreamServerStats st;
  st.clients = m.n_clients.load();
  st.accepted = m.accepted.load();
  st.closed_malformed = m.closed_malformed.load();
  st.closed_oversized = m.closed_oversized.load();
  st.closed_token = m.closed_token.load();
  st.closed_stalled = m.closed_stalled.load();
  st.samples_in = ring_->pushed();
  st.dropped_before_fanout = m.dropped_before.load();
  st.records_sent = m.sent.load();
  st.records_lost = m.lost.load();
  st.queue_bytes = m.qbytes.load();
  st.peak_queue_bytes = m.peak_qbytes.load();
  st.pushes_accepted = m.push_ok.load();
  st.pushes_rejected = m.push_bad.load();
  st.rollbacks = m.rollbacks.load();
  return st;
}

}  // namespace hetsched::runtime
