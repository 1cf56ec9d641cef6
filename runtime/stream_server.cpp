#include <utility>  // before Asio: GCC 12 + C++20 needs it (see the developers' guide)

#include "runtime/stream_server.hpp"

#include <boost/asio.hpp>
#include <cstdio>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "runtime/stream_verify.hpp"

namespace hetsched::runtime {

namespace asio = boost::asio;
using asio::ip::tcp;
using telemetry::Frame;
using telemetry::FrameType;

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

namespace {

struct Out {
  std::string bytes;
  std::uint32_t records = 0;  // records this frame carries (counted as lost if it is dropped)
};

struct Client {
  explicit Client(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  std::string peer;
  std::int64_t accepted_ns = 0;
  bool subscribed = false, closed = false, writing = false;
  telemetry::SubscribeFrame filter;
  std::vector<std::uint8_t> source_ok;  // empty = all sources
  std::unordered_map<std::uint32_t, std::uint32_t> decim;  // (kind << 16 | source) -> samples seen
  std::deque<Out> queue;
  std::size_t queue_bytes = 0;
  std::uint64_t lost_pending = 0;
  std::string wbuf;               // the write in flight
  std::uint32_t wrecords = 0;
  std::int64_t write_started_ns = 0;
  char prefix[telemetry::kFramePrefixBytes];
  std::string body;
};
using ClientPtr = std::shared_ptr<Client>;

}  // namespace

struct StreamServer::Impl {
  StreamServerOptions o;
  Clock* clock = nullptr;
  StreamServer* owner = nullptr;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer timer{io};
  std::thread thread;
  std::list<ClientPtr> clients;
  std::vector<telemetry::Sample> drained, filtered;
  std::uint64_t ring_dropped_seen = 0;
  bool stopped = false;
  std::once_flag stop_once;

  // Producer -> io thread: events and decisions (rare), and the sanity window.
  std::mutex mu;
  // Double buffer of reusable slots: the producer copy-assigns into slot n (string and vector
  // capacity is kept, so after warm-up no allocation happens on the controller's thread); the
  // io thread swaps the buffers under the lock (O(1)) and reads its half outside it.
  struct Rec {
    bool is_decision = false;
    telemetry::Event e;
    telemetry::Decision d;
  };
  std::vector<Rec> front, back;
  std::size_t n_front = 0, n_back = 0;
  std::uint64_t pending_dropped = 0, pending_dropped_seen = 0;
  // The sanity window lives on the io thread (filled from the drained decisions), so the
  // controller copies each observation once, into its slot.
  std::vector<std::vector<float>> window;  // ring of sanity_window slots, reused
  std::size_t window_n = 0;                // observations written so far

  std::atomic<std::uint64_t> n_clients{0}, accepted{0}, closed_malformed{0}, closed_oversized{0}, closed_token{0},
      closed_stalled{0}, dropped_before{0}, sent{0}, lost{0}, qbytes{0}, peak_qbytes{0}, push_ok{0}, push_bad{0}, rollbacks{0};

  void log(const std::string& line) {
    if (o.log) o.log(line);
    else std::fprintf(stderr, "hetsched stream: %s\n", line.c_str());
  }
  void add_qbytes(std::int64_t d) {
    const std::uint64_t now = qbytes.fetch_add(static_cast<std::uint64_t>(d)) + static_cast<std::uint64_t>(d);
    if (now > peak_qbytes.load(std::memory_order_relaxed)) peak_qbytes.store(now, std::memory_order_relaxed);
  }

  void start_accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (stopped) return;
      if (!ec) on_accept(std::move(s));
      start_accept();
    });
  }

  void on_accept(tcp::socket s) {
    auto c = std::make_shared<Client>(std::move(s));
    boost::system::error_code ec;
    const auto ep = c->sock.remote_endpoint(ec);
    c->peer = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    c->accepted_ns = clock->now_ns();
    c->sock.set_option(tcp::no_delay(true), ec);
    if (o.socket_send_buffer_bytes > 0) c->sock.set_option(asio::socket_base::send_buffer_size(o.socket_send_buffer_bytes), ec);
    accepted.fetch_add(1);
    if (static_cast<int>(clients.size()) >= o.max_clients) {
      close(c, "too many clients (max_clients = " + std::to_string(o.max_clients) + ")", nullptr, false);
      return;
    }
    clients.push_back(c);
    n_clients.store(clients.size());
    telemetry::HelloFrame h;
    h.description = o.description;
    h.sources = o.sources;
    h.target_fps = o.target_fps;
    h.max_frame_bytes = o.max_frame_bytes;
    h.token_required = !o.token.empty();
    Out out;
    telemetry::encode_hello(h, &out.bytes);
    enqueue(c, std::move(out));
    read_prefix(c);
  }

  // Closes with a reason: logged, and told to the client in a kClose frame when no write is in
  // flight (a non-blocking best effort: a peer that does not read must not stall the io thread).
  void close(const ClientPtr& c, const std::string& reason, std::atomic<std::uint64_t>* counter, bool listed = true) {
    if (c->closed) return;
    c->closed = true;
    if (counter) counter->fetch_add(1);
    log("closing " + c->peer + ": " + reason);
    boost::system::error_code ec;
    if (!c->writing) {
      std::string f;
      telemetry::encode_close(reason, &f);
      c->sock.non_blocking(true, ec);
      c->sock.write_some(asio::buffer(f), ec);
    }
    c->sock.shutdown(tcp::socket::shutdown_both, ec);
    c->sock.close(ec);
    add_qbytes(-static_cast<std::int64_t>(c->queue_bytes + (c->writing ? c->wbuf.size() : 0)));
    c->queue.clear();
    c->queue_bytes = 0;
    c->wbuf.clear();
    if (listed) {
      clients.remove(c);
      n_clients.store(clients.size());
    }
  }

  void read_prefix(const ClientPtr& c) {
    asio::async_read(c->sock, asio::buffer(c->prefix), [this, c](boost::system::error_code ec, std::size_t) {
      if (c->closed) return;
      if (ec) return close(c, ec == asio::error::eof ? "client disconnected" : "read failed: " + ec.message(), nullptr);
      auto n = telemetry::decode_frame_length(c->prefix, o.max_frame_bytes);
      if (!n.ok()) return close(c, n.status().message(), &closed_oversized);
      c->body.resize(*n);
      asio::async_read(c->sock, asio::buffer(c->body), [this, c](boost::system::error_code ec2, std::size_t) {
        if (c->closed) return;
        if (ec2) return close(c, "read failed mid-frame: " + ec2.message(), nullptr);
        auto f = telemetry::decode_frame_body(c->body);
        if (!f.ok()) return close(c, "malformed frame: " + f.status().message(), &closed_malformed);
        handle(c, *f);
        if (!c->closed) read_prefix(c);
      });
    });
  }

  void handle(const ClientPtr& c, Frame& f) {
    if (f.type == FrameType::kSubscribe) {
      if (!o.token.empty() && !constant_time_equal(f.subscribe.token, o.token))
        return close(c, f.subscribe.token.empty() ? "missing token" : "wrong token", &closed_token);
      c->filter = std::move(f.subscribe);
      c->source_ok.clear();
      if (!c->filter.sources.empty()) {
        c->source_ok.assign(65536, 0);
        for (std::uint16_t s : c->filter.sources) c->source_ok[s] = 1;
      }
      c->decim.clear();
      c->subscribed = true;
      return;
    }
    if (!c->subscribed) return close(c, std::string("expected a subscribe frame first, got ") + std::string(telemetry::frame_type_name(f.type)), &closed_malformed);
    switch (f.type) {
      case FrameType::kPolicyPush: return reply(c, push(f.policy_bytes));
      case FrameType::kRollback: return reply(c, rollback());
      case FrameType::kClose: return close(c, "client closed: " + f.reason, nullptr);
      default:
        return close(c, std::string("unexpected ") + std::string(telemetry::frame_type_name(f.type)) + " frame from a client", &closed_malformed);
    }
  }

  telemetry::PushResultFrame push(const std::string& bytes) {
    telemetry::PushResultFrame r;
    tick();  // the decisions published before this push belong to the window
    std::vector<std::vector<float>> win;
    const std::size_t n = std::min(window_n, window.size());
    for (std::size_t i = 0; i < n; ++i) win.push_back(window[(window_n - n + i) % window.size()]);
    auto fail = [&](const std::string& why) {
      push_bad.fetch_add(1);
      r.message = "rejected: " + why;
      log("policy push " + r.message);
      return r;
    };
    if (!o.hooks.build || !o.hooks.propose) return fail("policy pushes are not supported by this run");
    auto file = verify_pushed_policy(bytes, PushCheck{o.schema, o.observation_size, o.num_actions}, win);
    if (!file.ok()) return fail(file.status().message());
    auto ctl = o.hooks.build(*file);
    if (!ctl.ok()) return fail("build: " + ctl.status().message());
    if (Status st = o.hooks.propose(std::move(ctl.value())); !st.ok()) return fail("hot-swap: " + st.message());
    push_ok.fetch_add(1);
    r.accepted = true;
    r.checksum = file->checksum;
    r.message = "accepted policy " + std::to_string(file->checksum) + " (" + std::to_string(win.size()) + " observations checked)";
    log("policy push " + r.message);
    return r;
  }

  telemetry::PushResultFrame rollback() {
    telemetry::PushResultFrame r;
    if (!o.hooks.rollback) return r.message = "rejected: rollback is not supported by this run", r;
    if (Status st = o.hooks.rollback(); !st.ok()) return r.message = "rejected: rollback: " + st.message(), r;
    rollbacks.fetch_add(1);
    r.accepted = true;
    r.message = "rolled back to the previous policy";
    log(r.message);
    return r;
  }

  void reply(const ClientPtr& c, const telemetry::PushResultFrame& r) {
    Out out;
    telemetry::encode_push_result(r, &out.bytes);
    enqueue(c, std::move(out));
  }

  // Drop-oldest: a client that lags loses the stalest data first (the newest is what a live
  // view and a learner need), and is told how much.
  void enqueue(const ClientPtr& c, Out out) {
    if (c->closed) return;
    // Control frames (hello, push results: records == 0) are never dropped: a learner waiting
    // for its verdict must get it even when it lags on data.
    auto it = c->queue.begin();
    while (c->queue_bytes + out.bytes.size() > o.client_queue_bytes) {
      while (it != c->queue.end() && it->records == 0) ++it;
      if (it == c->queue.end()) break;
      c->lost_pending += it->records;
      lost.fetch_add(it->records);
      c->queue_bytes -= it->bytes.size();
      add_qbytes(-static_cast<std::int64_t>(it->bytes.size()));
      it = c->queue.erase(it);
    }
    c->queue_bytes += out.bytes.size();
    add_qbytes(static_cast<std::int64_t>(out.bytes.size()));
    c->queue.push_back(std::move(out));
    pump(c);
  }

  void pump(const ClientPtr& c) {
    if (c->writing || c->closed || (c->queue.empty() && c->lost_pending == 0)) return;
    c->wbuf.clear();
    c->wrecords = 0;
    if (c->lost_pending > 0) {
      telemetry::encode_lost(c->lost_pending, &c->wbuf);
      add_qbytes(static_cast<std::int64_t>(c->wbuf.size()));  // released with the rest of wbuf
      c->lost_pending = 0;
    }
    while (!c->queue.empty() && c->wbuf.size() < o.write_batch_bytes) {
      Out& f = c->queue.front();
      c->wbuf += f.bytes;
      c->wrecords += f.records;
      c->queue_bytes -= f.bytes.size();  // moves from the queue to the write in flight (qbytes unchanged)
      c->queue.pop_front();
    }
    c->writing = true;
    c->write_started_ns = clock->now_ns();
    asio::async_write(c->sock, asio::buffer(c->wbuf), [this, c](boost::system::error_code ec, std::size_t) {
      if (c->closed) return;
      c->writing = false;
      add_qbytes(-static_cast<std::int64_t>(c->wbuf.size()));
      c->wbuf.clear();
      if (ec) return close(c, "write failed: " + ec.message(), nullptr);
      sent.fetch_add(c->wrecords);
      pump(c);
    });
  }

  bool wants(const Client& c, const telemetry::Sample& s) {
    const auto k = static_cast<unsigned>(s.kind);
    if (k >= 32 || !(c.filter.sample_kinds >> k & 1u)) return false;
    if (!c.source_ok.empty() && !c.source_ok[s.source]) return false;
    return true;
  }

  void tick() {
    StreamServer& srv = *owner;
    const std::int64_t now = clock->now_ns();
    // Lost before fan-out: ring overwrites and pending-list overflow since the last tick.
    std::uint64_t before = srv.ring_->dropped() - ring_dropped_seen;
    ring_dropped_seen += before;
    drained.clear();
    telemetry::Sample s;
    while (srv.ring_->pop(s)) drained.push_back(s);
    {
      std::lock_guard<std::mutex> lk(mu);
      std::swap(front, back);
      n_back = n_front;
      n_front = 0;
      before += pending_dropped - pending_dropped_seen;
      pending_dropped_seen = pending_dropped;
    }
    for (std::size_t i = 0; i < n_back && !window.empty(); ++i)
      if (back[i].is_decision && !back[i].d.observation.empty()) window[window_n++ % window.size()] = back[i].d.observation;
    if (before) dropped_before.fetch_add(before);
    for (auto it = clients.begin(); it != clients.end();) {
      ClientPtr c = *it++;  // close() removes c from the list
      if (!c->subscribed) {
        if (now - c->accepted_ns > o.handshake_timeout_ns) close(c, "no subscribe frame within the handshake timeout", &closed_stalled);
        continue;
      }
      if (c->writing && now - c->write_started_ns > o.write_stall_timeout_ns) {
        close(c, "client stopped reading (write stalled " + std::to_string((now - c->write_started_ns) / 1'000'000) + " ms)", &closed_stalled);
        continue;
      }
      c->lost_pending += before;
      filtered.clear();
      for (const auto& x : drained) {
        if (!wants(*c, x)) continue;
        if (c->filter.decimation > 1 && c->decim[static_cast<std::uint32_t>(x.kind) << 16 | x.source]++ % c->filter.decimation != 0) continue;
        filtered.push_back(x);
      }
      for (std::size_t i = 0; i < filtered.size(); i += o.batch_samples) {
        const std::size_t n = std::min(o.batch_samples, filtered.size() - i);
        Out out;
        out.records = static_cast<std::uint32_t>(n);
        telemetry::encode_samples({filtered.data() + i, n}, &out.bytes);
        enqueue(c, std::move(out));
      }
      for (std::size_t i = 0; i < n_back; ++i) {
        const Rec& r = back[i];
        Out out;
        out.records = 1;
        if (!r.is_decision) {
          if (static_cast<unsigned>(r.e.kind) >= 32 || !(c->filter.event_kinds >> static_cast<unsigned>(r.e.kind) & 1u)) continue;
          telemetry::encode_event(r.e, &out.bytes);
        } else {
          if (!c->filter.decisions) continue;
          telemetry::encode_decision(r.d, &out.bytes);
        }
        if (!c->closed) enqueue(c, std::move(out));
      }
      pump(c);
    }
  }

  void arm(StreamServer& srv) {
    timer.expires_after(std::chrono::nanoseconds(o.flush_period_ns));
    timer.async_wait([this, &srv](boost::system::error_code ec) {
      if (ec || stopped) return;
      tick();
      arm(srv);
    });
  }
};

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
  const tcp::endpoint ep(addr, o.port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status(StatusCode::kIoError, "stream server: cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " + ec.message());
  m.start_accept();
  m.arm(*s);
  m.thread = std::thread([&m] { m.io.run(); });
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
