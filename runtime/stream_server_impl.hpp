// Private to runtime/stream_server*.cpp: the server state owned by the io thread (split out so
// each file stays readable: stream_server.cpp = creation and the producer side,
// stream_server_io.cpp = connections, fan-out and policy pushes). Not part of any API.
#pragma once

#include <utility>  // before Asio (GCC 12 + C++20)

#include <boost/asio.hpp>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "policies/frame_records.hpp"
#include "runtime/stream_server.hpp"

namespace hetsched::runtime {

namespace asio = boost::asio;
using asio::ip::tcp;
using telemetry::Frame;
using telemetry::FrameType;

namespace stream_detail {

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

}  // namespace stream_detail
using stream_detail::Client;
using stream_detail::ClientPtr;
using stream_detail::Out;

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
  std::vector<WindowEntry> window;  // ring of sanity_window slots, reused
  std::size_t window_n = 0;         // observations written so far
  // Frame records decoded on the io thread (null when the run's sources have none): the last
  // decoded period pairs with the decision of the same t_ns (published right after it).
  std::unique_ptr<policies::FrameCodec> codec;
  std::unique_ptr<policies::FrameCodec::Decoder> decoder;
  bool last_frame_ok = false;
  std::int64_t last_frame_t_ns = 0;
  policies::MaskInput last_mask;
  policies::Config last_current{};

  std::atomic<std::uint64_t> n_clients{0}, accepted{0}, closed_malformed{0}, closed_oversized{0}, closed_token{0},
      closed_stalled{0}, dropped_before{0}, sent{0}, lost{0}, qbytes{0}, peak_qbytes{0}, push_ok{0}, push_bad{0}, rollbacks{0};

  void log(const std::string& line);
  void add_qbytes(std::int64_t d);
  void start_accept();
  void on_accept(tcp::socket s);
  void close(const ClientPtr& c, const std::string& reason, std::atomic<std::uint64_t>* counter, bool listed = true);
  void read_prefix(const ClientPtr& c);
  void handle(const ClientPtr& c, Frame& f);
  telemetry::PushResultFrame push(const std::string& bytes);
  telemetry::PushResultFrame rollback();
  void reply(const ClientPtr& c, const telemetry::PushResultFrame& r);
  void enqueue(const ClientPtr& c, Out out);
  void pump(const ClientPtr& c);
  bool wants(const Client& c, const telemetry::Sample& s);
  void tick();
  void fill_window();  // decisions (+ their frame records) of the drained batch -> window
  void arm(StreamServer& srv);
};

}  // namespace hetsched::runtime
