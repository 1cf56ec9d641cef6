// The io thread of the stream server: accept, read/handle client frames, per-client queues and
// writes, the periodic fan-out, policy pushes (design: runtime/stream_server.hpp).
#include "runtime/stream_server_impl.hpp"

#include <algorithm>
#include <cstdio>

#include "runtime/stream_verify.hpp"

namespace hetsched::runtime {

void StreamServer::Impl::log(const std::string& line) {
  if (o.log) o.log(line);
  else std::fprintf(stderr, "hetsched stream: %s\n", line.c_str());
}
void StreamServer::Impl::add_qbytes(std::int64_t d) {
  const std::uint64_t now = qbytes.fetch_add(static_cast<std::uint64_t>(d)) + static_cast<std::uint64_t>(d);
  if (now > peak_qbytes.load(std::memory_order_relaxed)) peak_qbytes.store(now, std::memory_order_relaxed);
}

void StreamServer::Impl::start_accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (stopped) return;
    if (!ec) on_accept(std::move(s));
    start_accept();
  });
}

void StreamServer::Impl::on_accept(tcp::socket s) {
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
void StreamServer::Impl::close(const ClientPtr& c, const std::string& reason, std::atomic<std::uint64_t>* counter, bool listed) {
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

void StreamServer::Impl::read_prefix(const ClientPtr& c) {
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

void StreamServer::Impl::handle(const ClientPtr& c, Frame& f) {
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

telemetry::PushResultFrame StreamServer::Impl::push(const std::string& bytes) {
  telemetry::PushResultFrame r;
  tick();  // the decisions published before this push belong to the window
  std::vector<WindowEntry> win;
  const std::size_t n = std::min(window_n, window.size());
  for (std::size_t i = 0; i < n; ++i) win.push_back(window[(window_n - n + i) % window.size()]);
  PushReport rep;
  auto fail = [&](const std::string& why) {
    push_bad.fetch_add(1);
    r.message = "rejected: " + why;
    log("policy push " + r.message);
    return r;
  };
  if (!o.hooks.build || !o.hooks.propose) return fail("policy pushes are not supported by this run");
  auto file = verify_pushed_policy(bytes, PushCheck{o.schema, o.observation_size, o.num_actions, o.max_masked_preference}, win,
                                   o.hooks.masks, &rep);
  if (!file.ok()) return fail(file.status().message());
  auto ctl = o.hooks.build(*file);
  if (!ctl.ok()) return fail("build: " + ctl.status().message());
  if (Status st = o.hooks.propose(std::move(ctl.value())); !st.ok()) return fail("hot-swap: " + st.message());
  push_ok.fetch_add(1);
  r.accepted = true;
  r.checksum = file->checksum;
  char frac[96];
  std::snprintf(frac, sizeof frac, "%zu masked, masked-preference fraction %.3f", rep.masked, rep.masked_fraction());
  r.message = "accepted policy " + std::to_string(file->checksum) + " (" + std::to_string(win.size()) + " observations checked, " + frac + ")";
  log("policy push " + r.message);
  return r;
}

telemetry::PushResultFrame StreamServer::Impl::rollback() {
  telemetry::PushResultFrame r;
  if (!o.hooks.rollback) return r.message = "rejected: rollback is not supported by this run", r;
  if (Status st = o.hooks.rollback(); !st.ok()) return r.message = "rejected: rollback: " + st.message(), r;
  rollbacks.fetch_add(1);
  r.accepted = true;
  r.message = "rolled back to the previous policy";
  log(r.message);
  return r;
}

void StreamServer::Impl::reply(const ClientPtr& c, const telemetry::PushResultFrame& r) {
  Out out;
  telemetry::encode_push_result(r, &out.bytes);
  enqueue(c, std::move(out));
}

// Drop-oldest: a client that lags loses the stalest data first (the newest is what a live
// view and a learner need), and is told how much.
void StreamServer::Impl::enqueue(const ClientPtr& c, Out out) {
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

void StreamServer::Impl::pump(const ClientPtr& c) {
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

bool StreamServer::Impl::wants(const Client& c, const telemetry::Sample& s) {
  const auto k = static_cast<unsigned>(s.kind);
  if (k >= 32 || !(c.filter.sample_kinds >> k & 1u)) return false;
  if (!c.source_ok.empty() && !c.source_ok[s.source]) return false;
  return true;
}

void StreamServer::Impl::tick() {
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
  // A period's samples are pushed before its event: draining the ring again after the swap
  // makes every sample published before a swapped event part of this batch (the frame decoder
  // then sees complete periods, and clients get a period's samples no later than its event).
  while (srv.ring_->pop(s)) drained.push_back(s);
  if (!window.empty()) fill_window();
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

void StreamServer::Impl::fill_window() {
  try {
    if (decoder) {
      // Periods whose event never arrives (pending list overflow) would stay pending forever.
      if (decoder->pending() > 256) decoder = std::make_unique<policies::FrameCodec::Decoder>(*codec);
      for (const auto& x : drained) decoder->add_sample(x);
    }
    for (std::size_t i = 0; i < n_back; ++i) {
      const Rec& r = back[i];
      if (!r.is_decision) {
        if (!decoder || !codec->is_frame_event(r.e)) continue;
        auto fr = decoder->finish(r.e);
        // A period without its configuration cannot be masked (the nudges depend on it).
        last_frame_ok = fr.ok() && fr->has_current;
        if (last_frame_ok) last_frame_t_ns = fr->t_ns, last_mask = fr->mask, last_current = fr->current;
        continue;
      }
      if (r.d.observation.empty()) continue;
      WindowEntry& w = window[window_n++ % window.size()];
      w.observation = r.d.observation;
      w.has_mask = last_frame_ok && last_frame_t_ns == r.d.t_ns;
      if (w.has_mask) w.mask = last_mask, w.current = last_current;
    }
  } catch (...) {
    // Out of memory on the io thread: the window misses an entry; fan-out goes on.
  }
}

void StreamServer::Impl::arm(StreamServer& srv) {
  timer.expires_after(std::chrono::nanoseconds(o.flush_period_ns));
  timer.async_wait([this, &srv](boost::system::error_code ec) {
    if (ec || stopped) return;
    tick();
    arm(srv);
  });
}

}  // namespace hetsched::runtime
