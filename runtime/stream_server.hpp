// The streaming server (issue 7): a run's records go out live over TCP to `hetsched watch`,
// `hetsched train --from` and anything speaking the protocol of telemetry/stream_frame.hpp.
// Opt-in (`hetsched run --listen ADDR:PORT`, glue in tools/listen.hpp); docs/streaming.md.
//
// Threads. The producer (the controller / frame loop) calls the RecordSink methods; one Asio
// io_context thread owns every socket. on_sample() only pushes into a bounded SPSC ring
// (drop-oldest, counted): no lock, no allocation, no syscall, so a slow or hostile client can
// never stall the controller. on_event()/on_decision() are rare; they take a short mutex to
// append to a bounded pending list. Every flush_period_ns the io thread drains both, applies each
// client's filter (kinds, sources, decimation) and queues encoded frames per client.
//
// Backpressure. Each client has a queue bounded by client_queue_bytes; when a new frame does not
// fit, the oldest queued frames are dropped and their records counted, and the client receives a
// kLost frame with that count before its next data frame. Records the ring or the pending list
// dropped before fan-out are reported to every subscribed client the same way. A client whose
// write makes no progress for write_stall_timeout_ns is disconnected, so memory per client is at
// most client_queue_bytes + one write batch (write_batch_bytes + one frame).
//
// Security. The server binds loopback unless told otherwise; binding any other address needs a
// token (>= 8 bytes), which every client must send in its subscribe frame (compared in constant
// time). Client frames larger than max_frame_bytes, malformed frames, a wrong token, a missing
// subscribe after handshake_timeout_ns: the connection is closed with a logged reason (and a
// kClose frame telling the client why); the server carries on.
//
// Policy pushes (kPolicyPush) are verified on the io thread before anything is swapped:
//   1. policies::decode_policy: magic, version, checksum over the payload, structure, finite weights;
//   2. schema: if options.schema is set, policies::check_schema (hash, platform, model, action
//      space, observation version, input/output sizes);
//   3. sanity window: the policy's MLP is run on the last sanity_window observation vectors the
//      controller published (on_decision): the input size must match, every Q-value must be
//      finite, and decide() must return an index in [0, num_actions). Each decision is paired
//      (same t_ns) with its period's frame event (policies/frame_records, decoded here on the io
//      thread from the streamed samples + event): with hooks.masks the mask the device had is
//      rebuilt (MaskInput + configuration in force, the pushed policy's action space), decide()
//      runs masked, and the push is rejected when the unmasked argmax is a masked action on more
//      than max_masked_preference of the masked decisions (stream_verify.hpp). Decisions whose
//      frame record was lost are checked unmasked. An empty window rejects the push.
//   4. hooks.build(file) -> controller, then hooks.propose(controller) (the run keeps the previous
//      one for rollback). The client gets kPushResult with the verdict and the reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "policies/baselines.hpp"
#include "policies/policy_file.hpp"
#include "runtime/stream_verify.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/record_sink.hpp"
#include "telemetry/ring.hpp"
#include "telemetry/stream_frame.hpp"

namespace hetsched::runtime {

struct StreamPolicyHooks {
  std::function<Result<std::unique_ptr<policies::Controller>>(const policies::PolicyFile&)> build;  // verified file -> controller
  std::function<Status(std::unique_ptr<policies::Controller>)> propose;  // hot-swap; keep the previous
  std::function<Status()> rollback;                                      // back to the previous
  std::function<Result<MaskFn>(const policies::PolicyFile&)> masks;      // verified file -> its action mask (empty: unmasked check)
};

struct StreamServerOptions {
  std::string address = "127.0.0.1";     // bind address (IPv4 or IPv6 literal); non-loopback needs token
  std::uint16_t port = 0;                // 0 = any free port (see StreamServer::port())
  std::string token;                     // shared secret; required (>= 8 bytes) off loopback
  std::string description;               // sent in the hello frame (watch shows it)
  std::vector<std::string> sources;      // source id -> name, sent in the hello frame
  double target_fps = 0;                 // the run's FPS target, sent in the hello frame (0 = none)
  std::uint32_t max_frame_bytes = telemetry::kDefaultMaxFrameBytes;  // largest client frame body accepted
  std::size_t ring_capacity = 16384;     // samples buffered between producer and io thread (power of 2)
  std::size_t max_pending_records = 4096;  // events + decisions buffered between producer and io thread
  std::size_t client_queue_bytes = 1u << 20;  // per-client queue bound; oldest frames dropped beyond
  std::size_t write_batch_bytes = 64u << 10;  // bytes coalesced into one socket write
  int socket_send_buffer_bytes = 0;      // SO_SNDBUF per client (0 = kernel default, which autotunes to MBs)
  std::size_t batch_samples = 1024;      // samples per kSamples frame at most
  std::int64_t flush_period_ns = 5'000'000;           // how often the io thread drains and fans out
  std::int64_t write_stall_timeout_ns = 3'000'000'000;  // a write stuck this long disconnects the client
  std::int64_t handshake_timeout_ns = 3'000'000'000;    // subscribe must arrive within this
  int max_clients = 64;                  // further connections are closed with a reason
  int io_nice = 10;                      // nice value of the io thread (0 = inherit; fan-out yields to decisions)
  std::size_t sanity_window = 64;        // observations kept for the push sanity check
  double max_masked_preference = 0.25;   // largest accepted share of masked decisions the policy's unmasked argmax is masked
  std::optional<policies::PolicySchema> schema;  // expected policy schema (checked when set)
  int observation_size = 0, num_actions = 0;      // expected sizes (checked when > 0)
  StreamPolicyHooks hooks;               // empty build/propose: pushes rejected; empty rollback: refused
  std::function<void(std::string_view)> log;  // connection-level log lines (default: stderr)
};

// Counters (any thread; monotonic except clients/queue_bytes).
struct StreamServerStats {
  std::uint64_t clients = 0;            // currently connected
  std::uint64_t accepted = 0;           // connections accepted
  std::uint64_t closed_malformed = 0;   // closed for a malformed or unexpected frame
  std::uint64_t closed_oversized = 0;   // closed for a frame above max_frame_bytes
  std::uint64_t closed_token = 0;       // closed for a wrong/missing token
  std::uint64_t closed_stalled = 0;     // closed because they stopped reading (or never subscribed)
  std::uint64_t samples_in = 0;         // on_sample calls
  std::uint64_t dropped_before_fanout = 0;  // lost in the ring or the pending list
  std::uint64_t records_sent = 0;       // records written to sockets (all clients)
  std::uint64_t records_lost = 0;       // records dropped from client queues (all clients)
  std::uint64_t queue_bytes = 0;        // bytes queued now over all clients (incl. writes in flight)
  std::uint64_t peak_queue_bytes = 0;   // maximum of queue_bytes seen
  std::uint64_t pushes_accepted = 0, pushes_rejected = 0, rollbacks = 0;
};

class StreamServer final : public telemetry::RecordSink {
 public:
  // Binds, listens and starts the io thread. Errors: kInvalidArgument (bad address, option out of
  // range, non-loopback without a token), kIoError (bind/listen failed, naming address and port).
  static Result<std::unique_ptr<StreamServer>> create(const StreamServerOptions& options, Clock& clock);
  ~StreamServer() override;  // stop()
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  // Producer side. on_sample: one producer thread only; lock- and allocation-free.
  void on_sample(const telemetry::Sample& s) noexcept override;
  void on_event(const telemetry::Event& e) noexcept override;
  void on_decision(const telemetry::Decision& d) noexcept override;

  std::uint16_t port() const noexcept;
  std::string address() const;  // "127.0.0.1:40123"
  StreamServerStats stats() const noexcept;
  // Closes every connection (with reason "server stopping") and joins the io thread. Idempotent.
  void stop() noexcept;

  struct Impl;

 private:
  StreamServer() = default;
  std::unique_ptr<telemetry::SpscRing<telemetry::Sample>> ring_;
  std::unique_ptr<Impl> impl_;
};

// True for 127.0.0.0/8 and ::1 (and IPv4-mapped loopback); false for anything else or garbage.
bool is_loopback_address(std::string_view address) noexcept;
// Compares in time that depends only on the lengths (not on where the first difference is).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace hetsched::runtime
